"""What GPU is here (or none), what it can run, and what it is rated for.

Nothing here touches CUDA at import time: ``import labkernels`` must work on a
laptop, a CI runner or a Colab CPU runtime with no driver at all. The GPU is
looked for the first time something asks (:func:`gpu`), through CuPy.

The capability table says which instruction each lesson needs and from which
architecture it exists; :func:`require` turns a missing one into an
:class:`~labkernels.errors.UnsupportedDevice` that names the GPU, the
instruction and the way out.
"""
from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field

from .errors import UnsupportedDevice, check_choice
from . import specs as _specs

# --------------------------------------------------------------------------
# Capability table: feature -> (predicate on compute capability, explanation).
# "a" targets (sm_90a, sm_100a, sm_120a) exist only on that exact family, so
# their features are tests for equality, not ">=".
# Sources: PTX ISA (mma.sync shapes per target), CUTLASS arch/mma_sm*.h.
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Capability:
    key: str
    description: str
    min_cc: tuple[int, int]
    only: tuple[tuple[int, int], ...] = ()  # arch-specific ("a") targets: exactly these
    ptx: str = ""  # the instruction as it appears in PTX

    def available(self, cc: tuple[int, int]) -> bool:
        if self.only:
            return tuple(cc) in self.only
        return tuple(cc) >= self.min_cc

    @property
    def target(self) -> str:
        if self.only:
            return " or ".join(f"sm_{a}{b}a" for a, b in self.only)
        return f"sm_{self.min_cc[0]}{self.min_cc[1]}+"


CAPABILITIES: dict[str, Capability] = {
    c.key: c
    for c in [
        Capability("dp4a", "4-way int8 dot product on CUDA cores", (6, 1), ptx="dp4a.s32.s32"),
        Capability("wmma_f16", "WMMA fp16 16x16x16", (7, 0), ptx="wmma.mma.sync"),
        Capability("wmma_s8", "WMMA int8 16x16x16", (7, 2), ptx="wmma.mma.sync.aligned.row.col.m16n16k16.s32.s8.s8.s32"),
        Capability("ldmatrix", "ldmatrix shared->register fragments", (7, 5), ptx="ldmatrix.sync.aligned"),
        Capability("mma_f16_m16n8k8", "mma.sync f16 m16n8k8", (7, 5), ptx="mma.sync.aligned.m16n8k8"),
        Capability("mma_s8_m8n8k16", "mma.sync s8 m8n8k16", (7, 5), ptx="mma.sync.aligned.m8n8k16"),
        Capability("mma_f16_m16n8k16", "mma.sync f16 m16n8k16", (8, 0), ptx="mma.sync.aligned.m16n8k16"),
        Capability("mma_s8_m16n8k32", "mma.sync s8 m16n8k32", (8, 0), ptx="mma.sync.aligned.m16n8k32"),
        Capability("cp_async", "cp.async global->shared copies", (8, 0), ptx="cp.async"),
        # On sm_90 ptxas accepts it but emulates it (F2FP unpack to f16 + 2x HMMA.16816): only
        # wgmma reaches Hopper's fp8 Tensor Core rate. Native (QMMA) on sm_89 and sm_120.
        Capability("mma_fp8", "mma.sync e4m3/e5m2 m16n8k32", (8, 9), ptx="mma.sync.aligned.m16n8k32.row.col.f32.e4m3.e4m3.f32"),
        Capability("cvt_fp8", "cvt to/from e4m3x2/e5m2x2", (8, 9), ptx="cvt.rn.satfinite.e4m3x2.f32"),
        Capability("tma", "bulk tensor copies (cp.async.bulk.tensor)", (9, 0), ptx="cp.async.bulk.tensor"),
        Capability("wgmma", "warpgroup MMA (sm_90a only)", (9, 0), only=((9, 0),), ptx="wgmma.mma_async"),
        Capability("cvt_fp4", "cvt to/from e2m1x2", (10, 0), ptx="cvt.rn.satfinite.e2m1x2.f32"),
        Capability("tcgen05", "5th-gen Tensor Core MMA incl. block scaling (sm_100a)", (10, 0), only=((10, 0), (10, 3)), ptx="tcgen05.mma"),
        Capability("mma_block_scale", "mma.sync with block scaling, kind::mxf8f6f4 / mxf4nvf4 (sm_120a)", (12, 0), only=((12, 0), (12, 1)), ptx="block_scale"),
    ]
}


def check_cc(cc) -> tuple[int, int]:
    """``cc`` must be a compute capability ``(major, minor)`` of two non-negative ints, e.g. ``(9, 0)``."""
    import numbers

    ok = (isinstance(cc, (tuple, list)) and len(cc) == 2
          and all(isinstance(v, numbers.Integral) and not isinstance(v, bool) and v >= 0 for v in cc))
    if not ok:
        raise TypeError(f"cc must be a compute capability (major, minor), e.g. (9, 0) for sm_90; got {cc!r}")
    return int(cc[0]), int(cc[1])


def capabilities(cc: tuple[int, int]) -> dict[str, bool]:
    """Which capabilities a GPU of compute capability ``cc`` has."""
    cc = check_cc(cc)
    return {k: c.available(cc) for k, c in CAPABILITIES.items()}


def arch(cc: tuple[int, int], *, specific: bool = False) -> str:
    """The NVRTC target for ``cc``; ``specific`` asks for the arch-specific "a" target."""
    a, b = check_cc(cc)
    suffix = "a" if specific and (a, b) >= (9, 0) else ""
    return f"sm_{a}{b}{suffix}"


