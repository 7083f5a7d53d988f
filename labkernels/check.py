"""Checking a kernel: fresh random inputs, a poisoned output, a float64 reference.

The rules every check follows (lab kernels, library peers and student
kernels alike):

* inputs are drawn fresh from a new seed on every call (the seed is reported,
  so a failure can be reproduced with ``seed=``);
* the output array is filled with NaN before the launch, so an element the
  kernel never wrote fails;
* the result is compared elementwise against a float64 reference with the
  format's tolerance (``tol · (|ref| + rms(ref))``) and normwise;
* NaN or Inf in the output never passes;
* the first mismatches are printed, at most ten, with their coordinates.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass, field

import numpy as np

from . import problems as _problems
from .errors import UnsupportedDevice, check_callable, check_choice, check_int, check_positive


@dataclass
class CheckResult:
    name: str
    fmt: str
    shape: tuple[int, int, int]
    passed: bool
    seed: int
    backend: str
    #: max over outputs of |out - ref| / (|ref| + rms(ref)), to compare with ``tol``
    max_rel_err: float = float("nan")
    norm_rel_err: float = float("nan")
    tol: float = 0.0
    norm_tol: float = 0.0
    n_bad: int = 0
    mismatches: list = field(default_factory=list)  # (m, n, got, want)
    message: str = ""

    def __bool__(self) -> bool:
        return self.passed

    def __str__(self) -> str:
        M, N, K = self.shape
        head = (f"{'PASS' if self.passed else 'FAIL'} {self.name} [{self.fmt}] M={M} N={N} K={K} "
                f"({self.backend}, seed {self.seed})")
        if self.max_rel_err != self.max_rel_err:  # NaN: nothing was compared (the kernel raised)
            return f"{head}: {self.message}"
        body = (f": max err {self.max_rel_err:.2e} (tol {self.tol:.1e}), "
                f"norm err {self.norm_rel_err:.2e} (tol {self.norm_tol:.1e})")
        if self.passed:
            return head + body + (f"; {self.message}" if self.message else "")
        lines = [head + body, f"  {self.n_bad} of {M * N} outputs wrong" + (f"; {self.message}" if self.message else "")]
        lines += [f"  Y[{m}, {n}] = {got!r}, expected {want!r}" for m, n, got, want in self.mismatches]
        return "\n".join(lines)


def poison(xp, shape, dtype):
    """An output array every element of which fails the check until written."""
    dtype = np.dtype(dtype)
    if dtype.kind not in "fiu":
        raise TypeError(f"dtype must be a float or integer dtype to poison; got {dtype.name}")
    if dtype.kind == "f":
        return xp.full(shape, np.nan, dtype=dtype)
    # Integer outputs: the most negative value, which no check accepts by accident
    # because references are drawn from random data (checked in compare()).
    return xp.full(shape, np.iinfo(dtype).min, dtype=dtype)


def compare(out: np.ndarray, ref: np.ndarray, tol: float, norm_tol: float, max_report: int = 10, slack=None,
            scale_floor: float = 0.0):
    """(passed, max_err_ratio, norm_err, n_bad, mismatches) of ``out`` against float64 ``ref``.

    ``slack`` (float64, ref's shape) is added to each element's allowed error: what an
    accumulator narrower than fp32 loses (:func:`accumulator_slack`). ``scale_floor``: the
    smallest output rms the errors are measured against (the problem's, see
    ``Problem.scale_floor``), so that one output, or a few, that happen to cancel do not
    demand more than the format has."""
    tol, norm_tol = check_positive("tol", tol), check_positive("norm_tol", norm_tol)
    ref = np.asarray(ref)
    if ref.ndim != 2 or ref.dtype.kind in "bcmMOSU":
        raise ValueError(f"ref must be a real 2-D array (the float64 reference); got {ref.dtype.name} "
                         f"shape {ref.shape}")
    ref = ref.astype(np.float64)
    o = np.asarray(out)
    try:  # strings, objects, complex, bool, dates: not an answer to compare
        if o.dtype.kind in "bcmMOSU":
            raise TypeError
        o = o.astype(np.float64)
    except (TypeError, ValueError):
        return (False, float("inf"), float("inf"), ref.size, [],
                f"output is not a real numeric array (dtype {o.dtype.name}, shape {o.shape})")
    if o.shape != ref.shape:
        return False, float("inf"), float("inf"), ref.size, [], f"output shape {o.shape}, expected {ref.shape}"
    finite = np.isfinite(o)
    scale = max(np.sqrt(np.mean(ref * ref)) if ref.size else 0.0, float(scale_floor))
    allowed = tol * (np.abs(ref) + scale)
    if slack is not None:
        allowed = allowed + np.asarray(slack, dtype=np.float64)
    err = np.abs(o - ref)
    bad = ~finite | (err > allowed)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(finite, err / np.maximum(allowed, np.finfo(np.float64).tiny), np.inf)
    nref = max(np.linalg.norm(ref), float(scale_floor) * np.sqrt(ref.size))
    norm_err = float(np.linalg.norm(np.where(finite, o - ref, np.inf)) / nref) if nref > 0 else float("inf")
    n_bad = int(bad.sum())
    idx = np.argwhere(bad)[:max_report]
    mism = [(int(i), int(j), float(o[i, j]), float(ref[i, j])) for i, j in idx]
    msg = "" if finite.all() else f"{int((~finite).sum())} NaN/Inf outputs (never written, or overflow)"
    passed = n_bad == 0 and norm_err <= norm_tol
    if n_bad == 0 and not passed:
        msg = f"normwise error {norm_err:.2e} exceeds {norm_tol:.1e}"
    return passed, float(ratio.max() * tol) if ratio.size else 0.0, norm_err, n_bad, mism, msg


def _backend_for(impl: str):
    """(array module, backend label) a launcher of this implementation takes."""
    from . import device, numba_compat

    impl = check_choice("impl", impl, ("numpy", "cupy", "numba", "library"))
    if impl == "numpy":  # a host function (CPU references, tests of the checker itself)
        return np, "CPU"
    if device.gpu() is not None:
        import cupy

        return cupy, "GPU"
    if impl == "numba" and numba_compat.simulator():
        return np, "Numba simulator"
    raise UnsupportedDevice(f"a {impl} kernel needs a CUDA GPU to run: {device.why_no_gpu()}")


def accumulator_slack(prob, inputs: dict, acc_bits: int | None, largest=None):
    """The extra error an accumulator with ``acc_bits`` bits below its largest product may make
    per output (None when it keeps a full fp32 sum): Hopper's fp8 Tensor Cores align each
    group's products to the largest and keep ~13-14 bits, so one large product (an e4m3 ±448)
    costs the small ones their low bits; the check allows 2**-acc_bits times a bound on that
    product, which is negligible next to the tolerance wherever no product stands out.
    ``largest``: ``prob.largest_product(inputs)`` when the caller already has it."""
    if acc_bits is None:
        return None
    if prob.largest_product is None:
        raise ValueError(f"acc_bits is set but the {prob.fmt} problem has no largest_product")
    if largest is None:
        largest = prob.largest_product(inputs)
    return 2.0 ** -check_int("acc_bits", acc_bits, min_value=1) * largest


def run_check(launch, fmt: str, M: int, N: int, K: int, *, name: str = "kernel", impl: str = "cupy",
              seed: int | None = None, sample_rows: int | None = None, prepare=None, tol: float | None = None,
              acc_bits: int | None = None, **params) -> CheckResult:
    """Check ``launch(**inputs, out=...)`` on fresh inputs of shape (M, N, K).

    ``sample_rows`` compares only that many randomly chosen rows of Y (every
    column, the first and last row always included): the float64 reference of
    a 16384-row product is minutes of CPU time, a sample of it is not.
    ``prepare`` transforms the inputs once before the launch (an offline weight
    re-layout); ``tol`` overrides the problem's elementwise tolerance; ``acc_bits`` allows
    for a narrow accumulator (:func:`accumulator_slack`).
    """
    M, N, K = (check_int(n, v, min_value=1) for n, v in (("M", M), ("N", N), ("K", K)))
    check_callable("launch", launch, "a kernel launcher, launch(**inputs, out=...)")
    if prepare is not None:
        check_callable("prepare", prepare, "a function of the inputs dict, or None")
    if sample_rows is not None:
        sample_rows = check_int("sample_rows", sample_rows, min_value=0)
    if tol is not None:
        tol = check_positive("tol", tol)
    prob = _problems.get(fmt)
    seed = secrets.randbits(63) if seed is None else check_int("seed", seed, min_value=0)
    xp, backend = _backend_for(impl)
    rng = np.random.default_rng(seed)
    host = prob.inputs(M, N, K, rng, **params)
    rows = None
    if sample_rows is not None and sample_rows < M:
        rows = np.unique(np.concatenate([[0, M - 1], rng.choice(M, size=sample_rows, replace=False)]))
        ref = prob.reference(prob.select_rows(host, rows))
        slack = accumulator_slack(prob, prob.select_rows(host, rows), acc_bits)
    else:
        ref = prob.reference(host)
        slack = accumulator_slack(prob, host, acc_bits)
    dev = {k: (xp.asarray(v) if isinstance(v, np.ndarray) else v) for k, v in host.items()}
    out = poison(xp, (M, N), prob.out_dtype)
    tol = prob.tol if tol is None else tol
    res = CheckResult(name=name, fmt=fmt, shape=(M, N, K), passed=False, seed=seed, backend=backend,
                      tol=tol, norm_tol=max(prob.norm_tol, tol))
    return launch_and_compare(res, launch, dev, out, ref, rows, prepare=prepare, slack=slack)


def launch_and_compare(res: CheckResult, launch, inputs: dict, out, ref: np.ndarray, rows=None, *,
                       prepare=None, slack=None) -> CheckResult:
    """Launch into the poisoned ``out`` and compare with the float64 ``ref``; fill and return ``res``.

    ``ref`` holds rows ``rows`` of Y (all rows when ``rows`` is None). A mistake
    in the arguments (TypeError, ValueError, UnsupportedDevice) propagates; any
    other exception inside the kernel is a failed check, not a crashed checker.
    """
    M, N = res.shape[0], res.shape[1]
    try:
        if prepare is not None:
            inputs = prepare(inputs)
        got = launch(**inputs, out=out)
    except (TypeError, ValueError, UnsupportedDevice):
        raise
    except Exception as e:
        res.message = f"the kernel raised {type(e).__name__}: {e}"
        return res
    if got is None:
        got = out
    if type(got).__module__.split(".")[0] == "cupy":
        import cupy

        cupy.cuda.get_current_stream().synchronize()
        got = cupy.asnumpy(got)
    got = np.asarray(got)
    if rows is not None and got.shape == (M, N):
        got = got[rows]
    floor = _problems.PROBLEMS[res.fmt].scale_floor if res.fmt in _problems.PROBLEMS else 0.0
    ok, max_err, norm_err, n_bad, mism, msg = compare(got, ref, res.tol, res.norm_tol, slack=slack, scale_floor=floor)
    if rows is not None:
        mism = [(int(rows[i]), j, g, w) for i, j, g, w in mism]
        msg = (msg + "; " if msg else "") + f"{len(rows)} of {M} rows compared"
    res.passed, res.max_rel_err, res.norm_rel_err, res.n_bad, res.mismatches, res.message = (
        ok, max_err, norm_err, n_bad, mism, msg)
    return res


def check_variant(variant, M: int, N: int, K: int, *, seed: int | None = None, sample_rows: int | None = None,
                  **params) -> CheckResult:
    """Check a registered variant (a :class:`labkernels.registry.Variant` or its id)."""
    from . import registry

    if isinstance(variant, str):
        v = registry.get(variant)
    elif isinstance(variant, registry.Variant):
        v = variant
    else:
        raise TypeError(f"variant must be a variant id such as 'fp16/v01_naive_numba' or a registry.Variant; "
                        f"got {type(variant).__name__}")
    M, N, K = (check_int(n, val, min_value=1) for n, val in (("M", M), ("N", N), ("K", K)))
    if not v.supports(M):
        raise ValueError(f"{v.id} handles M {v.m_range()}; got M={M}")
    return run_check(v.launch, v.fmt, M, N, K, name=v.id, impl=v.impl, seed=seed, sample_rows=sample_rows,
                     prepare=v.prepare, tol=v.tol, acc_bits=v.acc_bits, **params)
