"""Kernel families. Importing this package registers every variant (see labkernels.registry)."""
from . import blockscaled, dequant, fp16, fp8, int8  # noqa: F401
