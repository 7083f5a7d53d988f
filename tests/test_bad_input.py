"""The bad-input table (issue 8): every public entry point reachable without a GPU, given bad input.

Each row calls one entry point with one thing wrong -- dtype, ndim or shape, layout
(non-contiguous), empty, huge (past the kernels' 32-bit sizes or CUDA's grid, refused before
anything is allocated), NaN/Inf where not allowed, zero or negative sizes, a bool or float
where an int is needed, an unknown name, the wrong architecture -- and asserts the exception
type and a regex on its message that names the argument (for unknown names, that the known
ones are listed). Nothing may crash, hang (each row runs under an alarm) or answer wrongly.

Rows are built from the live objects where that keeps them complete: every codec of
``labkernels.formats``, every registered variant's launcher (with NumPy arrays the argument
checks run before anything needs a GPU, so a CuPy kernel must say it wants CuPy arrays), every
capability the fake sm_75 GPU lacks. The CLI and the grader's CLI run as subprocesses (started
once, in parallel, while the other rows run). ``tests/conftest.py`` prints the number of cases
at the end of the run ("bad-input cases: N").

Arrays "too large to allocate" are stand-ins that have a shape, a dtype and C-contiguous flags
and fail the test if anything reads their data: a check that comes after an allocation, or
that never comes, shows up as a failed row, not as a machine out of memory.
"""
from __future__ import annotations

import dataclasses
import importlib.util
import json
import math
import os
import re
import signal
import subprocess
import sys
from pathlib import Path
from typing import Callable

import numpy as np
import pytest

import labkernels.formats as F
from labkernels import UnsupportedDevice, bench, build, check, device, problems, registry, specs
from labkernels import grading
from labkernels import roofline as rl
from labkernels.grading import batch
from labkernels.kernels import dequant, fp16, int8

ROOT = Path(__file__).resolve().parents[1]
H100 = rl.datasheet_ceilings("h100-sxm")
ROW_TIMEOUT_S = 30  # a row that takes longer is a hang


# --------------------------------------------------------------------------
# The table.
# --------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Row:
    id: str
    fn: Callable
    exc: type | tuple | None  #: the exception type; None: fn returns and ``ok`` judges the result
    match: str = ""  #: regex searched in str(exception)
    gpu: object = None  #: a fake device.GPU that device.gpu() returns during the row
    ok: Callable | None = None
    needs_cupy: bool = False  #: the launcher takes CuPy-typed stand-ins that make it import cupy


ROWS: list[Row] = []
try:
    HAVE_CUPY = importlib.util.find_spec("cupy") is not None
except (ImportError, ValueError):
    HAVE_CUPY = False


def row(id: str, exc, match: str, fn: Callable, *, gpu=None, needs_cupy=False) -> None:
    ROWS.append(Row(id, fn, exc, match, gpu, needs_cupy=needs_cupy))


def returns(id: str, fn: Callable, ok: Callable, *, gpu=None) -> None:
    """A row whose right answer is a result (a failed check, a refusal), not an exception."""
    ROWS.append(Row(id, fn, None, "", gpu, ok))


def _fake_gpu(name: str, cc: tuple[int, int], sms: int) -> device.GPU:
    return device.GPU(index=0, name=name, cc=cc, sms=sms, l2_bytes=40 << 20, mem_bytes=80 << 30, clock_mhz=1500.0,
                      driver="12.4", runtime="12.4")


T4 = _fake_gpu("Tesla T4", (7, 5), 40)
A100 = _fake_gpu("NVIDIA A100-SXM4-80GB", (8, 0), 108)


class _Huge:
    """An array too large to allocate: shape, dtype and flags only; touching its data fails the row."""

    def __init__(self, shape, dtype):
        self.shape = tuple(shape)
        self.dtype = np.dtype(dtype)
        self.ndim = len(self.shape)
        self.size = math.prod(self.shape)
        self.nbytes = self.size * self.dtype.itemsize
        self.flags = {"C_CONTIGUOUS": True}

    def _touched(self, *a, **k):
        raise AssertionError(f"the data of a {self.shape} array was touched: it must be refused first")

    __array__ = __getitem__ = __setitem__ = __iter__ = __len__ = _touched


HugeNumpy = type("ndarray", (_Huge,), {"__module__": "numpy"})  # array_module() takes it for NumPy's
HugeCupy = type("ndarray", (_Huge,), {"__module__": "cupy"})  # ... and this one for CuPy's


def f32(*shape):
    return np.ones(shape, np.float32)


def u8(*shape, v=1):
    return np.full(shape, v, np.uint8)


def noncontig(a):
    """Same shape and values, not C-contiguous."""
    return np.repeat(a, 2, axis=-1)[..., ::2]


KNOWN = r"( \(did you mean '[^']*'\?\))?; known: '"  # how every unknown-name message lists the known names

# ------------------------------------------------------------------ formats: FP8 / FP4 / E8M0 codecs
ENCODERS = {"encode_e4m3": F.encode_e4m3, "encode_e5m2": F.encode_e5m2, "encode_e2m1": F.encode_e2m1,
            "encode_e8m0": F.encode_e8m0}
DECODERS = {"decode_e4m3": F.decode_e4m3, "decode_e5m2": F.decode_e5m2, "decode_e2m1": F.decode_e2m1,
            "decode_e8m0": F.decode_e8m0}
for name, enc in ENCODERS.items():
    row(f"{name}-list", TypeError, r"^x must be a NumPy or CuPy array; got list", lambda e=enc: e([1.0, 2.0]))
    row(f"{name}-int64", TypeError, r"^x must have dtype float16 or float32 or float64; got int64",
        lambda e=enc: e(np.arange(4)))
    row(f"{name}-bool", TypeError, r"^x must have dtype .*; got bool", lambda e=enc: e(np.ones(3, bool)))
    row(f"{name}-complex", TypeError, r"^x must have dtype .*; got complex128", lambda e=enc: e(np.ones(3) * 1j))
    row(f"{name}-noncontig", ValueError, r"^x must be C-contiguous", lambda e=enc: e(noncontig(f32(4, 4))))
    row(f"{name}-cupy", TypeError, r"x must be a NumPy array .* use \.get\(\)",
        lambda e=enc: e(HugeCupy((4,), np.float32)))
    if name != "encode_e8m0":
        for bad in (1, None, "yes"):
            row(f"{name}-saturate-{bad!r}", TypeError, r"^saturate must be a bool",
                lambda e=enc, b=bad: e(f32(3), saturate=b))
row("encode_e2m1-nan", ValueError, r"^x contains NaN; float4_e2m1 has no NaN encoding",
    lambda: F.encode_e2m1(np.array([1.0, np.nan], np.float32)))
row("encode_e2m1-nan-nosat", ValueError, r"^x contains NaN", lambda: F.encode_e2m1(np.full(2, np.nan), saturate=False))
for name, dec in DECODERS.items():
    row(f"{name}-int16", TypeError, r"^codes must have dtype uint8; got int16", lambda d=dec: d(np.arange(3, dtype=np.int16)))
    row(f"{name}-float", TypeError, r"^codes must have dtype uint8; got float32", lambda d=dec: d(f32(3)))
    row(f"{name}-list", TypeError, r"^codes must be a NumPy or CuPy array", lambda d=dec: d([1, 2]))
    row(f"{name}-noncontig", ValueError, r"^codes must be C-contiguous", lambda d=dec: d(noncontig(u8(4, 4))))
row("decode_e2m1-code-16", ValueError, r"^codes holds values above 15; got max 16", lambda: F.decode_e2m1(u8(3, v=16)))
for bad, exc, msg in [(200, ValueError, r"e must lie in \[-127, 127\].*max 200"),
                      (-128, ValueError, r"e must lie in \[-127, 127\].*min -128"),
                      (1.5, TypeError, r"e must be an integer .*float64"), (True, TypeError, r"e must be .*bool"),
                      ("3", TypeError, r"e must be an integer"), (None, TypeError, r"e must be an integer"),
                      (np.array([0.5]), TypeError, r"e must be an integer .*float64")]:
    row(f"e8m0_from_exponent-{bad!r}", exc, msg, lambda b=bad: F.e8m0_from_exponent(b))

# ------------------------------------------------------------------ formats: nibble packing
for name, fn, arg in [("pack_int4", F.pack_int4, "q"), ("pack_fp4", F.pack_fp4, "codes")]:
    row(f"{name}-odd-K", ValueError, rf"^{arg}\.shape\[-1\]=3 \(K\) must be even", lambda f=fn: f(u8(2, 3)))
    row(f"{name}-value-16", ValueError, rf"^{arg} holds values above 15; got max 16", lambda f=fn: f(u8(2, 4, v=16)))
    row(f"{name}-0d", ValueError, rf"^{arg} must have at least 1 dimension", lambda f=fn: f(np.array(1, np.uint8)))
    row(f"{name}-int32", TypeError, rf"^{arg} must have dtype uint8; got int32", lambda f=fn: f(np.ones((2, 4), np.int32)))
    row(f"{name}-noncontig", ValueError, rf"^{arg} must be C-contiguous", lambda f=fn: f(noncontig(u8(2, 4))))
    row(f"{name}-tuple", TypeError, rf"^{arg} must be a NumPy or CuPy array", lambda f=fn: f((1, 2)))
