"""Quantization formats: NumPy reference codecs, bit-exact, with documented memory layouts.

Pure NumPy, vectorised (an 8192 x 8192 matrix takes a second or two), and
independent of ``ml_dtypes`` (the tests compare against it). Every GPU kernel in
the lab reads and writes the layouts documented in these modules:

:mod:`~labkernels.formats.intq`
    int4/int8 group quantization with fp16 scales (``quantize_int``,
    ``dequantize_int``) and the int4 nibble packing (``pack_int4``,
    ``unpack_int4``).
:mod:`~labkernels.formats.fp8`
    float8_e4m3fn, float8_e5m2 and the E8M0 scale format.
:mod:`~labkernels.formats.fp4`
    float4_e2m1 and its nibble packing (``pack_fp4``, the same order as int4).
:mod:`~labkernels.formats.mx`
    OCP MX v1.0: MXFP8 (E4M3/E5M2) and MXFP4, 32 elements per E8M0 scale,
    FLOOR (spec) or RCEIL (torchao/cuBLAS) scale rule.
:mod:`~labkernels.formats.nvfp4`
    NVFP4: E2M1, an E4M3 scale per 16 elements, an fp32 per-tensor scale.

Shared conventions: matrices are row-major ``[N, K]`` with ``K`` (the
reduction dim) contiguous, and groups/blocks run along the last axis. 4-bit
values pack two per byte, element ``2j`` in the low nibble of byte ``j``.
Codes are ``uint8`` bit patterns identical to the hardware's (and
``ml_dtypes``'). Bad arguments raise ``TypeError``/``ValueError`` naming the
argument; quantizers reject NaN/Inf input except MX, where a non-finite value
makes its block's scale NaN, as the spec says.
"""
from .fp4 import E2M1_MAX, E2M1_VALUES, decode_e2m1, encode_e2m1, pack_fp4, unpack_fp4
from .fp8 import (
    E4M3_MAX,
    E5M2_MAX,
    decode_e4m3,
    decode_e5m2,
    decode_e8m0,
    e8m0_from_exponent,
    encode_e4m3,
    encode_e5m2,
    encode_e8m0,
)
from .intq import IntQuantized, dequantize_int, pack_int4, quantize_int, unpack_int4
from .mx import MX_FORMATS, SCALE_MODES, MXQuantized, dequantize_mx, quantize_mx
from .nvfp4 import NVFP4_BLOCK, NVFP4Quantized, dequantize_nvfp4, quantize_nvfp4

__all__ = [
    # integer group quantization
    "IntQuantized",
    "quantize_int",
    "dequantize_int",
    "pack_int4",
    "unpack_int4",
    # FP8 / E8M0
    "E4M3_MAX",
    "E5M2_MAX",
    "encode_e4m3",
    "decode_e4m3",
    "encode_e5m2",
    "decode_e5m2",
    "encode_e8m0",
    "decode_e8m0",
    "e8m0_from_exponent",
    # FP4
    "E2M1_MAX",
    "E2M1_VALUES",
    "encode_e2m1",
    "decode_e2m1",
    "pack_fp4",
    "unpack_fp4",
    # MX
    "MX_FORMATS",
    "SCALE_MODES",
    "MXQuantized",
    "quantize_mx",
    "dequantize_mx",
    # NVFP4
    "NVFP4_BLOCK",
    "NVFP4Quantized",
    "quantize_nvfp4",
    "dequantize_nvfp4",
]
