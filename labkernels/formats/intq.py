"""Integer group quantization (int4 / int8 weights, fp16 group scales): NumPy reference.

Conventions
-----------
Weights are row-major ``w[N, K]`` (``N`` output channels, ``K`` the reduction
dim, contiguous). Groups of ``group_size`` consecutive elements run along
``K``: element ``(n, k)`` belongs to group ``(n, k // group_size)``.
``group_size`` is 32, 64, 128 or ``None`` (per-channel: one group spanning all
of ``K``, so ``scales`` is ``[N, 1]``).

:func:`quantize_int` returns an :class:`IntQuantized` ``(q, scales, zeros, bits, group_size)``:

``q`` ``[N, K]``, one element per byte (pack int4 with :func:`pack_int4`)
    ===============  =========  =================  ===============================
    mode             dtype      stored values      dequant
    ===============  =========  =================  ===============================
    int4 symmetric   ``uint8``  0..15              ``(q - 8) * s`` (zero point 8 implicit)
    int4 asymmetric  ``uint8``  0..15              ``(q - z) * s``
    int8 symmetric   **int8**   -127..127          ``q * s`` (zero point 0; -128 never used)
    int8 asymmetric  ``uint8``  0..255             ``(q - z) * s``
    ===============  =========  =================  ===============================

``scales`` ``float16 [N, K // group_size]`` (``[N, 1]`` per-channel), row-major:
    the scale of ``(n, k)`` is ``scales[n, k // group_size]``.
``zeros`` ``None`` (symmetric) or ``uint8 [N, K // group_size]`` (asymmetric):
    the integer zero point, same indexing as ``scales``.

Quantization (all arithmetic in float32; float16/float64 ``w`` is first converted to float32)
------------------------------------------------------------------------------------------------
Symmetric: ``s = amax / qmax`` with ``amax = max |w|`` over the group and
``qmax = 7`` (int4) or ``127`` (int8), divided in float32 and rounded to float16
(round to nearest even). A group whose fp16 scale is 0 (all-zero group, or
``amax`` so small the scale underflows fp16) gets ``s = 1``: a scale is never 0
or NaN. Then ``q = clip(rint(w / s), -8, 7) + 8`` (int4) or
``clip(rint(w / s), -127, 127)`` (int8).

Asymmetric: the group's range is widened to include 0 (``lo = min(min w, 0)``,
``hi = max(max w, 0)``, the GPTQ convention) so that the integer zero point is
always representable -- without it a group of all-positive weights would need
a negative zero point and clipping ``z`` to ``[0, 2**bits - 1]`` would wreck it.
``s = (hi - lo) / (2**bits - 1)`` (float32, rounded to float16); a group with
``hi == lo`` (only possible when the group is all zero) or an fp16 scale of 0
gets ``s = 1``; ``z = clip(rint(-lo / s), 0, 2**bits - 1)``;
``q = clip(rint(w / s) + z, 0, 2**bits - 1)``.

In both modes the division is by the **fp16-rounded scale** (converted to
float32), i.e. exactly the scale the kernel will multiply by, and rounding is
half to even (``np.rint``). Error bound per element: ``|w - dequant| <= s / 2``
when the fp16 scale is not below the float32 one; rounding the scale down by up
to half an fp16 ulp can add ``(levels * (s32 - s))`` where ``levels`` is 7 /
127 / ``2**bits - 1`` (a few thousandths of ``s``).

A scale that overflows float16 (``amax / qmax > 65504``) raises ``ValueError``.
NaN or Inf in ``w`` raises ``ValueError("w contains NaN or Inf; quantizers need
finite input")``.

:func:`dequantize_int` computes ``(q - z) * s`` in float32 from the fp16 scale
(exact: a small integer times an fp16 value fits a float32) and returns float32
``[N, K]``.

Packed int4 layout (:func:`pack_int4` / :func:`unpack_int4`)
-----------------------------------------------------------
``q[N, K]`` (values 0..15, ``K`` even) packs into ``p[N, K // 2]`` (uint8)::

    p[n, j] = q[n, 2*j] | (q[n, 2*j + 1] << 4)

element ``k = 2j`` in the LOW nibble of byte ``j``, element ``2j + 1`` in the
HIGH nibble. A little-endian ``uint32`` word ``i`` of row ``n`` (bytes
``4i .. 4i+3``) holds elements ``8i .. 8i+7``, element ``8i + t`` in bits
``[4t, 4t + 4)``. Row ``n`` starts at byte ``n * K // 2``. The order is plain
sequential (no interleaving): a kernel using an interleaved order for its
int4 -> fp16 conversion tricks must repack. The same layout is used for FP4
(:func:`labkernels.formats.pack_fp4`).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import check_array, check_divisible, check_int
from ._minifloat import FLOAT_DTYPES, pack_nibbles, require_numpy, unpack_nibbles

__all__ = ["IntQuantized", "quantize_int", "dequantize_int", "pack_int4", "unpack_int4", "GROUP_SIZES"]

GROUP_SIZES = (32, 64, 128, None)
_ROWS_CHUNK_ELEMS = 1 << 20


@dataclass(frozen=True, eq=False)
class IntQuantized:
    """Group-quantized integer weights; see :mod:`labkernels.formats.intq` for the layout.

    q: uint8 [N, K] (int8 for symmetric int8); scales: float16 [N, G];
    zeros: None (symmetric) or uint8 [N, G]; bits: 4 or 8; group_size: 32/64/128
    or None (per-channel, G = 1).
    """

    q: np.ndarray
    scales: np.ndarray
    zeros: np.ndarray | None
    bits: int
    group_size: int | None

    @property
    def symmetric(self) -> bool:
        return self.zeros is None

    @property
    def shape(self) -> tuple[int, int]:
        return tuple(self.q.shape)


def _check_bits(bits) -> int:
    bits = check_int("bits", bits)
    if bits not in (4, 8):
        raise ValueError(f"bits must be 4 or 8; got {bits}")
    return bits


def _check_group_size(group_size):
    if group_size is None:
        return None
    group_size = check_int("group_size", group_size)
    if group_size not in (32, 64, 128):
        raise ValueError(f"group_size must be 32, 64, 128 or None (per-channel); got {group_size}")
    return group_size


def _check_finite(name: str, x: np.ndarray) -> None:
    if not np.isfinite(x).all():
        raise ValueError(f"{name} contains NaN or Inf; quantizers need finite input")


def _fp16_scale(s32: np.ndarray, what: str) -> np.ndarray:
    with np.errstate(over="ignore"):
        s16 = s32.astype(np.float16)
    if not np.isfinite(s16).all():
        raise ValueError(
            f"w is too large for float16 scales: a group's {what} exceeds 65504 "
            f"(scale the weights down before quantizing)"
        )
    s16[s16 == 0] = 1
    return s16


def quantize_int(w, bits: int = 4, group_size: int | None = 128, symmetric: bool = True) -> IntQuantized:
    """Quantize ``w[N, K]`` (float16/32/64) to int4/int8 with fp16 group scales.

    See the module docstring for the exact recipe and layout. Raises
    ``ValueError`` for NaN/Inf in ``w``, ``K`` not a multiple of
    ``group_size``, or scales overflowing float16.
    """
    check_array("w", w, dtype=FLOAT_DTYPES, ndim=2)
    require_numpy("w", w)
    bits = _check_bits(bits)
    group_size = _check_group_size(group_size)
    if not isinstance(symmetric, (bool, np.bool_)):
        raise TypeError(f"symmetric must be a bool; got {type(symmetric).__name__} {symmetric!r}")
    symmetric = bool(symmetric)
    n, k = w.shape
    g = k if group_size is None else group_size
    check_divisible("K (w.shape[1])", k, g, "group_size")
    _check_finite("w", w)
    ng = k // g

    if symmetric:
        qdtype = np.uint8 if bits == 4 else np.int8
        qmax = 7 if bits == 4 else 127
        lo_clip, hi_clip, offset = (-8, 7, 8) if bits == 4 else (-127, 127, 0)
    else:
        qdtype = np.uint8
        qmax = (1 << bits) - 1
    q = np.empty((n, k), qdtype)
    scales = np.empty((n, ng), np.float16)
    zeros = None if symmetric else np.empty((n, ng), np.uint8)

    rows = max(1, _ROWS_CHUNK_ELEMS // k)
    for r0 in range(0, n, rows):
        r1 = min(n, r0 + rows)
        wb = np.asarray(w[r0:r1], dtype=np.float32).reshape(r1 - r0, ng, g)
        if symmetric:
            amax = np.maximum(wb.max(axis=-1), -wb.min(axis=-1))
            s16 = _fp16_scale(amax / np.float32(qmax), "max|w| / " + str(qmax))
            s = s16.astype(np.float32)[..., None]
            t = np.rint(wb / s)
            np.clip(t, lo_clip, hi_clip, out=t)
            if offset:
                t += offset
        else:
            lo = np.minimum(wb.min(axis=-1), np.float32(0))
            hi = np.maximum(wb.max(axis=-1), np.float32(0))
            with np.errstate(over="ignore"):
                rng = hi - lo
            s16 = _fp16_scale(rng / np.float32(qmax), f"(max - min) / {qmax}")
            s = s16.astype(np.float32)
            z = np.clip(np.rint(-lo / s), 0, qmax)
            zeros[r0:r1] = z.astype(np.uint8)
            t = np.rint(wb / s[..., None])
            t += z[..., None]
            np.clip(t, 0, qmax, out=t)
        scales[r0:r1] = s16
        q[r0:r1] = t.reshape(r1 - r0, k).astype(qdtype)
    return IntQuantized(q=q, scales=scales, zeros=zeros, bits=bits, group_size=group_size)


def dequantize_int(qt: IntQuantized) -> np.ndarray:
    """``(q - z) * s`` in float32 (``z`` = 8 for symmetric int4, 0 for symmetric int8) -> float32 [N, K]."""
    if not isinstance(qt, IntQuantized):
        raise TypeError(f"qt must be an IntQuantized (from quantize_int); got {type(qt).__name__}")
    bits = _check_bits(qt.bits)
    group_size = _check_group_size(qt.group_size)
    symmetric = qt.zeros is None
    qdtype = np.int8 if (symmetric and bits == 8) else np.uint8
    check_array("qt.q", qt.q, dtype=qdtype, ndim=2)
    require_numpy("qt.q", qt.q)
    n, k = qt.q.shape
    g = k if group_size is None else group_size
    check_divisible("K (qt.q.shape[1])", k, g, "group_size")
    ng = k // g
    check_array("qt.scales", qt.scales, dtype=np.float16, shape=(n, ng))
    if not symmetric:
        check_array("qt.zeros", qt.zeros, dtype=np.uint8, shape=(n, ng))
    if bits == 4 and int(qt.q.max()) > 15:
        raise ValueError(f"qt.q holds values above 15 for bits=4; got max {int(qt.q.max())}")
    out = qt.q.astype(np.float32).reshape(n, ng, g)
    if symmetric:
        if bits == 4:
            out -= 8
    else:
        out -= qt.zeros.astype(np.float32)[..., None]
    out *= qt.scales.astype(np.float32)[..., None]
    return out.reshape(n, k)


def pack_int4(q) -> np.ndarray:
    """uint8 ``q[..., K]`` with values 0..15 (K even) -> ``[..., K // 2]``: element 2j in the low nibble of byte j, 2j+1 in the high nibble."""
    return pack_nibbles("q", q)


def unpack_int4(packed) -> np.ndarray:
    """uint8 ``packed[..., K // 2]`` -> ``[..., K]`` uint8 values 0..15; inverse of :func:`pack_int4`."""
    return unpack_nibbles("packed", packed)