for name, fn in [("unpack_int4", F.unpack_int4), ("unpack_fp4", F.unpack_fp4)]:
    row(f"{name}-float", TypeError, r"^packed must have dtype uint8; got float32", lambda f=fn: f(f32(4)))
    row(f"{name}-0d", ValueError, r"^packed must have at least 1 dimension", lambda f=fn: f(np.array(1, np.uint8)))
    row(f"{name}-noncontig", ValueError, r"^packed must be C-contiguous", lambda f=fn: f(noncontig(u8(2, 4))))

# ------------------------------------------------------------------ formats: integer group quantization
W = np.random.default_rng(0).standard_normal((4, 128)).astype(np.float32)
for kw, exc, msg in [
    (dict(bits=3), ValueError, r"^bits must be 4 or 8; got 3"),
    (dict(bits=4.0), TypeError, r"^bits must be an integer; got float"),
    (dict(bits=True), TypeError, r"^bits must be an integer; got bool"),
    (dict(bits="4"), TypeError, r"^bits must be an integer; got str"),
    (dict(group_size=48), ValueError, r"^group_size must be 32, 64, 128 or None"),
    (dict(group_size=0), ValueError, r"^group_size must be 32, 64, 128 or None"),
    (dict(group_size=-32), ValueError, r"^group_size must be 32, 64, 128 or None"),
    (dict(group_size=32.0), TypeError, r"^group_size must be an integer; got float"),
    (dict(group_size=False), TypeError, r"^group_size must be an integer; got bool"),
    (dict(symmetric=1), TypeError, r"^symmetric must be a bool; got int"),
    (dict(symmetric="no"), TypeError, r"^symmetric must be a bool; got str"),
]:
    row(f"quantize_int-{'-'.join(f'{k}={v!r}' for k, v in kw.items())}", exc, msg, lambda kw=kw: F.quantize_int(W, **kw))
for wid, w, exc, msg in [
    ("K-100", f32(4, 100), ValueError, r"^K \(w\.shape\[1\]\)=100 must be a multiple of group_size \(128\)"),
    ("nan", np.full((4, 128), np.nan, np.float32), ValueError, r"^w contains NaN or Inf; quantizers need finite input"),
    ("inf", np.where(np.arange(128) == 5, np.inf, 1.0).astype(np.float32)[None].repeat(4, 0), ValueError,
     r"^w contains NaN or Inf"),
    ("-inf-fp16", np.full((4, 128), -np.inf, np.float16), ValueError, r"^w contains NaN or Inf"),
    ("1d", f32(128), ValueError, r"^w must be 2-D; got shape \(128,\)"),
    ("3d", f32(2, 4, 128), ValueError, r"^w must be 2-D"),
    ("empty-rows", f32(0, 128), ValueError, r"^w must not be empty; got shape \(0, 128\)"),
    ("empty-K", f32(4, 0), ValueError, r"^w must not be empty"),
    ("int32", np.ones((4, 128), np.int32), TypeError, r"^w must have dtype float16 or float32 or float64; got int32"),
    ("noncontig", noncontig(f32(4, 128)), ValueError, r"^w must be C-contiguous"),
    ("list", [[1.0] * 128], TypeError, r"^w must be a NumPy or CuPy array; got list"),
    ("overflow-fp16-scale", np.full((4, 128), 1e6, np.float32), ValueError, r"^w is too large for float16 scales"),
    ("cupy", HugeCupy((4, 128), np.float32), TypeError, r"^w must be a NumPy array"),
]:
    row(f"quantize_int-w-{wid}", exc, msg, lambda w=w: F.quantize_int(w))
QT = F.quantize_int(W)
QTA = F.quantize_int(W, symmetric=False)
for qid, qt, exc, msg in [
    ("tuple", (QT.q, QT.scales), TypeError, r"^qt must be an IntQuantized"),
    ("scales-float32", dataclasses.replace(QT, scales=QT.scales.astype(np.float32)), TypeError,
     r"^qt\.scales must have dtype float16; got float32"),
    ("scales-rows", dataclasses.replace(QT, scales=QT.scales[:2].copy()), ValueError,
     r"^qt\.scales must have shape \(4, 1\); got \(2, 1\)"),
    ("q-16", dataclasses.replace(QT, q=np.full_like(QT.q, 16)), ValueError, r"^qt\.q holds values above 15"),
    ("q-int8", dataclasses.replace(QT, q=QT.q.view(np.int8)), TypeError, r"^qt\.q must have dtype uint8; got int8"),
    ("q-empty", dataclasses.replace(QT, q=u8(0, 128), scales=np.ones((0, 1), np.float16)), ValueError,
     r"^qt\.q must not be empty"),
    ("q-noncontig", dataclasses.replace(QT, q=noncontig(QT.q)), ValueError, r"^qt\.q must be C-contiguous"),
    ("bits-5", dataclasses.replace(QT, bits=5), ValueError, r"^bits must be 4 or 8; got 5"),
    ("group-size-48", dataclasses.replace(QT, group_size=48), ValueError, r"^group_size must be 32, 64, 128"),
    ("K-not-multiple", dataclasses.replace(QT, q=u8(4, 96)), ValueError, r"^K \(qt\.q\.shape\[1\]\)=96 must be a multiple"),
    ("zeros-shape", dataclasses.replace(QTA, zeros=QTA.zeros[:, :0].copy()), ValueError, r"^qt\.zeros must have shape \(4, 1\)"),
    ("zeros-int8", dataclasses.replace(QTA, zeros=QTA.zeros.view(np.int8)), TypeError, r"^qt\.zeros must have dtype uint8"),
]:
    row(f"dequantize_int-{qid}", exc, msg, lambda qt=qt: F.dequantize_int(qt))

# ------------------------------------------------------------------ formats: MX and NVFP4
X32 = f32(2, 64)
for xid, kw, exc, msg in [
    ("fmt-mxfp6", dict(fmt="mxfp6"), ValueError, r"^unknown fmt 'mxfp6' \(did you mean 'mxfp4'\?\)" + KNOWN + "mxfp8_e4m3'"),
    ("fmt-None", dict(fmt=None), TypeError, r"^fmt must be a string, one of 'mxfp8_e4m3'"),
    ("fmt-3", dict(fmt=3), TypeError, r"^fmt must be a string"),
    ("mode-round", dict(scale_mode="round"), ValueError, r"^unknown scale_mode 'round'" + KNOWN + "floor', 'rceil'"),
    ("block-0", dict(block_size=0), ValueError, r"^block_size must be >= 1; got 0"),
    ("block-neg", dict(block_size=-32), ValueError, r"^block_size must be >= 1; got -32"),
    ("block-float", dict(block_size=32.0), TypeError, r"^block_size must be an integer; got float"),
    ("block-bool", dict(block_size=True), TypeError, r"^block_size must be an integer; got bool"),
    ("block-odd-fp4", dict(fmt="mxfp4", block_size=3), ValueError, r"^block_size must be even for mxfp4"),
]:
    row(f"quantize_mx-{xid}", exc, msg, lambda kw=kw: F.quantize_mx(X32, **{"fmt": "mxfp8_e4m3", **kw}))
for xid, x, exc, msg in [
    ("K-33", f32(2, 33), ValueError, r"^K \(x\.shape\[-1\]\)=33 must be a multiple of the MX block size \(32\)"),
    ("0d", np.array(1.0), ValueError, r"^x must have at least 1 dimension"),
    ("empty", f32(0, 32), ValueError, r"^x must not be empty"),
    ("int8", np.ones((2, 32), np.int8), TypeError, r"^x must have dtype float16 or float32 or float64; got int8"),
    ("noncontig", noncontig(f32(2, 32)), ValueError, r"^x must be C-contiguous"),
]:
    row(f"quantize_mx-x-{xid}", exc, msg, lambda x=x: F.quantize_mx(x, "mxfp4"))
MQ = F.quantize_mx(X32, "mxfp4")
for qid, q, exc, msg in [
    ("str", "mxfp4", TypeError, r"^q must be an MXQuantized"),
    ("fmt", dataclasses.replace(MQ, fmt="zzz"), ValueError, r"^unknown q\.fmt 'zzz'" + KNOWN),
    ("scales-shape", dataclasses.replace(MQ, scales=MQ.scales[:, :1].copy()), ValueError,
     r"^q\.scales must have shape \(2, 2\); got \(2, 1\)"),
    ("block-0", dataclasses.replace(MQ, block_size=0), ValueError, r"^block_size must be >= 1"),
    ("data-float", dataclasses.replace(MQ, data=MQ.data.astype(np.float32)), TypeError, r"^q\.data must have dtype uint8"),
]:
    row(f"dequantize_mx-{qid}", exc, msg, lambda q=q: F.dequantize_mx(q))
for gid, g, exc, msg in [
    ("0", 0, ValueError, r"^global_scale must be finite and > 0"), ("neg", -1.0, ValueError, r"^global_scale must be finite and > 0"),
    ("nan", float("nan"), ValueError, r"^global_scale must be finite and > 0.*nan"),
    ("inf", float("inf"), ValueError, r"^global_scale must be finite and > 0.*inf"),
    ("overflows-float32", 1e39, ValueError, r"^global_scale must be finite and > 0 as a float32"),
    ("str", "1", TypeError, r"^global_scale must be a real number or None; got str"),
    ("bool", True, TypeError, r"^global_scale must be a real number or None; got bool"),
    ("array", np.ones(2), TypeError, r"^global_scale must be a real number or None; got ndarray"),
]:
    row(f"quantize_nvfp4-global_scale-{gid}", exc, msg, lambda g=g: F.quantize_nvfp4(f32(2, 16), global_scale=g))
