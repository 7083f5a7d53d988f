"""ex03 — decode MXFP4 to fp32, in Numba (runs in the CUDA simulator without a GPU).

The student writes ``mxfp4_decode_kernel(packed, scales, out)``: ``packed``
uint8 ``[N, K/2]``, two E2M1 codes per byte (element ``2j`` in the low
nibble of byte ``j``), ``scales`` uint8 ``[N, K/32]`` E8M0 codes, ``out``
fp32 ``[N, K]`` with ``out[n, k] = e2m1(code[n, k]) * 2**(scales[n, k // 32]
- 127)`` and NaN for every element of a block whose scale is 0xFF — exactly
:func:`labkernels.formats.dequantize_mx`. The grader launches it with one
thread per packed byte, blocks of (32, 4) (:func:`labkernels.grading.launchers.mxfp4_decode`).

**Why fp32.** An E8M0 scale spans 2**-127 .. 2**127: every product of an
E2M1 value and a scale is exactly a float32 (subnormals included) or beyond
its range (±inf, as float32 arithmetic gives), so fp32 output can be, and
is, checked bit for bit. In fp16 (2**-24 .. 65504) almost every scale would
round or overflow, and the exercise would be about fp16, not MX.

**Exact comparison** (:func:`compare`). :func:`labkernels.check.compare`
does not fit: it is a tolerance test, and NaN never matches there, while
here NaN is the right answer for a NaN-scaled block. So: every output must
have the reference's bits (-0.0 and +0.0 differ; any NaN matches any NaN,
payloads ignored); a number where NaN is expected fails, NaN where a
number is expected fails. The output starts as a NaN with a payload no
arithmetic produces (:data:`POISON_BITS`), so an element the kernel never
wrote is told apart from a NaN it wrote, and a kernel that skips NaN blocks
fails. A failure names the likely mistake when the output matches a known
wrong decode (nibbles swapped, scale without the bias, NaN block ignored,
the sign of zero lost).

**Inputs.** Element codes are uniform over all 16 (so -0 and ±6 appear);
scales come from :func:`labkernels.formats.quantize_mx` of blocks of very
different magnitudes; once a tensor has four blocks or more, there is at
least one NaN-scaled block (random codes: the spec makes the whole block
NaN whatever its bits), one all-zero block (scale code 0, codes ±0) and
one block at each end of the scale range (codes 0-1: subnormal products;
253-254: products that overflow to ±inf).
"""
from __future__ import annotations

import numpy as np

from ...formats import MXQuantized, dequantize_mx, quantize_mx, unpack_fp4
from ..exercise import Case, Exercise, Perf, Task, register

BLOCK = 32
#: the poison: a quiet NaN whose payload (0xDEAD) neither NumPy, Python nor a GPU produces
POISON_BITS = 0x7FC0DEAD

_E2M1 = np.array([0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0], np.float32)


def inputs(rng: np.random.Generator, N: int, K: int) -> dict:
    nb = K // BLOCK
    x = rng.standard_normal((N, nb, BLOCK)).astype(np.float32)
    x *= np.exp2(rng.integers(-40, 41, (N, nb, 1))).astype(np.float32)
    kind = np.zeros(N * nb, np.int8)  # 0 normal, 1 NaN scale, 2 all zero, 3 tiny scale, 4 huge scale
    if N * nb >= 4:
        forced = rng.permutation(N * nb)[:4]
        kind[forced] = [1, 2, 3, 4]
        rest = np.setdiff1d(np.arange(N * nb), forced)
        kind[rest] = rng.choice(5, size=rest.size, p=[0.7, 0.1, 0.1, 0.05, 0.05])
    kind = kind.reshape(N, nb)
    x[kind == 1, rng.integers(0, BLOCK)] = np.nan
    x[kind == 2] = 0.0
    zero_sign = rng.integers(0, 2, x.shape).astype(bool) & (kind == 2)[..., None]
    x[zero_sign] = -0.0  # -0.0 encodes as code 0x8
    q = quantize_mx(x.reshape(N, K), "mxfp4")
    codes = unpack_fp4(q.data).reshape(N, nb, BLOCK)
    scales = q.scales.copy()
    random_codes = rng.integers(0, 16, codes.shape, dtype=np.uint8)
    keep = (kind == 2)[..., None]  # zero blocks keep their ±0 codes; every other block gets all 16 codes
    codes = np.where(keep, codes, random_codes)
    scales[kind == 3] = rng.choice([0, 1], size=int((kind == 3).sum()))
    scales[kind == 4] = rng.choice([253, 254], size=int((kind == 4).sum()))
    codes = codes.reshape(N, K)
    packed = (codes[:, 0::2] | (codes[:, 1::2] << 4)).astype(np.uint8)
    return {"packed": packed, "scales": scales.astype(np.uint8)}


