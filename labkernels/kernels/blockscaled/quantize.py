"""MX and NVFP4 quantizers on the GPU, bit-exact with :mod:`labkernels.formats`.

The block-scaled GEMMs of this family take their operands already quantized;
these launchers make them from float32 or float16 activations on the device
(CUDA C in ``blockscaled/quantize.cu``, whose header explains the rounding and
the FLOOR/RCEIL choice). Each returns exactly the codes and scales of the
reference codec, for every input: subnormals, ties, saturation, ±0, all-zero
blocks and (MX) NaN/Inf blocks.

* ``quantize_mx_gpu(x, fmt, scale_mode)`` -> ``(data, scales)``, as ``formats.quantize_mx``;
* ``quantize_nvfp4_gpu(x, global_scale)`` -> ``(data, scales, global_scale)``, as
  ``formats.quantize_nvfp4``.

``data`` and ``scales`` are uint8 arrays of the module the input came from
(CuPy in, CuPy out), laid out as :mod:`labkernels.formats` documents:
``data [M, K]`` for MXFP8, ``[M, K/2]`` packed for MXFP4 and NVFP4,
``scales [M, K/32]`` (E8M0) or ``[M, K/16]`` (E4M3). ``global_scale`` is a
``np.float32``. To dequantize on the CPU, wrap the host copies:
``formats.MXQuantized(data.get(), scales.get(), fmt)``,
``formats.NVFP4Quantized(data.get(), scales.get(), g)``.

NumPy input runs the reference codec (same return values), as
``int8.quantize_per_token`` does. Inputs are checked before anything runs:
``x`` must be a C-contiguous 2-D float32/float16 array, ``K`` a multiple of
the block (``TypeError``/``ValueError`` naming the argument). NVFP4 refuses
NaN/Inf with ``ValueError`` as the reference does; on the GPU that is found
by a pass over the data, so it is raised after a launch.

NVFP4 with ``global_scale=None`` reads the tensor twice: once for its amax (a
reduction, whose 4-byte result comes back to the host so a NaN can raise and
the global scale can be computed by the reference's float64 formula), once to
quantize. Passing ``global_scale`` skips the first pass.
"""
from __future__ import annotations

import numpy as np

from ... import build
from ...errors import check_array, check_choice, check_divisible
from ...formats import MX_FORMATS, NVFP4_BLOCK, SCALE_MODES, quantize_mx, quantize_nvfp4
from ...formats.nvfp4 import check_global_scale, global_scale_from_amax
from .._launch import array_module, cdiv, check_grid

__all__ = ["quantize_mx_gpu", "quantize_nvfp4_gpu", "AUXILIARY_SOURCES"]

SOURCE = "blockscaled/quantize.cu"
MX_BLOCK = 32
THREADS = 256  #: quantize.cu's THREADS: 8 warps per CTA
#: CTAs for the amax reduction: enough to fill any GPU, few enough that their one atomic each is cheap
AMAX_MAX_CTAS = 2048

#: element format of each MX format, as the kernels name it
_MX_ELEM = {"mxfp8_e4m3": "e4m3", "mxfp8_e5m2": "e5m2", "mxfp4": "e2m1"}
_SUFFIX = {np.dtype(np.float32): "f32", np.dtype(np.float16): "f16"}
_NONFINITE = 0x7F800000  #: float32 bits of +Inf: an |x| at or above it is Inf or NaN


def _check_x(x, block: int, what: str):
    """(1) of every launcher: x is a 2-D float32/float16 C-contiguous array, K a multiple of ``block``."""
    check_array("x", x, dtype=(np.float32, np.float16), ndim=2)
    check_divisible("K (x.shape[1])", x.shape[1], block, f"the {what} block size")
    return array_module(x)


def _vec(x) -> int:
    """Elements per lane: one 16-byte load (4 float32, 8 float16)."""
    return 16 // np.dtype(x.dtype).itemsize


def _aligned(x):
    """The kernels load 16 bytes at a time: a view starting off a 16-byte boundary is copied."""
    return x if x.data.ptr % 16 == 0 else x.copy()