# --------------------------------------------------------------------------
# Detection.
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class GPU:
    """The GPU this process uses (CuPy's current device)."""

    index: int
    name: str
    cc: tuple[int, int]
    sms: int
    l2_bytes: int
    mem_bytes: int
    clock_mhz: float
    driver: str
    runtime: str
    spec: "_specs.GPUSpec | None" = field(default=None, repr=False)

    @property
    def arch(self) -> str:
        return arch(self.cc)

    def has(self, feature: str) -> bool:
        return CAPABILITIES[check_choice("feature", feature, CAPABILITIES)].available(self.cc)


def _cuda_version(v: int) -> str:
    return f"{v // 1000}.{(v % 1000) // 10}"


_no_gpu_reason: str | None = None


def _import_torch_first() -> None:
    """Import torch (the library peers), where installed, before CuPy and Numba load their CUDA
    libraries; this probe is where the lab first loads them. Imported after them, torch has failed
    half-way on the GPU machines ("partially initialized module"), and a process that then used both
    (the ceilings' library rates, the peers) crashed at interpreter exit."""
    try:
        import torch  # noqa: F401
    except Exception:  # not installed (the peers say so when asked), or an install that fails to import
        pass


@functools.lru_cache(maxsize=None)
def gpu() -> GPU | None:
    """The GPU here, or ``None`` (see :func:`why_no_gpu`). Never raises."""
    global _no_gpu_reason
    if os.environ.get("LABKERNELS_NO_GPU"):
        _no_gpu_reason = "LABKERNELS_NO_GPU is set"
        return None
    _import_torch_first()
    try:
        import cupy
    except Exception as e:  # ImportError, or a CuPy built for another CUDA
        _no_gpu_reason = f"CuPy is not importable ({type(e).__name__}: {e}); install labkernels[cuda12] or [cuda13]"
        return None
    try:
        n = cupy.cuda.runtime.getDeviceCount()
        if n == 0:
            _no_gpu_reason = "the CUDA driver reports no GPU"
            return None
        dev = cupy.cuda.Device()
        p = cupy.cuda.runtime.getDeviceProperties(dev.id)
        name = p["name"].decode() if isinstance(p["name"], bytes) else str(p["name"])
        g = GPU(
            index=dev.id,
            name=name,
            cc=(int(p["major"]), int(p["minor"])),
            sms=int(p["multiProcessorCount"]),
            l2_bytes=int(p["l2CacheSize"]),
            mem_bytes=int(p["totalGlobalMem"]),
            clock_mhz=float(p.get("clockRate", 0)) / 1000.0,
            driver=_cuda_version(cupy.cuda.runtime.driverGetVersion()),
            runtime=_cuda_version(cupy.cuda.runtime.runtimeGetVersion()),
            spec=_specs.find_spec(name),
        )
        return g
    except Exception as e:  # no driver, driver too old, no device visible
        _no_gpu_reason = f"no usable CUDA GPU ({type(e).__name__}: {e})"
        return None


def why_no_gpu() -> str:
    """Why :func:`gpu` returned ``None`` (empty string when there is a GPU)."""
    return "" if gpu() is not None else (_no_gpu_reason or "no GPU")


def has_gpu() -> bool:
    return gpu() is not None


def require_gpu(what: str) -> GPU:
    """The GPU, or an :class:`UnsupportedDevice` saying that ``what`` needs one."""
    g = gpu()
    if g is None:
        raise UnsupportedDevice(f"{what} needs a CUDA GPU: {why_no_gpu()}")
    return g


def require(feature: str, what: str, *, alternative: str = "") -> GPU:
    """The GPU, if it has ``feature``; else an :class:`UnsupportedDevice` naming the way out."""
    cap = CAPABILITIES[check_choice("feature", feature, CAPABILITIES)]
    g = require_gpu(what)
    if not cap.available(g.cc):
        fix = f" Use {alternative} instead." if alternative else ""
        raise UnsupportedDevice(
            f"{what} needs {cap.description} ({cap.target}); this GPU is {g.name} "
            f"(sm_{g.cc[0]}{g.cc[1]}).{fix}"
        )
    return g


def versions() -> dict[str, str | None]:
    """Versions of the packages a measurement depends on (``None`` if absent)."""
    from importlib import metadata

    out: dict[str, str | None] = {}
    for pkg in ["labkernels", "numpy", "cupy-cuda13x", "cupy-cuda12x", "cupy", "numba", "numba-cuda",
                "cuda-bindings", "ml_dtypes", "torch", "matplotlib"]:
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            pass
    import platform

    out["python"] = platform.python_version()
    g = gpu()
    if g is not None:
        out["driver_cuda"] = g.driver
        out["runtime_cuda"] = g.runtime
        out["driver"] = driver_version()
    return out


@functools.lru_cache(maxsize=None)
def driver_version() -> str | None:
    """The NVIDIA driver's version string (e.g. ``580.159.04``) where nvidia-smi or NVML answers."""
    import shutil
    import subprocess

    smi = shutil.which("nvidia-smi")
    if not smi:
        return None
    try:
        r = subprocess.run([smi, "--query-gpu=driver_version", "--format=csv,noheader"],
                           capture_output=True, text=True, timeout=20)
        return r.stdout.strip().splitlines()[0] if r.returncode == 0 and r.stdout.strip() else None
    except Exception:
        return None
