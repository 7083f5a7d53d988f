"""labkernels: a CuPy/Numba kernel lab for quantized matrix multiply.

``import labkernels`` works on a machine with no GPU and no CUDA driver; the
GPU is looked for only when something asks for it (:mod:`labkernels.device`).
"""
from .errors import UnsupportedDevice

__version__ = "0.1.0"

__all__ = ["UnsupportedDevice", "__version__"]