def reference(inp: dict) -> np.ndarray:
    """float32, exactly :func:`labkernels.formats.dequantize_mx`."""
    return dequantize_mx(MXQuantized(inp["packed"], inp["scales"], "mxfp4", BLOCK))


def poison(shape, dtype) -> np.ndarray:
    return np.full(shape, POISON_BITS, np.uint32).view(np.float32)


# --------------------------------------------------------------------------
# The exact comparison, and the mistakes it recognises.
# --------------------------------------------------------------------------


def _decode(packed, scales, *, swap=False, bias=127, nan_block=True, signed_zero=True, f32=False) -> np.ndarray:
    """A decode with one rule changed: the reference, and the known wrong answers. ``f32``: the
    scale is a float32 first (2**128 and above become inf, and 0 * inf is NaN), as a kernel
    that computes in float32 has it; otherwise the product is taken in float64 and rounded once."""
    lo, hi = packed & 0xF, packed >> 4
    if swap:
        lo, hi = hi, lo
    codes = np.empty((packed.shape[0], packed.shape[1] * 2), np.uint8)
    codes[:, 0::2], codes[:, 1::2] = lo, hi
    mag = _E2M1[codes & 7]
    neg = (codes & 8) != 0
    vals = np.where(neg if signed_zero else neg & (mag != 0), -mag, mag)
    s = np.repeat(scales.astype(np.int64), BLOCK, axis=1)
    with np.errstate(over="ignore", invalid="ignore"):
        scale = np.exp2(s.astype(np.float64) - bias)
        if f32:
            out = vals * scale.astype(np.float32)
        else:
            out = (vals.astype(np.float64) * scale).astype(np.float32)
    if nan_block:
        out[s == 0xFF] = np.nan
    return out