def _quantize_grid(n: int, vec: int, what: str) -> tuple:
    grid = (cdiv(n, 32 * vec * (THREADS // 32)),)
    check_grid(what, grid, ("M*K",))
    return grid


def quantize_mx_gpu(x, fmt: str, scale_mode: str = "floor"):
    """Quantize ``x [M, K]`` (float32/float16, K % 32 == 0) to an MX format: ``(data, scales)``.

    ``fmt``: "mxfp8_e4m3", "mxfp8_e5m2" or "mxfp4"; ``scale_mode``: "floor" (OCP spec) or
    "rceil" (cuBLAS, torchao). Codes and scales equal ``formats.quantize_mx(x, fmt,
    scale_mode=scale_mode)``'s ``data`` and ``scales``, bit for bit.
    """
    fmt = check_choice("fmt", fmt, MX_FORMATS)
    scale_mode = check_choice("scale_mode", scale_mode, SCALE_MODES)
    xp = _check_x(x, MX_BLOCK, "MX")
    if xp is np:
        q = quantize_mx(x, fmt, block_size=MX_BLOCK, scale_mode=scale_mode)
        return q.data, q.scales

    M, K = x.shape
    n = M * K
    grid = _quantize_grid(n, _vec(x), f"quantize_mx_gpu({fmt})")
    x = _aligned(x)
    data = xp.empty((M, K // 2 if fmt == "mxfp4" else K), dtype=xp.uint8)
    scales = xp.empty((M, K // MX_BLOCK), dtype=xp.uint8)
    fn = build.get_function(SOURCE, f"mx_quantize_{_MX_ELEM[fmt]}_{_SUFFIX[np.dtype(x.dtype)]}")
    fn(grid, (THREADS,), (x, data, scales, np.int64(n), np.int32(scale_mode == "rceil")))
    return data, scales


def _nan_error():
    return ValueError("x contains NaN or Inf; quantizers need finite input")


def quantize_nvfp4_gpu(x, global_scale=None):
    """Quantize ``x [M, K]`` (float32/float16, K % 16 == 0) to NVFP4: ``(data, scales, global_scale)``.

    ``global_scale=None`` computes it from the tensor's amax (a GPU reduction), as
    ``formats.quantize_nvfp4`` does; a given one must be a finite positive real (rounded to
    float32). Codes and scales equal the reference's bit for bit; NaN/Inf in ``x`` raise.
    """
    xp = _check_x(x, NVFP4_BLOCK, "NVFP4")
    if global_scale is not None:
        global_scale = check_global_scale(global_scale)
    if xp is np:
        q = quantize_nvfp4(x, global_scale=global_scale)
        return q.data, q.scales, q.global_scale

    M, K = x.shape
    n = M * K
    vec, sfx = _vec(x), _SUFFIX[np.dtype(x.dtype)]
    grid = _quantize_grid(n, vec, "quantize_nvfp4_gpu")
    x = _aligned(x)
    if global_scale is None:
        amax = xp.zeros(1, dtype=xp.uint32)
        build.get_function(SOURCE, f"nvfp4_amax_{sfx}")(
            (min(cdiv(n, vec * THREADS), AMAX_MAX_CTAS),), (THREADS,), (x, np.int64(n), amax))
        bits = np.uint32(amax.get()[0])
        if bits >= _NONFINITE:
            raise _nan_error()
        g = global_scale_from_amax(bits.view(np.float32))
    else:
        g = global_scale
    data = xp.empty((M, K // 2), dtype=xp.uint8)
    scales = xp.empty((M, K // NVFP4_BLOCK), dtype=xp.uint8)
    bad = xp.zeros(1, dtype=xp.uint32)
    build.get_function(SOURCE, f"nvfp4_quantize_{sfx}")(grid, (THREADS,), (x, data, scales, g, np.int64(n), bad))
    if global_scale is not None and int(bad.get()[0]):  # without it, the amax pass already checked
        raise _nan_error()
    return data, scales, g


#: CUDA sources that are not variants: (archs, promised PTX, NVRTC options) for the compile tests.
#: The promises are the lesson's points: 16-byte loads, shuffle reductions, the one IEEE multiply
#: of MX scaling and the IEEE add that rounds into the subnormal range, NVFP4's float64 ratio and
#: its boundaries rounded down and up by one multiply each, the atomics (atom[.relaxed.gpu].global).
AUXILIARY_SOURCES: dict = {
    SOURCE: (
        build.TARGETS,
        ("ld.global.nc.v4", "shfl.sync.bfly.b32", "mul.rn.f32", "add.rn.f32", "div.rn.f64", "mul.rm.f32",
         "mul.rp.f32", "global.max.u32", "global.or.b32"),
        (),
    ),
}