for xid, x, exc, msg in [
    ("K-17", f32(2, 17), ValueError, r"^K \(x\.shape\[-1\]\)=17 must be a multiple of the NVFP4 block size \(16\)"),
    ("nan", np.full((2, 16), np.nan, np.float32), ValueError, r"^x contains NaN or Inf; quantizers need finite input"),
    ("inf", np.full((2, 16), np.inf, np.float64), ValueError, r"^x contains NaN or Inf"),
    ("empty", f32(0, 16), ValueError, r"^x must not be empty"),
    ("0d", np.array(1.0), ValueError, r"^x must have at least 1 dimension"),
    ("uint8", u8(2, 16), TypeError, r"^x must have dtype float16 or float32 or float64; got uint8"),
]:
    row(f"quantize_nvfp4-x-{xid}", exc, msg, lambda x=x: F.quantize_nvfp4(x))
NQ = F.quantize_nvfp4(f32(2, 32))
for qid, q, exc, msg in [
    ("int", 3, TypeError, r"^q must be an NVFP4Quantized"),
    ("scales-shape", dataclasses.replace(NQ, scales=NQ.scales[:, :1].copy()), ValueError, r"^q\.scales must have shape \(2, 2\)"),
    ("global_scale-0", dataclasses.replace(NQ, global_scale=0.0), ValueError, r"global_scale must be finite and > 0"),
    ("data-noncontig", dataclasses.replace(NQ, data=NQ.data[:, :3]), ValueError, r"^q\.data must be C-contiguous"),
    ("data-K-odd-blocks", dataclasses.replace(NQ, data=NQ.data[:, :4].copy()), ValueError,
     r"^K \(q\.shape\[-1\]\)=8 must be a multiple of the NVFP4 block size"),
]:
    row(f"dequantize_nvfp4-{qid}", exc, msg, lambda q=q: F.dequantize_nvfp4(q))

# ------------------------------------------------------------------ launchers: every registered variant
SHAPE = (2, 16, 256)  # M, N, K: a GEMV-sized M, K a multiple of every group/vector width
PARAMS = {"w4a16": {"group_size": 128, "zeros": True}}


def _inputs(v, M=SHAPE[0], N=SHAPE[1], K=SHAPE[2], **params):
    p = problems.get(v.fmt)
    inp = p.inputs(M, N, K, np.random.default_rng(0), **{**PARAMS.get(v.fmt, {}), **params})
    return v.prepare(inp) if v.prepare is not None else inp


def _launch_with(v, out=None, **changes):
    """v.launch on valid NumPy inputs with ``changes`` applied (a change may be a function of the input)."""
    def call():
        inp = _inputs(v)
        for k, c in changes.items():
            inp[k] = c(inp[k]) if callable(c) else c
        return v.launch(**inp, out=out)
    return call


def _arg(name: str) -> str:
    """How a message names the argument: 'x must', 'qweight: w must' (check_xw) or 'qweight must'."""
    return rf"(^|\b){name}(: w)? must"


OTHER_DTYPE = {np.dtype(np.float16): np.float32, np.dtype(np.uint8): np.int8, np.dtype(np.int8): np.uint8,
               np.dtype(np.uint32): np.int32}
#: Every variant whose inputs the lab's problems describe; library peers that need another package
#: (torch) take that package's own layout and are covered by their own rows below.
LAB_VARIANTS = [v for v in registry.variants() if v.available is None and v.fmt in problems.PROBLEMS]