def _same(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Elementwise: the same bits, or both NaN."""
    return (a.view(np.uint32) == b.view(np.uint32)) | (np.isnan(a) & np.isnan(b))


#: (kind, what the output matches) for the decodes in _decode(**options)
_MISTAKES = (
    ("nibble_order", dict(swap=True), "the low and high nibbles swapped"),
    ("scale_bias", dict(bias=0), "the scale applied as 2**e instead of 2**(e - 127)"),
    ("nan_block", dict(nan_block=False), "a NaN scale (0xFF) decoded like any other scale"),
    ("negative_zero", dict(signed_zero=False), "-0.0 written as +0.0 (code 0x8)"),
)


def _fmt(v) -> str:
    return f"{float(v)!r} (0x{int(np.float32(v).view(np.uint32)):08x})"


def compare(got: np.ndarray, ref: np.ndarray, inputs: dict | None, max_report: int = 5):
    """(passed, explanation, failure kind): bit-exact, NaN matching NaN, the poison never matching."""
    if got.shape != ref.shape:
        return False, f"output shape {got.shape}, expected {ref.shape}", "wrong"
    unwritten = got.view(np.uint32) == POISON_BITS
    ok = _same(got, ref) & ~unwritten
    if ok.all():
        n_nan = int(np.isnan(ref).sum())
        return True, f"all {ref.size} outputs bit-exact ({n_nan} NaN from NaN-scaled blocks)", ""
    bad = ~ok
    n_unw = int(unwritten.sum())
    miss_nan = bad & ~unwritten & np.isnan(ref)
    extra_nan = bad & ~unwritten & ~np.isnan(ref) & np.isnan(got)
    lines = [f"{int(bad.sum())} of {ref.size} outputs wrong (the check is bit-exact)"]
    if n_unw:
        lines.append(f"{n_unw} never written (still the grader's poison)")
    if miss_nan.any():
        lines.append(f"{int(miss_nan.sum())} numbers where NaN is expected (NaN-scaled blocks)")
    if extra_nan.any():
        lines.append(f"{int(extra_nan.sum())} NaN where a number is expected")
    kind = "empty" if n_unw == ref.size else "partial" if n_unw else "wrong"
    if kind == "wrong" and inputs is not None:
        written = ~unwritten
        for k, opts, what in _MISTAKES:
            alts = [_decode(inputs["packed"], inputs["scales"], **opts, f32=f32) for f32 in (False, True)]
            if any(not _same(a, ref).all() and _same(got, a)[written].all() for a in alts):
                kind = k
                lines.append(f"the output is exactly the decode with {what}")
                break
        else:
            if miss_nan.any() and not (bad & ~miss_nan).any():
                kind = "nan_block"
    head = lines[0] + ("; " + "; ".join(lines[1:]) if len(lines) > 1 else "")
    rows = [head]
    for n, k in np.argwhere(bad)[:max_report]:
        g = "never written" if unwritten[n, k] else _fmt(got[n, k])
        where = ""
        if inputs is not None:
            b = int(inputs["packed"][n, k // 2])
            code = (b >> 4) if k % 2 else (b & 0xF)
            where = (f"  [code 0x{code:x} ({'high' if k % 2 else 'low'} nibble of packed[{n}, {k // 2}] = "
                     f"0x{b:02x}), scale code {int(inputs['scales'][n, k // BLOCK])}]")
        rows.append(f"  W[{n}, {k}] = {g}, expected {_fmt(ref[n, k])}{where}")
    return False, "\n".join(rows), kind


def memory_bound(ceilings, N: int, K: int):
    """Read K/2 packed bytes and K/32 scale bytes per row, write K fp32 outputs: memory-bound."""
    nbytes = N * K // 2 + N * (K // BLOCK) + N * K * 4
    return nbytes / ceilings.bw * 1e6, "memory"


EXERCISE = register(Exercise(
    id="ex03_mxfp4_decode",
    title="Decode MXFP4 blocks to fp32 (Numba)",
    lang="numba",
    solution="ex03_mxfp4_decode.py",
    entry="mxfp4_decode_kernel",
    launcher="mxfp4_decode",
    task=Task(inputs=inputs, reference=reference, out_shape=lambda N, K: (N, K), out_dtype=np.dtype(np.float32),
              out_name="W", compare=compare, poison=poison),
    cases=(
        Case({"N": 1, "K": 32}, why="one MX block: 16 bytes, half of a block's 32 threads along K, 1 of its 4 rows"),
        Case({"N": 3, "K": 160}, points=2,
             why="K = 160 is a multiple of 32 but K/2 = 80 bytes is not a multiple of the 32 a block covers; "
                 "3 rows, not a multiple of 4; NaN-scaled, all-zero, tiny- and huge-scale blocks"),
        Case({"N": 6, "K": 96}, points=2, why="48 bytes per row: a tail block along K; 6 rows: a tail block "
                                              "along N; every kind of special block"),
        Case({"N": 5, "K": 288}, points=2, hidden=True, why="nine blocks per row, tails along K and N"),
    ),
    perf=Perf({"N": 4096, "K": 4096}, target_pct=60.0, bound=memory_bound),
    forbid=("labkernels.grading", "labkernels.formats", "labkernels.kernels", "labkernels.problems",
            "labkernels.check", "ml_dtypes"),
    hints={
        "empty": "nothing was written: does every thread return early, or is the body empty? thread (j, n) "
                 "writes out[n, 2j] and out[n, 2j + 1]",
        "partial": "some W[n, k] were never written: every in-range thread writes two outputs, NaN-scaled "
                   "blocks included (NaN is an answer you must write, not one you may skip)",
        "index": "out of bounds: the grid is rounded up to whole (32, 4) blocks along K/2 and N, so guard "
                 "with `if n < packed.shape[0] and j < packed.shape[1]:`",
        "wrong": "decode the code c: sign = c >> 3, exponent field e = (c >> 1) & 3, mantissa bit m = c & 1; "
                 "|v| = 0.5 * m if e == 0 else (1 + 0.5 * m) * 2**(e - 1); then multiply by 2**(s - 127)",
        "nibble_order": "element 2j is the LOW nibble (b & 0xF), element 2j + 1 the HIGH nibble (b >> 4)",
        "scale_bias": "E8M0 has a bias of 127: the scale code s stands for 2**(s - 127), not 2**s",
        "nan_block": "scale code 0xFF (255) is NaN: write NaN (math.nan) to all 32 elements of that block, "
                     "whatever their codes",
        "negative_zero": "code 0x8 is -0.0 and the check is bit-exact: apply the sign to the value "
                         "(multiply by -1.0, or negate), rather than building +0.0 for every zero",
    },
    spec="Write mxfp4_decode_kernel(packed, scales, out): out[n, k] = e2m1(code) * 2**(scales[n, k // 32] - 127) "
         "in fp32, where the code of k = 2j is the low and of k = 2j + 1 the high nibble of packed[n, j]; "
         "scale 0xFF makes its whole block of 32 NaN. One thread per byte; bit-exact.",
))
