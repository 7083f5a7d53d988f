"""MX and NVFP4 quantizers on the GPU (in progress)."""
from __future__ import annotations

#: CUDA sources that are not variants: (archs, promised PTX, NVRTC options) for the compile tests.
AUXILIARY_SOURCES: dict = {}