for v in LAB_VARIANTS:
    M, N, K = SHAPE
    base = _inputs(v)
    odt = np.dtype(problems.get(v.fmt).out_dtype)
    other_odt = np.float32 if odt == np.float16 else np.float16
    arrays = [k for k, a in base.items() if isinstance(a, np.ndarray)]
    wname = "w" if "w" in base else "qweight"
    for name in arrays:
        dt = OTHER_DTYPE.get(base[name].dtype, np.float64)
        row(f"{v.id}-{name}-dtype", TypeError, _arg(name) + " have dtype",
            _launch_with(v, **{name: lambda a, dt=dt: a.astype(dt)}))
        # (a 1-D argument, such as NVFP4's per-tensor scale, is made 2-D instead)
        row(f"{v.id}-{name}-ndim", ValueError, _arg(name) + r" (be \d-D|have shape)",
            _launch_with(v, **{name: lambda a: a.reshape(-1) if a.ndim > 1 else a.reshape(1, -1)}))
        if base[name].size > 1:  # one element is contiguous whatever its stride
            row(f"{v.id}-{name}-noncontig", ValueError, _arg(name) + " be C-contiguous",
                _launch_with(v, **{name: noncontig}))
        row(f"{v.id}-{name}-empty", ValueError, _arg(name) + " (not be empty|have shape)",
            _launch_with(v, **{name: lambda a: a[:0]}))
        row(f"{v.id}-{name}-list", TypeError, _arg(name) + " be a NumPy or CuPy array; got list",
            _launch_with(v, **{name: lambda a: a.tolist()}))
    # A8W8 launchers also take an int32 out (the raw integer sums).
    odt_names = f"{odt.name} or int32" if v.fmt == "a8w8" else odt.name
    row(f"{v.id}-out-dtype", TypeError, rf"^out must have dtype {odt_names}; got {np.dtype(other_odt).name}",
        _launch_with(v, out=np.zeros((M, N), other_odt)))
    row(f"{v.id}-out-shape", ValueError, rf"^out must have shape \({M}, {N}\); got \({M}, {N + 1}\)",
        _launch_with(v, out=np.zeros((M, N + 1), odt)))
    row(f"{v.id}-out-noncontig", ValueError, r"^out must be C-contiguous", _launch_with(v, out=noncontig(np.zeros((M, N), odt))))
    row(f"{v.id}-out-list", TypeError, r"^out must be a NumPy or CuPy array", _launch_with(v, out=[[0.0] * N] * M))
    row(f"{v.id}-out-cupy-with-numpy-inputs", TypeError, r"arrays must all be NumPy or all CuPy arrays; got a mix",
        _launch_with(v, out=HugeCupy((M, N), odt)))
    row(f"{v.id}-x-M-2**31", ValueError, r"M \(x\.shape\[0\]\)=2147483648 does not fit the kernel's 32-bit index",
        _launch_with(v, x=HugeNumpy((2**31, K), base["x"].dtype)))
    if v.max_m:
        row(f"{v.id}-M-above-max_m", ValueError, rf"handles M up to {v.max_m}.*got M={v.max_m + 1}",
            _launch_with(v, x=np.ones((v.max_m + 1, base["x"].shape[1]), base["x"].dtype)))
    row(f"{v.id}-K-mismatch", ValueError, _arg(wname) + " have shape",
        _launch_with(v, x=lambda a: np.ascontiguousarray(a[:, : a.shape[1] // 2])))
    if v.impl in ("cupy", "library"):
        row(f"{v.id}-numpy-arrays", TypeError, r"runs on the GPU: pass CuPy arrays \(cupy\.asarray\(x\)\), not NumPy",
            _launch_with(v))

# W4A16 specifics: group size, scale rows, zero points, K alignment (every W4A16 launcher, natural or prepacked).
W4 = [v for v in LAB_VARIANTS if v.fmt == "w4a16"]
for v in W4:
    prepacked = v.prepare is not None
    row(f"{v.id}-scales-group-size-256/3", ValueError, r"scales imply a group size of K/G = 256/3",
        _launch_with(v, scales=np.ones((SHAPE[1], 3), np.float16), zeros=None))
    row(f"{v.id}-scales-rows", ValueError,
        r"scales has 7 rows but the prepacked weights hold 2 row tiles" if prepacked
        else r"^scales must have shape \(N, G\) = \(16, G\); got \(7, 2\)",
        _launch_with(v, scales=np.ones((7, 2), np.float16), zeros=None))
    row(f"{v.id}-zeros-shape", ValueError, r"^zeros must have shape \(16, 2\); got \(16, 4\)",
        _launch_with(v, zeros=u8(16, 4)))
    if prepacked:
        row(f"{v.id}-natural-layout-qweight", TypeError, r"^qweight must have dtype uint32, in .* fragment order .*prepack_w4",
            lambda v=v: v.launch(**problems.get("w4a16").inputs(*SHAPE, np.random.default_rng(0))))
for vid, kmult in [("dequant/v02_gemv_warp", 8), ("dequant/v03_gemv_vector", 32), ("dequant/v04_gemv_lop3", 32),
                   ("dequant/v05_gemm_wmma", 32)]:
    row(f"{vid}-K-not-multiple-of-{kmult}", ValueError, rf"needs K to be a multiple of {kmult} .*got K=12",
        lambda vid=vid: registry.get(vid).launch(**problems.get("w4a16").inputs(1, 8, 12, np.random.default_rng(0),
                                                                                 group_size=None)))
row("dequant/v01_gemv_numba-K-odd", ValueError, r"^K \(x\.shape\[1\]\)=3 must be a multiple of two int4 per byte",
    lambda: dequant.gemv_numba(np.ones((1, 3), np.float16), u8(8, 1), np.ones((8, 1), np.float16)))
row("dequant/v08_w8a16_gemv-K-not-multiple-of-16", ValueError, r"needs K to be a multiple of 16 .*got K=24",
    lambda: dequant.w8a16_gemv(np.ones((1, 24), np.float16), np.ones((8, 24), np.int8), np.ones((8, 1), np.float16)))
row("dequant/v08_w8a16_gemv-scales-per-group", ValueError, r"^scales must have shape \(8, 1\); got \(8, 2\)",
    lambda: dequant.w8a16_gemv(np.ones((1, 64), np.float16), np.ones((8, 64), np.int8), np.ones((8, 2), np.float16)))
row("dequant/v00_torch_int4-without-torch-or-gpu", UnsupportedDevice, r"dequant/v00_torch_int4 cannot run here: .*(torch|GPU)",
    lambda: dequant.torch_int4(np.ones((1, 256), np.float16), None, None, 128))
row("dequant.prepack_w4-float", TypeError, r"^qweight must have dtype uint8", lambda: dequant.prepack_w4(f32(8, 64)))
row("dequant.prepack_w4-1d", ValueError, r"^qweight must be 2-D", lambda: dequant.prepack_w4(u8(64)))

# int8 family specifics: K alignment per variant, int32 overflow, group sizes, offline layouts, small M.
A8 = problems.get("a8w8")
W48 = problems.get("w4a8")
for vid, kmult in [("int8/v01_dp4a_numba", 4), ("int8/v03_dp4a_gemm", 4), ("int8/v04_wmma", 16),
                   ("int8/v05_mma_m8n8k16", 16), ("int8/v06_mma_gemm", 16)]:
    row(f"{vid}-K-not-multiple-of-{kmult}", ValueError, rf"needs K to be a multiple of {kmult} .*got K=18",
        lambda vid=vid: registry.get(vid).launch(**A8.inputs(2, 8, 18, np.random.default_rng(0))))
row("int8/v06_mma_gemm-K-overflows-int32", ValueError, r"^K=131088 could overflow the int32 sums .*at most 131072",
    lambda: int8.mma_gemm(HugeNumpy((1, 131088), np.int8), np.ones((1, 1), np.float16),
                          HugeNumpy((8, 131088), np.int8), np.ones((8, 1), np.float16)))
row("int8/v02_dp4a_gemv-w_scale-per-group", ValueError, r"^w_scale must have shape \(16, 1\); got \(16, 2\)",
    _launch_with(registry.get("int8/v02_dp4a_gemv"), w_scale=np.ones((16, 2), np.float16)))
row("int8/v02_dp4a_gemv-x_scale-rows", ValueError, r"^x_scale must have shape \(2, 1\); got \(3, 1\)",
    _launch_with(registry.get("int8/v02_dp4a_gemv"), x_scale=np.ones((3, 1), np.float16)))
for vid, fix in [("int8/v07_w4a8_mma", "prepack_w4a8_mma"), ("int8/v08_w4a8_gemv", "prepack_w4a8_gemv")]:
    row(f"{vid}-natural-layout-qweight", TypeError, rf"^qweight must be uint32 in .*layout \(int8\.{fix}\(qweight\)\)",
        lambda vid=vid: registry.get(vid).launch(**W48.inputs(2, 16, 256, np.random.default_rng(0))))
    row(f"{vid}-K-not-multiple-of-32", ValueError, r"needs K to be a multiple of 32; got K=48",
        lambda vid=vid: registry.get(vid).launch(np.ones((1, 48), np.int8), np.ones((1, 1), np.float16),
                                                 np.zeros((8, 6), np.uint32), np.ones((8, 1), np.float16)))
    row(f"{vid}-scales-group-size-256/3", ValueError, r"scales imply a group size of K/G = 256/3",
        _launch_with(registry.get(vid), scales=np.ones((16, 3), np.float16)))
    row(f"{vid}-prepacked-shape", ValueError, r"^qweight must have shape",
        _launch_with(registry.get(vid), qweight=lambda a: np.ascontiguousarray(a[:1])))
row("int8.prepack_w4a8_gemv-K-not-multiple-of-32", ValueError, r"^W4A8 needs K to be a multiple of 32; got K=48",
    lambda: int8.prepack_w4a8_gemv(u8(8, 24)))
row("int8.prepack_w4a8_mma-float", TypeError, r"^qweight must have dtype uint8", lambda: int8.prepack_w4a8_mma(f32(8, 64)))
row("int8/v00_torch_int_mm-without-torch-or-gpu", UnsupportedDevice, r"int8/v00_torch_int_mm cannot run here: .*(torch|GPU)",
    lambda: int8.torch_int_mm(np.ones((32, 64), np.int8), None, np.ones((8, 64), np.int8), None))
returns("int8/v00_torch_int_mm-refuses-M-16", lambda: registry.get("int8/v00_torch_int_mm").supports(16), lambda r: r is False)
row("check.check_variant-int8-peer-M-16", ValueError, r"^int8/v00_torch_int_mm handles M from 17; got M=16",
    lambda: check.check_variant("int8/v00_torch_int_mm", 16, 8, 64))
row("int8.check_exact-wrong-format", ValueError, r"^check_exact takes a lab A8W8 variant; int8/v07_w4a8_mma is w4a8",
    lambda: int8.check_exact("int8/v07_w4a8_mma", 2, 8, 64))
for qid, x, exc, msg in [("nan", np.full((2, 8), np.nan, np.float16), ValueError, r"^x contains NaN or Inf"),
                         ("inf", np.full((2, 8), np.inf, np.float16), ValueError, r"^x contains NaN or Inf"),
                         ("float32", f32(2, 8), TypeError, r"^x must have dtype float16"),
                         ("1d", np.ones(8, np.float16), ValueError, r"^x must be 2-D"),
                         ("empty", np.ones((0, 8), np.float16), ValueError, r"^x must not be empty")]:
    row(f"int8.quantize_per_token-{qid}", exc, msg, lambda x=x: int8.quantize_per_token(x))
for vid, alt in [("int8/v06_mma_gemm", "int8/v05_mma_m8n8k16"), ("int8/v07_w4a8_mma", None)]:
    def _t4_call(vid=vid):
        v = registry.get(vid)
        if v.fmt == "a8w8":
            return v.launch(HugeCupy((4, 256), np.int8), HugeCupy((4, 1), np.float16), HugeCupy((16, 256), np.int8),
                            HugeCupy((16, 1), np.float16))
        return v.launch(HugeCupy((4, 256), np.int8), HugeCupy((4, 1), np.float16), HugeCupy((2, 2, 32, 4), np.uint32),
                        HugeCupy((16, 2), np.float16))
    row(f"{vid}-on-sm_75", UnsupportedDevice,
        r"needs cp\.async global->shared copies \(sm_80\+\); this GPU is Tesla T4 \(sm_75\)" + (rf"\. Use {alt}" if alt else ""),
        _t4_call, gpu=T4, needs_cupy=True)
returns("int8/v05_mma_m8n8k16-runnable-on-sm_75", lambda: registry.get("int8/v05_mma_m8n8k16").runnable(),
        lambda r: r[0] is True, gpu=T4)

# Numba kernels: a grid CUDA cannot launch, and work the simulator would take hours over, are refused
# before the output is allocated (the arrays here are small: it is M*N*K, or M alone, that is large).
for vid, launch, w in [("fp16/v01_naive_numba", fp16.naive_numba, lambda N, K: (np.ones((N, K), np.float16),)),
                       ("dequant/v01_gemv_numba", dequant.gemv_numba,
                        lambda N, K: (u8(N, K // 2, v=0x88), np.ones((N, 1), np.float16)))]:
    row(f"{vid}-grid-y-over-65535", ValueError, r"M is too large for one launch: grid\.y would be 65536 blocks \(CUDA allows 65535\)",
        lambda launch=launch, w=w: launch(np.ones((4 * 65535 + 1, 2), np.float16), *w(1, 2)))
    row(f"{vid}-simulator-work", ValueError, r"M\*N\*K = 4096\*4096\*2 = 33554432 multiply-adds is too much for the Numba CUDA simulator",
        lambda launch=launch, w=w: launch(np.ones((4096, 2), np.float16), *w(4096, 2)))
# CuPy kernels: grid limits are refused before the output is allocated (CuPy-typed stand-ins; with no
# driver here an allocation would fail with a CUDA error instead of the row's ValueError).
row("fp16/v02_naive-M-65536", ValueError, r"handles M up to 65535; got M=65536",
    lambda: fp16.naive(HugeCupy((65536, 64), np.float16), HugeCupy((8, 64), np.float16)), needs_cupy=True)
row("dequant/v05_gemm_wmma-grid-y", ValueError, r"M=4194304 is too large for one launch \(grid\.y <= 65535 tiles of 64\)",
    lambda: dequant.gemm_wmma(HugeCupy((64 * 65536, 256), np.float16), HugeCupy((16, 128), np.uint8),
                              HugeCupy((16, 2), np.float16)), gpu=A100, needs_cupy=True)
for vid, launch, m, msg in [("dequant/v06_mma_skinny", dequant.mma_skinny, 16 * 65536, r"M=1048576 is too large for v06"),
                            ("dequant/v07_gemm_mma", dequant.gemm_mma, 128 * 65536, r"M=8388608 is too large for one launch")]:
    row(f"{vid}-grid-y", ValueError, msg,
        lambda launch=launch, m=m: launch(HugeCupy((m, 256), np.float16), HugeCupy((2, 2, 32, 4), np.uint32),
                                          HugeCupy((16, 2), np.float16)), gpu=A100, needs_cupy=True)
    row(f"{vid}-M-2**31", ValueError, r"M \(x\.shape\[0\]\)=2147483648 does not fit",
        lambda launch=launch: launch(HugeCupy((2**31, 256), np.float16), HugeCupy((2, 2, 32, 4), np.uint32),
                                     HugeCupy((16, 2), np.float16)), gpu=A100, needs_cupy=True)

# Wrong architecture: a fake Tesla T4 (sm_75) is "here".
PREPACKED_ARGS = lambda: (HugeCupy((4, 256), np.float16), HugeCupy((2, 2, 32, 4), np.uint32),  # noqa: E731
                          HugeCupy((16, 2), np.float16))
row("dequant/v06_mma_skinny-on-sm_75", UnsupportedDevice,
    r"needs mma\.sync f16 m16n8k16 \(sm_80\+\); this GPU is Tesla T4 \(sm_75\)\. Use dequant/v04_gemv_lop3 instead",
    lambda: dequant.mma_skinny(*PREPACKED_ARGS()), gpu=T4, needs_cupy=True)
row("dequant/v07_gemm_mma-on-sm_75", UnsupportedDevice,
    r"needs cp\.async global->shared copies \(sm_80\+\); this GPU is Tesla T4 \(sm_75\)\. Use dequant/v05_gemm_wmma",
    lambda: dequant.gemm_mma(*PREPACKED_ARGS()), gpu=T4, needs_cupy=True)
for key, cap in device.CAPABILITIES.items():
    if not cap.available(T4.cc):
        row(f"device.require-{key}-on-sm_75", UnsupportedDevice,
            "^" + re.escape(f"the lesson needs {cap.description} ({cap.target}); this GPU is Tesla T4 (sm_75). "
                            f"Use the fallback instead"),
            lambda key=key: device.require(key, "the lesson", alternative="the fallback"), gpu=T4)
row("device.require-wgmma-on-sm_80", UnsupportedDevice, r"warpgroup MMA .*\(sm_90a\); this GPU is NVIDIA A100-SXM4-80GB \(sm_80\)",
    lambda: device.require("wgmma", "a Hopper kernel"), gpu=A100)
for vid in ("dequant/v06_mma_skinny", "dequant/v07_gemm_mma"):
    returns(f"{vid}-runnable-on-sm_75", lambda vid=vid: registry.get(vid).runnable(),
            lambda r: r[0] is False and "sm_80+" in r[1] and "Tesla T4 is sm_75" in r[1], gpu=T4)

# ------------------------------------------------------------------ device, specs
row("device.require-no-gpu", UnsupportedDevice, r"^a W4A16 GEMM needs a CUDA GPU: ", lambda: device.require("cp_async", "a W4A16 GEMM"))
row("device.require_gpu-no-gpu", UnsupportedDevice, r"^timing needs a CUDA GPU", lambda: device.require_gpu("timing"))
row("device.require-unknown-feature", ValueError, r"^unknown feature 'mma_fp9' \(did you mean 'mma_fp8'\?\)" + KNOWN + "dp4a'",
    lambda: device.require("mma_fp9", "x"))
row("device.require-feature-None", TypeError, r"^feature must be a string, one of 'dp4a'", lambda: device.require(None, "x"))
row("device.GPU.has-unknown", ValueError, r"^unknown feature 'tensor_cores'" + KNOWN, lambda: T4.has("tensor_cores"))
for cid, cc in [("str", "sm_90"), ("one-int", (9,)), ("three", (9, 0, 1)), ("None", None), ("floats", (9.0, 0.0)),
                ("negative", (-1, 0)), ("bools", (True, False))]:
    row(f"device.capabilities-cc-{cid}", TypeError, r"^cc must be a compute capability \(major, minor\), e\.g\. \(9, 0\)",
        lambda cc=cc: device.capabilities(cc))
row("device.arch-cc-str", TypeError, r"^cc must be a compute capability", lambda: device.arch("90"))
row("device.arch-cc-sm_90", TypeError, r"^cc must be a compute capability", lambda: device.arch("sm_90"))
for key in ("x100", "h100", "", "NVIDIA Z9000"):
    row(f"specs.spec-{key!r}", ValueError, rf"^unknown GPU {key!r}.*" + KNOWN + "t4', 'l4'", lambda key=key: specs.spec(key))
for bad in (None, 3, ("h100-sxm",)):
    row(f"specs.spec-{type(bad).__name__}", TypeError, r"^GPU must be a string, one of 't4'", lambda bad=bad: specs.spec(bad))
    row(f"specs.find_spec-{type(bad).__name__}", TypeError, r"^name_or_key must be a string", lambda bad=bad: specs.find_spec(bad))
returns("specs.find_spec-unknown-name", lambda: specs.find_spec("NVIDIA Z9000"), lambda r: r is None)
row("specs.GPUSpec.peak-unknown", ValueError, r"^unknown precision 'fp6'" + KNOWN + "fp16'", lambda: specs.spec("h100-sxm").peak("fp6"))

# ------------------------------------------------------------------ roofline
SIZES = [("0", 0, ValueError, "must be >= 1; got 0"), ("neg", -4, ValueError, "must be >= 1; got -4"),
         ("float", 2.0, TypeError, "must be an integer; got float 2.0"), ("bool", True, TypeError, "must be an integer; got bool"),
         ("str", "8", TypeError, "must be an integer; got str"), ("None", None, TypeError, "must be an integer; got NoneType"),
         ("nan", float("nan"), TypeError, "must be an integer; got float nan")]
for i, dim in enumerate("MNK"):
    for sid, val, exc, msg in SIZES:
        args = [4, 8, 16]
        args[i] = val
        row(f"roofline.bound-{dim}-{sid}", exc, rf"^{dim} {msg}", lambda a=tuple(args): rl.bound("fp16", *a, H100))
        row(f"roofline.bytes_moved-{dim}-{sid}", exc, rf"^{dim} {msg}", lambda a=tuple(args): rl.bytes_moved("w4a16", *a))
        row(f"roofline.flops-{dim}-{sid}", exc, rf"^{dim} {msg}", lambda a=tuple(args): rl.flops(*a))
for dim, i in (("N", 0), ("K", 1)):
    for sid, val, exc, msg in SIZES[:3]:
        a = [64, 64]
        a[i] = val
        row(f"roofline.ridge_m-{dim}-{sid}", exc, rf"^{dim} {msg}", lambda a=tuple(a): rl.ridge_m("fp16", *a, H100))
        row(f"roofline.crossovers-{dim}-{sid}", exc, rf"^{dim} {msg}", lambda a=tuple(a): rl.crossovers("fp16", "w4a16", *a, H100))
for fn_id, fn in [("bound", lambda f: rl.bound(f, 1, 8, 8, H100)), ("bytes_moved", lambda f: rl.bytes_moved(f, 1, 8, 8)),
                  ("ridge_m", lambda f: rl.ridge_m(f, 8, 8, H100)), ("crossovers-a", lambda f: rl.crossovers(f, "fp16", 8, 8, H100)),
                  ("crossovers-b", lambda f: rl.crossovers("fp16", f, 8, 8, H100)), ("get_format", rl.get_format)]:
    row(f"roofline.{fn_id}-unknown-format", ValueError, r"^unknown format 'int3'" + KNOWN + "fp16', 'w4a16'", lambda fn=fn: fn("int3"))
    row(f"roofline.{fn_id}-format-None", TypeError, r"^format must be a string, one of 'fp16'", lambda fn=fn: fn(None))
for cid, c in [("None", None), ("str", "h100-sxm"), ("dict", H100.to_json())]:
    row(f"roofline.bound-ceilings-{cid}", TypeError, r"^ceilings must be a Ceilings", lambda c=c: rl.bound("fp16", 1, 8, 8, c))
    row(f"roofline.ridge_m-ceilings-{cid}", TypeError, r"^ceilings must be a Ceilings", lambda c=c: rl.ridge_m("fp16", 8, 8, c))
    row(f"roofline.crossovers-ceilings-{cid}", TypeError, r"^ceilings must be a Ceilings",
        lambda c=c: rl.crossovers("fp16", "w4a16", 8, 8, c))
for field_, val in [("bw", 0.0), ("bw", float("nan")), ("bw", -1e12), ("alu", 0.0), ("ffma", float("inf"))]:
    row(f"roofline.bound-ceilings.{field_}={val}", ValueError, rf"^ceilings\.{field_} must be a finite rate > 0",
        lambda f=field_, v=val: rl.bound("w4a16", 64, 64, 64, dataclasses.replace(H100, **{f: v})))
for kw, exc, msg in [(dict(path="cublas"), ValueError, r"^unknown path 'cublas'" + KNOWN + "mma_sync', 'library'"),
                     (dict(group_size=0), ValueError, r"^group_size must be >= 1; got 0"),
                     (dict(group_size=1.5), TypeError, r"^group_size must be an integer"),
                     (dict(tile_m=0), ValueError, r"^tile_m must be >= 1; got 0"),
                     (dict(tile_m=-128), ValueError, r"^tile_m must be >= 1; got -128"),
                     (dict(tile_m=64.0), TypeError, r"^tile_m must be an integer"),
                     (dict(zeros="no"), TypeError, r"^zeros must be a bool; got str"),
                     (dict(zeros=1), TypeError, r"^zeros must be a bool; got int"),
                     (dict(alu="off"), TypeError, r"^alu must be a bool; got str")]:
    row(f"roofline.bound-{'-'.join(f'{k}={v!r}' for k, v in kw.items())}", exc, msg,
        lambda kw=kw: rl.bound("w4a16", 100, 64, 256, H100, **kw))
row("roofline.bound-no-fp4-mma-on-hopper", ValueError, r"NVIDIA H100 SXM5 80GB has no fp4 MMA rate \(mma_sync\); it has \['fp16'",
    lambda: H100.mma_rate("fp4"))
row("roofline.Ceilings.mma_rate-path", ValueError, r"^unknown path 'tensor'" + KNOWN, lambda: H100.mma_rate("fp16", "tensor"))
for mid, m, exc, msg in [("0", 0, ValueError, r"^m_max must be >= 1; got 0"), ("neg", -5, ValueError, r"^m_max must be >= 1; got -5"),
                         ("float", 1e4, TypeError, r"^m_max must be an integer; got float"),
                         ("bool", True, TypeError, r"^m_max must be an integer; got bool")]:
    row(f"roofline.crossovers-m_max-{mid}", exc, msg, lambda m=m: rl.crossovers("fp16", "w4a16", 64, 64, H100, m_max=m))
row("roofline.crossovers-path_b", ValueError, r"^unknown path 'x'" + KNOWN, lambda: rl.crossovers("fp16", "w4a16", 64, 64, H100, path_b="x"))
row("roofline.crossovers-unknown-keyword", TypeError, r"unexpected keyword argument 'foo'",
    lambda: rl.crossovers("fp16", "w4a16", 64, 64, H100, foo=1))
row("roofline.ridge_m-group_size-0", ValueError, r"^group_size must be >= 1", lambda: rl.ridge_m("w4a16", 64, 64, H100, group_size=0))
for fn_id, fn in [("ceilings_for", rl.ceilings_for), ("datasheet_ceilings", rl.datasheet_ceilings)]:
    row(f"roofline.{fn_id}-unknown-gpu", ValueError, r"^unknown GPU 'h900' \(did you mean 'h200'\?\)" + KNOWN + "t4'", lambda fn=fn: fn("h900"))
    row(f"roofline.{fn_id}-gpu-int", TypeError, r"^GPU must be a string, one of 't4'", lambda fn=fn: fn(5))
row("roofline.ceilings_for-source", ValueError, r"^unknown source 'guessed'" + KNOWN + "measured', 'datasheet'",
    lambda: rl.ceilings_for("h100-sxm", "guessed"))
row("roofline.measure_ceilings-no-gpu", UnsupportedDevice, r"^measuring ceilings needs a CUDA GPU", lambda: rl.measure_ceilings())

# ------------------------------------------------------------------ problems
P4 = problems.get("w4a16")
RNG = np.random.default_rng(0)
row("problems.get-unknown", ValueError, r"^unknown format 'w3a16' \(did you mean 'w8a16'\?\)" + KNOWN + "fp16'",
    lambda: problems.get("w3a16"))
row("problems.get-None", TypeError, r"^format must be a string, one of 'fp16'", lambda: problems.get(None))
for i, dim in enumerate("MNK"):
    for sid, val, exc, msg in SIZES:
        a = [1, 8, 128]
        a[i] = val
        row(f"problems.inputs-{dim}-{sid}", exc, rf"^{dim} {msg}", lambda a=tuple(a): P4.inputs(*a, RNG))
for hid, shape, what in [("M*K", (2**31, 1, 1), r"M\*K \(x\)"), ("N*K", (1, 2**20, 2**12), r"N\*K \(w\)"),
                         ("M*N", (2**20, 2**20, 1), r"M\*N \(the output\)"), ("2**40", (2**40, 8, 128), r"M\*K \(x\)")]:
    row(f"problems.inputs-huge-{hid}", ValueError, rf"is too large: {what} = \d+ elements, more than the 2147483647",
        lambda shape=shape: problems.get("fp16").inputs(*shape, RNG))
row("problems.inputs-K-not-multiple-of-group", ValueError, r"^K=100 must be a multiple of 128 for w4a16", lambda: P4.inputs(1, 8, 100, RNG))
row("problems.inputs-group_size-48", ValueError, r"^group_size must be 32, 64, 128 or None", lambda: P4.inputs(1, 8, 96, RNG, group_size=48))
row("problems.inputs-group_size-0", ValueError, r"^group_size must be 32, 64, 128 or None", lambda: P4.inputs(1, 8, 96, RNG, group_size=0))
row("problems.inputs-zeros-str", TypeError, r"^zeros must be a bool", lambda: P4.inputs(1, 8, 128, RNG, zeros="yes"))
row("problems.inputs-unknown-param", TypeError, r"^unknown parameter 'groupsize' for w4a16; known: 'group_size', 'zeros'",
    lambda: P4.inputs(1, 8, 128, RNG, groupsize=64))
row("problems.inputs-param-for-fp16", TypeError, r"^unknown parameter 'group_size' for fp16; known: none",
    lambda: problems.get("fp16").inputs(1, 8, 128, RNG, group_size=64))
for rid, r in [("None", None), ("int-seed", 5), ("legacy-RandomState", np.random.RandomState(0))]:
    row(f"problems.inputs-rng-{rid}", TypeError, r"^rng must be a numpy\.random\.Generator", lambda r=r: P4.inputs(1, 8, 128, r))


# ------------------------------------------------------------------ check
def _good(x, w, out=None):
    out[...] = (x.astype(np.float32) @ w.astype(np.float32).T).astype(np.float16)
    return out


def _rc(launch=_good, fmt="fp16", M=4, N=3, K=8, **kw):
    return lambda: check.run_check(launch, fmt, M, N, K, **{"impl": "numpy", **kw})


for i, dim in enumerate("MNK"):
    for sid, val, exc, msg in SIZES:
        a = dict(M=4, N=3, K=8)
        a[dim] = val
        row(f"check.run_check-{dim}-{sid}", exc, rf"^{dim} {msg}", _rc(**a))
        row(f"check.check_variant-{dim}-{sid}", exc, rf"^{dim} {msg}",
            lambda a=a: check.check_variant("fp16/v03_gemv_warp", a["M"], a["N"], a["K"]))
for kw, exc, msg in [
    (dict(fmt="fp32"), ValueError, r"^unknown format 'fp32'" + KNOWN + "fp16'"),
    (dict(impl="triton"), ValueError, r"^unknown impl 'triton'" + KNOWN + "numpy', 'cupy', 'numba', 'library'"),
    (dict(impl=None), TypeError, r"^impl must be a string"),
    (dict(impl="cupy"), UnsupportedDevice, r"^a cupy kernel needs a CUDA GPU to run"),
    (dict(impl="library"), UnsupportedDevice, r"^a library kernel needs a CUDA GPU to run"),
    (dict(seed=-1), ValueError, r"^seed must be >= 0; got -1"),
    (dict(seed="1"), TypeError, r"^seed must be an integer; got str"),
    (dict(seed=1.0), TypeError, r"^seed must be an integer; got float"),
    (dict(sample_rows=-1), ValueError, r"^sample_rows must be >= 0; got -1"),
    (dict(sample_rows=1.5), TypeError, r"^sample_rows must be an integer; got float"),
    (dict(tol=float("nan")), ValueError, r"^tol must be finite and > 0; got nan"),
    (dict(tol=float("inf")), ValueError, r"^tol must be finite and > 0; got inf"),
    (dict(tol=-1.0), ValueError, r"^tol must be finite and > 0; got -1\.0"),
    (dict(tol=0), ValueError, r"^tol must be finite and > 0; got 0"),
    (dict(tol="0.1"), TypeError, r"^tol must be a number; got str"),
    (dict(launch=None), TypeError, r"^launch must be a kernel launcher"),
    (dict(launch="fp16/v01_naive_numba"), TypeError, r"^launch must be a kernel launcher"),
    (dict(prepare=5), TypeError, r"^prepare must be a function of the inputs dict"),
    (dict(group_size=32), TypeError, r"^unknown parameter 'group_size' for fp16; known: none"),
    (dict(fmt="w4a16", K=100), ValueError, r"^K=100 must be a multiple of 128 for w4a16"),
    (dict(M=2**40), ValueError, r"is too large: M\*K \(x\)"),
    (dict(M=2**16, N=2**16, K=1), ValueError, r"is too large: M\*N \(the output\)"),
]:
    row(f"check.run_check-{'-'.join(f'{k}={v!r}' for k, v in kw.items())}", exc, msg, _rc(**kw))
# A launcher that raises TypeError/ValueError is re-raised (a bad argument); one that returns rubbish fails.
for rid, launch, why in [
    ("nan", lambda x, w, out: np.full((4, 3), np.nan, np.float16), r"12 NaN/Inf outputs"),
    ("inf", lambda x, w, out: np.full((4, 3), np.inf, np.float16), r"12 NaN/Inf outputs"),
    ("transposed", lambda x, w, out: np.zeros((3, 4), np.float16), r"output shape \(3, 4\), expected \(4, 3\)"),
    ("nothing-written", lambda x, w, out: None, r"NaN/Inf outputs \(never written"),
    ("str", lambda x, w, out: "abc", r"output is not a real numeric array \(dtype str"),
    ("object", lambda x, w, out: object(), r"output is not a real numeric array \(dtype object"),
    ("complex", lambda x, w, out: _good(x, w, out) * (1 + 1j), r"output is not a real numeric array \(dtype complex"),
    ("bool", lambda x, w, out: np.ones((4, 3), bool), r"output is not a real numeric array \(dtype bool"),
    ("zeros", lambda x, w, out: np.zeros((4, 3), np.float16), r"12 of 12 outputs wrong"),
    ("crash", lambda x, w, out: 1 / 0, r"the kernel raised ZeroDivisionError"),
]:
    returns(f"check.run_check-launch-returns-{rid}", lambda launch=launch: check.run_check(launch, "fp16", 4, 3, 8, impl="numpy"),
            lambda r, why=why: (not r.passed) and re.search(why, str(r)) is not None)


def _refuses(x, w, out=None):
    raise ValueError("the kernel's own argument check")


row("check.run_check-launch-raises-ValueError", ValueError, r"^the kernel's own argument check", _rc(launch=_refuses))
for vid, exc, msg in [("fp16/v99_magic", ValueError, r"^unknown variant 'fp16/v99_magic'" + KNOWN + "(.*')?fp16/v00_cublas'"),
                      (5, TypeError, r"^variant must be a variant id .* got int"), (None, TypeError, r"^variant must be a variant id"),
                      (fp16.naive, TypeError, r"^variant must be a variant id .* got function")]:
    row(f"check.check_variant-variant-{vid!r:.30}", exc, msg, lambda vid=vid: check.check_variant(vid, 1, 8, 8))
row("check.check_variant-M-above-max_m", ValueError, r"^fp16/v03_gemv_warp handles M up to 16; got M=17",
    lambda: check.check_variant("fp16/v03_gemv_warp", 17, 8, 8))
row("check.check_variant-cupy-no-gpu", UnsupportedDevice, r"^a cupy kernel needs a CUDA GPU", lambda: check.check_variant("fp16/v02_naive", 1, 8, 8))
row("check.check_variant-numba-K-not-multiple", ValueError, r"^K=100 must be a multiple of 128 for w4a16",
    lambda: check.check_variant("dequant/v01_gemv_numba", 1, 8, 100))
REF = np.arange(1.0, 7.0).reshape(2, 3)
for cid, kw, exc, msg in [
    ("tol-nan", dict(tol=float("nan")), ValueError, r"^tol must be finite and > 0"),
    ("tol-inf", dict(tol=float("inf")), ValueError, r"^tol must be finite and > 0"),
    ("tol-0", dict(tol=0.0), ValueError, r"^tol must be finite and > 0"),
    ("norm_tol-neg", dict(norm_tol=-1e-3), ValueError, r"^norm_tol must be finite and > 0"),
    ("norm_tol-None", dict(norm_tol=None), TypeError, r"^norm_tol must be a number"),
    ("ref-1d", dict(ref=np.ones(3)), ValueError, r"^ref must be a real 2-D array"),
    ("ref-3d", dict(ref=np.ones((2, 2, 2))), ValueError, r"^ref must be a real 2-D array"),
    ("ref-str", dict(ref=np.array([["a"]])), ValueError, r"^ref must be a real 2-D array"),
]:
    row(f"check.compare-{cid}", exc, msg, lambda kw=kw: check.compare(**{"out": REF, "ref": REF, "tol": 1e-3, "norm_tol": 1e-3, **kw}))
for cid, out, ref in [("nan-out", np.where(REF == 3, np.nan, REF), REF), ("nan-ref", REF, np.where(REF == 3, np.nan, REF)),
                      ("inf-out", np.where(REF == 3, np.inf, REF), REF), ("3d-out", np.ones((2, 3, 1)), REF),
                      ("str-out", np.array([["a"] * 3] * 2), REF), ("int-poison", np.full((2, 3), -128, np.int8), REF)]:
    returns(f"check.compare-fails-{cid}", lambda out=out, ref=ref: check.compare(out, ref, 1e-3, 1e-3), lambda r: r[0] is False)
for did, dt in [("bool", bool), ("object", object), ("str", "U3")]:
    row(f"check.poison-{did}", TypeError, r"^dtype must be a float or integer dtype to poison", lambda dt=dt: check.poison(np, (2, 2), dt))

# ------------------------------------------------------------------ registry
row("registry.get-unknown", ValueError, r"^unknown variant 'fp16/v04_magic'" + KNOWN, lambda: registry.get("fp16/v04_magic"))
row("registry.get-None", TypeError, r"^variant must be a string, one of", lambda: registry.get(None))
for kw, msg in [(dict(family="fp17"), r"^unknown family 'fp17' \(did you mean 'fp16'\?\)" + KNOWN + "fp16', 'dequant'"),
                (dict(fmt="w5a16"), r"^unknown fmt 'w5a16'.*" + KNOWN + "fp16', 'w4a16'"),
                (dict(op="gemvv"), r"^unknown op 'gemvv'.*" + KNOWN + "gemv', 'gemm'"),
                (dict(impl="triton"), r"^unknown impl 'triton'" + KNOWN + "cupy', 'numba', 'library'")]:
    row(f"registry.variants-{'-'.join(f'{k}={v}' for k, v in kw.items())}", ValueError, msg, lambda kw=kw: registry.variants(**kw))

# ------------------------------------------------------------------ bench (no GPU here, then a fake one)
for tid, kw in [("fn", dict(fn=lambda: None)), ("iters-0", dict(fn=lambda: None, iters=0)),
                ("not-callable", dict(fn=None)), ("arg_sets-empty", dict(fn=print, arg_sets=()))]:
    row(f"bench.time_kernel-no-gpu-{tid}", UnsupportedDevice, r"^timing needs a CUDA GPU", lambda kw=kw: bench.time_kernel(**kw))
for tid, kw, exc, msg in [("iters-0", dict(iters=0), ValueError, r"^iters must be >= 1; got 0"),
                          ("iters-float", dict(iters=1.5), TypeError, r"^iters must be an integer"),
                          ("warmup-neg", dict(warmup=-1), ValueError, r"^warmup must be >= 0; got -1"),
                          ("warmup-bool", dict(warmup=True), TypeError, r"^warmup must be an integer; got bool"),
                          ("arg_sets-empty", dict(arg_sets=()), ValueError, r"^arg_sets must hold at least one tuple"),
                          ("arg_sets-flat", dict(arg_sets=[1, 2]), TypeError, r"^arg_sets must be a sequence of argument tuples"),
                          ("fn-None", dict(fn=None), TypeError, r"^fn must be callable")]:
    row(f"bench.time_kernel-{tid}", exc, msg, lambda kw=kw: bench.time_kernel(**{"fn": lambda *a: None, **kw}), gpu=A100)

# ------------------------------------------------------------------ build (NVRTC needs no driver)
BAD_CU = "// a kernel with a typo on line 3\n__global__ void k(float* y) {\n    y[0] = 1.0f +;\n}\n"
row("build.compile_source-unknown-arch", ValueError, r"^unknown arch 'sm_99' \(did you mean 'sm_90'\?\)" + KNOWN + "sm_75'",
    lambda: build.compile_source("__global__ void k() {}", "sm_99"))
row("build.compile_source-arch-None", TypeError, r"^arch must be a string, one of 'sm_75'", lambda: build.compile_source("", None))
row("build.compile_source-arch-int", TypeError, r"^arch must be a string", lambda: build.compile_source("", 90))
row("build.compile_source-syntax-error-file:line", build.CompileError, r"compiling bad\.cu for sm_80 failed:\nbad\.cu\(3\): error",
    lambda: build.compile_source(BAD_CU, "sm_80", name="bad.cu"))
row("build.compile_source-bytes", TypeError, r"^source must be the CUDA C text as a str; got bytes \(decode the bytes first\)",
    lambda: build.compile_source(BAD_CU.encode(), "sm_80"))
row("build.compile_source-None", TypeError, r"^source must be the CUDA C text as a str; got NoneType", lambda: build.compile_source(None, "sm_80"))
row("build.compile_source-options-str", TypeError, r"^options must be a tuple of strings",
    lambda: build.compile_source("", "sm_80", options="-lineinfo"))
row("build.compile_file-missing", FileNotFoundError, r"^no CUDA source 'fp16/v99_missing\.cu' \(looked in .*kernels\)",
    lambda: build.compile_file("fp16/v99_missing.cu", "sm_80"))
row("build.compile_file-a-folder", FileNotFoundError, r"^no CUDA source 'fp16'", lambda: build.compile_file("fp16", "sm_80"))
row("build.compile_file-None", TypeError, r"^relpath must be a path \(str\) to a \.cu file; got NoneType",
    lambda: build.compile_file(None, "sm_80"))
row("build.compile_file-unknown-arch", ValueError, r"^unknown arch 'sm_91'" + KNOWN, lambda: build.compile_file("fp16/v02_naive.cu", "sm_91"))
row("build.compile_file-defines-list", TypeError, r"^defines\['ROWS'\] must be a str, int or float",
    lambda: build.compile_file("fp16/v03_gemv_warp.cu", "sm_80", {"ROWS": [4]}))
row("build.compile_file-defines-not-a-name", ValueError, r"^defines: '4ROWS' is not a C macro name",
    lambda: build.compile_file("fp16/v03_gemv_warp.cu", "sm_80", {"4ROWS": 4}))
row("build.compile_file-defines-list-type", TypeError, r"^defines must be a dict", lambda: build.compile_file("fp16/v02_naive.cu", "sm_80", [("A", 1)]))
row("build.compile_file-options-str", TypeError, r"^options must be a tuple of strings",
    lambda: build.compile_file("fp16/v02_naive.cu", "sm_80", options="-O3"))
row("build.load_module-no-gpu", UnsupportedDevice, r"^loading fp16/v02_naive\.cu needs a CUDA GPU", lambda: build.load_module("fp16/v02_naive.cu"))


@pytest.fixture(scope="module")
def bad_cu_file(tmp_path_factory):
    p = tmp_path_factory.mktemp("cu") / "student.cu"
    p.write_text(BAD_CU)
    return p


# ------------------------------------------------------------------ the grader (batch and its API)
def _grade_missing(tmp):
    res = batch.grade([tmp / "no_such_ex01.py"], tmp / "out", exercise="ex01", perf=False)
    out = json.loads((tmp / "out" / "no_such_ex01" / "results.json").read_text())
    return res, out


GRADER_ROWS = [
    ("grading.batch.grade-unknown-exercise", ValueError, r"^unknown exercise 'ex77'" + KNOWN + "ex01_unpack_int4'",
     lambda tmp: batch.grade([tmp / "s.py"], tmp / "o", exercise="ex77")),
    ("grading.batch.grade-no-submissions", ValueError, r"^submissions must name at least one file or folder",
     lambda tmp: batch.grade([], tmp / "o")),
    ("grading.batch.grade-jobs-0", ValueError, r"^jobs must be a positive integer; got 0",
     lambda tmp: batch.grade([tmp / "s.py"], tmp / "o", jobs=0)),
    ("grading.batch.grade-hidden_visibility", ValueError, r"^hidden_visibility must be one of",
     lambda tmp: batch.grade([tmp / "s.py"], tmp / "o", hidden_visibility="secret")),
    ("grading.batch.grade-out-under-a-file", NotADirectoryError, r"Not a directory: '.*afile/out'",
     lambda tmp: (tmp.joinpath("afile").write_text("x"), batch.grade([tmp / "s.py"], tmp / "afile" / "out", exercise="ex01"))),
    ("grading.get-unknown", ValueError, r"^unknown exercise 'ex7'" + KNOWN, lambda tmp: grading.get("ex7")),
]


# --------------------------------------------------------------------------
# The CLIs, as subprocesses: started together when the module's first row runs.
# --------------------------------------------------------------------------

#: (id, argv after python -m, expected exit status, regex on stderr's last line, stderr must be one line)
CLI_ROWS = [
    ("info-unknown-gpu", ["labkernels.cli", "info", "--gpu", "h900"], 2, r"^labkernels info: error: unknown GPU 'h900'.*known: 't4'", True),
    ("check-unknown-variant", ["labkernels.cli", "check", "fp16/v99_magic"], 2,
     r"^labkernels check: error: unknown variant 'fp16/v99_magic'( \(did you mean .*\))?; known: '(.*')?fp16/v00_cublas'", True),
    ("check-shape-zero", ["labkernels.cli", "check", "fp16/v02_naive", "--shape", "0", "5", "5"], 2,
     r"^labkernels check: error: --shape M must be >= 1; got 0", True),
    ("check-shape-negative-K", ["labkernels.cli", "check", "--shape", "1", "5", "-5"], 2,
     r"^labkernels check: error: --shape K must be >= 1; got -5", True),
    ("check-shape-huge", ["labkernels.cli", "check", "fp16/v01_naive_numba", "--shape", "100000", "100000", "100000"], 2,
     r"^labkernels check: error: --shape 100000 100000 100000 is too large", True),
    ("check-shape-simulator-work", ["labkernels.cli", "check", "fp16/v01_naive_numba", "--shape", "64", "4096", "512"], 2,
     r"^labkernels check: error: fp16 naive \(Numba\): M\*N\*K = .* too much for the Numba CUDA simulator", True),
    ("check-shape-two-numbers", ["labkernels.cli", "check", "--shape", "1", "2"], 2,
     r"^labkernels check: error: argument --shape: expected 3 arguments", False),
    ("check-shape-float", ["labkernels.cli", "check", "--shape", "1", "2", "3.5"], 2,
     r"^labkernels check: error: argument --shape: invalid int value: '3\.5'", False),
    ("check-seed-negative", ["labkernels.cli", "check", "--seed", "-1"], 2, r"^labkernels check: error: --seed must be >= 0", True),
    ("list-unknown-family", ["labkernels.cli", "list", "--family", "fp17"], 2, r"^labkernels list: error: unknown family 'fp17'.*known", True),
    ("ptx-unknown-arch", ["labkernels.cli", "ptx", "fp16/v02_naive", "--arch", "sm_91"], 2, r"^labkernels ptx: error: unknown arch 'sm_91'", True),
    ("no-command", ["labkernels.cli"], 2, r"^labkernels: error: the following arguments are required: cmd", False),
    ("grade-unknown-exercise", ["labkernels.cli", "grade", "{tmp}/sub.py", "--out", "{tmp}/o1", "--exercise", "ex77"], 2,
     r"^labkernels grade: error: unknown exercise 'ex77'" + KNOWN + "ex01_unpack_int4'", True),
    ("grade-out-under-a-file", ["labkernels.cli", "grade", "{tmp}/sub.py", "--out", "{tmp}/afile/out"], 2,
     r"^labkernels grade: error: \[Errno 20\] Not a directory: '.*afile/out'", True),
    ("grade-no-out", ["labkernels.cli", "grade", "{tmp}/sub.py"], 2, r"^labkernels grade: error: --out is required", True),
    ("grade-jobs-0", ["labkernels.cli", "grade", "{tmp}/sub.py", "--out", "{tmp}/o2", "--jobs", "0"], 2,
     r"^labkernels grade: error: jobs must be a positive integer; got 0", True),
    ("grading.cli-unknown-exercise", ["labkernels.grading.cli", "grade", "{tmp}/sub.py", "--out", "{tmp}/o3", "--exercise", "ex77"], 2,
     r"^labkernels grade: error: unknown exercise 'ex77'", True),
    # a submission that does not exist is graded 0 with the reason, and the batch says so (exit 0: it was graded)
    ("grade-nonexistent-submission", ["labkernels.cli", "grade", "{tmp}/missing_ex01.py", "--out", "{tmp}/o4", "--exercise", "ex01"],
     0, None, False),
]


@pytest.fixture(scope="module")
def cli_runs(tmp_path_factory):
    """Start every CLI row at once; rows wait for their own process."""
    tmp = tmp_path_factory.mktemp("cli")
    (tmp / "afile").write_text("a file, not a folder")
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    procs = {}
    for rid, argv, *_ in CLI_ROWS:
        args = [a.replace("{tmp}", str(tmp)) for a in argv]
        procs[rid] = subprocess.Popen([sys.executable, "-m", *args], cwd=tmp, env=env, text=True,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    yield tmp, procs
    for p in procs.values():
        if p.poll() is None:
            p.kill()
            p.wait()


# --------------------------------------------------------------------------
# The tests.
# --------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _alarm():
    """A row that runs past ROW_TIMEOUT_S fails (a hang), instead of stalling the suite."""
    if not hasattr(signal, "SIGALRM"):  # Windows: no alarm; the rows still run
        yield
        return

    def hang(signum, frame):
        raise TimeoutError(f"the call ran for over {ROW_TIMEOUT_S} s: a hang")

    old = signal.signal(signal.SIGALRM, hang)
    signal.alarm(ROW_TIMEOUT_S)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)


@pytest.fixture(scope="module", autouse=True)
def _start_clis(request):
    """Start the CLI subprocesses before the first row, so they run while the in-process rows do
    (only when some CLI row was selected)."""
    if any(item.name.startswith("test_cli_case") for item in request.session.items):
        request.getfixturevalue("cli_runs")


@pytest.mark.parametrize("r", ROWS, ids=[r.id for r in ROWS])
def test_case(r: Row, monkeypatch):
    if r.needs_cupy and not HAVE_CUPY:
        pytest.skip("CuPy is not installed: this launcher path imports it")
    if r.gpu is not None:
        monkeypatch.setattr(device, "gpu", lambda: r.gpu)
    if r.exc is None:
        result = r.fn()
        assert r.ok(result), f"{r.id}: unexpected result {result!r:.500}"
        return
    with pytest.raises(r.exc, match=r.match):
        r.fn()


def test_case_compile_file_with_a_syntax_error_names_file_and_line(bad_cu_file):
    # an absolute path works too (a student's copy): the message points at its own line 3
    with pytest.raises(build.CompileError, match=r"student\.cu\(3\): error"):
        build.compile_file(str(bad_cu_file), "sm_80")


@pytest.mark.parametrize("gid, exc, match, fn", GRADER_ROWS, ids=[g[0] for g in GRADER_ROWS])
def test_case_grader(gid, exc, match, fn, tmp_path):
    (tmp_path / "s.py").write_text("x = 1\n")
    with pytest.raises(exc, match=match):
        fn(tmp_path)


def test_case_grader_missing_submission_scores_zero_with_the_reason(tmp_path):
    res, out = _grade_missing(tmp_path)
    assert res.rows[0]["status"] == "unreadable" and res.complete
    assert out["score"] == 0 and "does not exist" in out["output"] and "no_such_ex01.py" in out["output"]


@pytest.mark.parametrize("rid, argv, status, match, one_line", CLI_ROWS, ids=[c[0] for c in CLI_ROWS])
def test_cli_case(rid, argv, status, match, one_line, cli_runs):
    tmp, procs = cli_runs
    out, err = procs[rid].communicate(timeout=ROW_TIMEOUT_S - 5)
    assert procs[rid].returncode == status, f"exit {procs[rid].returncode}\nstdout: {out[-2000:]}\nstderr: {err[-2000:]}"
    assert "Traceback" not in err and "Traceback" not in out, err
    if match is not None:
        lines = err.strip().splitlines()
        if one_line:
            assert len(lines) == 1, err
        assert re.search(match, lines[-1]), err
    if rid == "grade-nonexistent-submission":
        assert "1 unreadable" in out
        res = json.loads((tmp / "o4" / "missing_ex01" / "results.json").read_text())
        assert res["score"] == 0 and "does not exist" in res["output"]


def test_table_is_large():
    n = len(ROWS) + len(GRADER_ROWS) + len(CLI_ROWS) + 2  # + the two single cases
    assert n > 150, n
