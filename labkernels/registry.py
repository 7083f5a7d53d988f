"""One registry of every kernel variant.

The benchmark runner, the crossover sweep, the plots, the README tables, the
notebooks, the compile tests and the grader all read this list; a test fails
when a kernel file on disk is not registered here. Kernel families register
their variants when :func:`load_all` imports ``labkernels.kernels``.

A variant's ``launch`` takes the problem's input arrays by name (see
:mod:`labkernels.problems`) and an optional ``out=`` array, and returns the
output. It checks its arguments before launching.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Callable

from .errors import check_choice

IMPLS = ("cupy", "numba", "library")
OPS = ("gemv", "gemm")


@dataclass(frozen=True)
class Variant:
    id: str  #: "family/vNN_slug", e.g. "fp16/v03_gemv_warp"
    family: str
    fmt: str  #: a format of labkernels.problems / roofline (fp16, w4a16, ...)
    op: str  #: "gemv" (M <= max_m, one pass over the weights) or "gemm"
    impl: str  #: "cupy" (CUDA C via RawModule), "numba", or "library"
    launch: Callable = field(repr=False)
    description: str = ""
    source: str | None = None  #: .cu or .py path relative to labkernels/kernels
    archs: tuple[str, ...] = ()  #: NVRTC targets the source claims to compile for
    promises: tuple[str, ...] = ()  #: PTX substrings the lesson promises
    requires: str | None = None  #: a labkernels.device capability key
    specific: bool = False  #: needs the arch-specific target (sm_90a, sm_120a)
    max_m: int | None = None  #: largest M the variant accepts (GEMV variants)
    min_m: int = 1  #: smallest M the variant accepts (a library that refuses small M)
    defines: dict = field(default_factory=dict, hash=False, compare=False)
    reference: bool = False  #: a library peer (cuBLAS, torch) rather than a lab kernel
    bench_max_m: int | None = None  #: largest M worth timing (slow teaching rungs)
    numba_func: str | None = None  #: Numba: the Python kernel function in ``source``
    numba_sig: str | None = None  #: Numba: the signature compile tests build PTX for
    #: offline preparation of the inputs (a weight re-layout, a library's own packing),
    #: done once per input set, outside any timing: inputs dict -> inputs dict
    prepare: Callable | None = field(default=None, repr=False)
    #: what to time instead of ``launch`` (prepared inputs, no out=): library peers
    #: whose launch must also convert their result into the lab's output array
    timed: Callable | None = field(default=None, repr=False)
    #: an extra run-time requirement (e.g. torch installed): () -> (ok, why not)
    available: Callable | None = field(default=None, repr=False)
    #: elementwise tolerance when the variant computes at another precision than the
    #: problem (a library peer with bf16 activations, say); None: the problem's own
    tol: float | None = None
    #: the accumulator keeps about this many bits below the largest product it sums (Hopper's
    #: fp8 Tensor Cores: ~13-14, DeepSeek-V3 report), so the check also allows
    #: 2**-acc_bits * (largest |product|) per output; None: a full fp32 accumulator
    acc_bits: int | None = None
    #: the instruction path whose rate bounds it (runner.kernel_path), where ``requires`` names
    #: another: a mma.sync kernel that needs Hopper for its loads, say; None: the one it implies
    path: str | None = None

    @property
    def name(self) -> str:
        return self.id.split("/", 1)[1]

    def supports(self, M: int) -> bool:
        return M >= self.min_m and (self.max_m is None or M <= self.max_m)

    def m_range(self) -> str:
        """The M this variant accepts, in words (for error messages)."""
        lo = f"from {self.min_m}" if self.min_m > 1 else ""
        hi = f"up to {self.max_m}" if self.max_m is not None else ""
        return " ".join(p for p in (lo, hi) if p) or "any M"

    def runnable(self) -> tuple[bool, str]:
        """Whether this machine can run the variant, and if not, why."""
        from . import device, numba_compat

        g = device.gpu()
        if g is None:
            if self.impl == "numba" and numba_compat.simulator():
                return True, "Numba CUDA simulator"
            return False, f"needs a GPU ({device.why_no_gpu()})"
        if self.requires and not device.CAPABILITIES[self.requires].available(g.cc):
            cap = device.CAPABILITIES[self.requires]
            return False, f"needs {cap.description} ({cap.target}); {g.name} is sm_{g.cc[0]}{g.cc[1]}"
        if self.available is not None:
            return self.available()
        return True, "GPU"


_REGISTRY: dict[str, Variant] = {}
FAMILIES = ("fp16", "dequant", "int8", "fp8", "blockscaled")


def register(**kw) -> Variant:
    v = Variant(**kw)
    check_choice("impl", v.impl, IMPLS)
    check_choice("op", v.op, OPS)
    if v.id in _REGISTRY:
        raise ValueError(f"variant {v.id!r} registered twice")
    if not v.id.startswith(v.family + "/"):
        raise ValueError(f"variant id {v.id!r} must start with its family {v.family!r}/")
    _REGISTRY[v.id] = v
    return v


_loaded = False


def load_all() -> None:
    global _loaded
    if not _loaded:
        importlib.import_module("labkernels.kernels")
        _loaded = True


def variants(family: str | None = None, fmt: str | None = None, op: str | None = None,
             impl: str | None = None) -> list[Variant]:
    """Registered variants, in teaching order, optionally filtered."""
    load_all()
    # A filter naming no family/format/op/implementation is a typo, not an empty selection.
    if family is not None:
        family = check_choice("family", family, list(dict.fromkeys([*FAMILIES, *(v.family for v in _REGISTRY.values())])))
    op = None if op is None else check_choice("op", op, OPS)
    impl = None if impl is None else check_choice("impl", impl, IMPLS)
    if fmt is not None:
        from .roofline import FORMATS

        fmt = check_choice("fmt", fmt, list(dict.fromkeys([*FORMATS, *(v.fmt for v in _REGISTRY.values())])))
    out = [v for v in _REGISTRY.values()
           if (family is None or v.family == family) and (fmt is None or v.fmt == fmt)
           and (op is None or v.op == op) and (impl is None or v.impl == impl)]
    return sorted(out, key=lambda v: v.id)


def get(variant_id: str) -> Variant:
    load_all()
    return _REGISTRY[check_choice("variant", variant_id, _REGISTRY)]
