"""The three-ceiling roofline: bytes, MMA and dequant ALU work per format.

For ``Y[M, N] = X[M, K]·W[N, K]ᵀ`` in format ``f`` on a GPU with ceilings ``c``:

* **memory**  ``t_mem = bytes / BW`` with the fewest bytes the kernel must
  move: activations, packed weights, their scales and zero points, the
  output, each once (:func:`bytes_moved`);
* **MMA**     ``t_mma = 2·M·N·K / P[p]`` at the precision ``p`` the MMA
  actually executes on this GPU (fp16 for A16W4, int8 for A8W8, fp8 for FP8
  and emulated MXFP8 on sm_89+, fp4 only natively on Blackwell);
* **ALU**     ``t_alu`` = the CUDA-core instructions spent turning stored
  values into MMA operands (per weight element, once per M-tile that re-reads
  it) and rescaling partial sums (per M·N·K/block), over the measured integer
  and FP32 instruction rates.

The bound is the largest of the three (perfect overlap); ``serial_us`` adds
MMA and ALU, the time when dequantization does not overlap the MMAs at all.
The measured kernel lands between the two; where it falls says how well the
dequant is hidden. The ideal two-ceiling roofline is the same model with the
ALU term dropped (``alu=False``).

Ceilings come from measurement (:func:`measure_ceilings` on a GPU; committed
measurements in ``labkernels/data/ceilings``) or, without a GPU, from the
datasheet table in :mod:`labkernels.specs`, labelled as such.
"""
from __future__ import annotations

import json
import math
import numbers
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from . import specs as _specs
from .errors import check_choice, check_int

DATA_DIR = Path(__file__).resolve().parent / "data" / "ceilings"

# --------------------------------------------------------------------------
# Formats: bits moved, MMA precision executed, ALU instructions spent.
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Execution:
    """How a format runs on one GPU: the MMA precision and the ALU work around it."""

    mma: str  #: "fp16", "int8", "fp8" or "fp4"
    alu_w: float = 0.0  #: integer/half instructions per weight element per M-tile (dequant)
    alu_a: float = 0.0  #: instructions per activation element per N-tile (activation decode)
    fp_mnk: float = 0.0  #: FP32 instructions per M·N·K (rescaling partial sums per block)
    native: bool = True  #: False where the format is emulated around another MMA
    label: str = ""


@dataclass(frozen=True)
class Format:
    key: str
    description: str
    a_bits: float  #: bits per activation element, its scales included
    w_bits: float  #: bits per weight element, scales and zero points included (default group)
    out_bits: float = 16.0
    group_size: int | None = None  #: the default group / block along K
    tile_m: int = 128  #: rows of M that share one dequantized tile of W in the lab's GEMM
    tile_n: int = 128

    def weight_bits(self, group_size: int | None = None, zeros: bool = False) -> float:
        """Bits per weight for another group size (int formats: fp16 scale, 8-bit zero point)."""
        if self.key not in ("w4a16", "w8a16", "w4a8") or group_size is None:
            return self.w_bits
        base = 4.0 if self.key in ("w4a16", "w4a8") else 8.0
        g = check_int("group_size", group_size, min_value=1)
        return base + 16.0 / g + (8.0 / g if zeros else 0.0)

    def execution(self, cc: tuple[int, int]) -> Execution:
        return _EXECUTION[self.key](tuple(cc))


FORMATS: dict[str, Format] = {f.key: f for f in [
    Format("fp16", "fp16 activations and weights", 16, 16),
    Format("w4a16", "int4 weights (group 128, fp16 scales), fp16 activations", 16, 4 + 16 / 128, group_size=128),
    Format("w8a16", "int8 weights (per-channel fp16 scales), fp16 activations", 16, 8, group_size=None),
    Format("a8w8", "int8 weights (per-channel) and activations (per-token), fp16 scales", 8, 8),
    Format("w4a8", "int4 weights (group 128), int8 activations (per-token)", 8, 4 + 16 / 128, group_size=128),
    Format("fp8", "e4m3 weights and activations, fp32 per-token / per-channel scales", 8, 8),
    Format("mxfp8", "MXFP8 e4m3, E8M0 scale per 32 along K (both operands)", 8.25, 8.25, group_size=32),
    Format("mxfp4", "MXFP4 e2m1, E8M0 scale per 32 along K (both operands)", 4.25, 4.25, group_size=32),
    Format("nvfp4", "NVFP4 e2m1, E4M3 scale per 16 along K + fp32 per tensor (both operands)", 4.5, 4.5,
           group_size=16),
]}

# The ALU counts below are instruction counts of the lab's own dequant paths
# (per element), so the model predicts the lab's kernels, not an ideal one:
#   int4 -> fp16 with the lop3 "magic number" trick: per 8 weights 4 lop3,
#     1 shift and 4 hfma2 (zero point and scale folded in)   ~ 9/8 per weight
#   int8 -> fp16: per 4 weights 2 prmt + 2 hfma2               ~ 1 per weight
#   int4 -> int8 (W4A8): per 8 weights 1 shift + 2 lop3          ~ 3/8 per weight
#   W4A8 group scales: per group of 128 k, 1 I2F + 1 FFMA per output = 2/128 per M·N·K
#   fp8  -> fp16 below sm_89: cvt per pair                     ~ 0.5 per element
#   e2m1 -> e4m3: per 8 elements ~4 lop3/prmt                  ~ 0.5 per element
#   MX per-block rescale: per 32 k, 1 FMUL + 1 FFMA per output = 2/32 per M·N·K (blockscaled/v04)
_EXECUTION = {
    "fp16": lambda cc: Execution("fp16"),
    "w4a16": lambda cc: Execution("fp16", alu_w=9 / 8, native=False, label="int4->fp16 lop3 dequant"),
    "w8a16": lambda cc: Execution("fp16", alu_w=1.0, native=False, label="int8->fp16 dequant"),
    "a8w8": lambda cc: Execution("int8"),
    "w4a8": lambda cc: Execution("int8", alu_w=3 / 8, fp_mnk=2 / 128, native=False,
                                label="int4->int8 unpack, fp32 group rescale"),
    "fp8": lambda cc: (Execution("fp8") if cc >= (8, 9) else
                       Execution("fp16", alu_w=0.5, alu_a=0.5, native=False, label="fp8->fp16 (no fp8 MMA)")),
    "mxfp8": lambda cc: (Execution("fp8", label="native block-scaled MMA") if cc in ((10, 0), (10, 3), (12, 0), (12, 1))
                         else Execution("fp8", fp_mnk=2 / 32, native=False, label="fp8 MMA per block + FP32 rescale")
                         if cc >= (8, 9) else
                         Execution("fp16", alu_w=0.75, alu_a=0.75, native=False, label="decode to fp16")),
    "mxfp4": lambda cc: (Execution("fp4", label="native block-scaled MMA") if cc in ((10, 0), (10, 3), (12, 0), (12, 1))
                         else Execution("fp8", alu_w=0.5, alu_a=0.5, fp_mnk=2 / 32, native=False,
                                        label="e2m1->e4m3, fp8 MMA per block + FP32 rescale") if cc >= (8, 9) else
                         Execution("fp16", alu_w=1.0, alu_a=1.0, native=False, label="decode to fp16")),
    "nvfp4": lambda cc: (Execution("fp4", label="native block-scaled MMA") if cc in ((10, 0), (10, 3), (12, 0), (12, 1))
                         else Execution("fp16", alu_w=1.0, alu_a=1.0, native=False,
                                        label="e2m1*e4m3 -> fp16 (exact), fp16 MMA")),
}


def get_format(fmt: str) -> Format:
    return FORMATS[check_choice("format", fmt, FORMATS)]


# --------------------------------------------------------------------------
# Ceilings.
# --------------------------------------------------------------------------

MMA_PRECISIONS = ("fp16", "int8", "fp8", "fp4")
#: Whose rate bounds a kernel's multiply-adds: the lab's ``mma.sync`` kernels (measured
#: microbenchmark), the vendor library (measured GEMM), Hopper's ``wgmma`` (measured
#: microbenchmark; the datasheet dense peak where none was measured), ``wmma`` (measured
#: microbenchmark of the portable fragment API) or ``dp4a`` (int8 dot products on the CUDA
#: cores, no Tensor Cores at all). Each is a ceiling of its own: a kernel is held to the
#: rate of the instruction it is built on.
PATHS = ("mma_sync", "library", "wgmma", "wmma", "dp4a")


@dataclass(frozen=True)
class Ceilings:
    """What one GPU can do, in bytes/s, ops/s and instructions/s."""

    gpu: str  #: marketing or CUDA name
    key: str  #: spec-table key, or "" when unknown
    cc: tuple[int, int]
    source: str  #: "measured" or "datasheet"
    bw: float  #: memory bandwidth, bytes/s (copy: read + written)
    mma: dict  #: precision -> ops/s reachable with mma.sync (the lab's path)
    library: dict  #: precision -> ops/s the vendor library reaches
    alu: float  #: integer (lop3-class) instructions/s, all SMs
    ffma: float  #: FP32 FMA instructions/s, all SMs
    notes: str = ""
    provenance: dict = field(default_factory=dict)
    wgmma: dict = field(default_factory=dict)  #: precision -> ops/s of Hopper's warpgroup MMA
    wmma: dict = field(default_factory=dict)  #: precision -> ops/s of the WMMA fragment API
    dp4a: float = 0.0  #: int8 ops/s of dp4a on the CUDA cores (8 per instruction)

    def mma_rate(self, precision: str, path: str = "mma_sync") -> float:
        """ops/s of ``precision`` multiply-adds on instruction path ``path`` (see PATHS)."""
        path = check_choice("path", path, PATHS)
        if path == "dp4a":
            if precision != "int8":
                raise ValueError(f"dp4a has no {precision} MMA rate: it multiplies int8 only")
            if not self.dp4a:
                raise ValueError(f"{self.gpu} has no int8 MMA rate (dp4a): dp4a needs sm_61+")
            return self.dp4a
        if path == "wgmma" and not self.wgmma.get(precision):
            # Not measured (a ceilings file from before the wgmma microbenchmark): the
            # datasheet dense peak, which only a wgmma kernel could approach.
            if not self.key:
                raise ValueError(f"{self.gpu} is not in the spec table: no datasheet peak to bound a wgmma kernel with")
            rate = (_specs.spec(self.key).peaks.get(precision) or 0) * 1e12
            if _specs.spec(self.key).cc != (9, 0):
                raise ValueError(f"{self.gpu} has no {precision} MMA rate (wgmma): wgmma is sm_90a only")
            if not rate:
                raise ValueError(f"{self.gpu} has no {precision} MMA rate (wgmma)")
            return rate
        table = {"mma_sync": self.mma, "library": self.library, "wgmma": self.wgmma, "wmma": self.wmma}[path]
        rate = table.get(precision)
        if not rate:
            raise ValueError(f"{self.gpu} has no {precision} MMA rate ({path}); it has {sorted(k for k, v in table.items() if v)}")
        return rate

    def has(self, precision: str) -> bool:
        return bool(self.mma.get(precision))

    def to_json(self) -> dict:
        d = asdict(self)
        d["cc"] = list(self.cc)
        return d

    @staticmethod
    def from_json(d: dict) -> "Ceilings":
        d = dict(d)
        d["cc"] = tuple(d["cc"])
        if "dp4a" not in d:  # written before WMMA and dp4a were measured: the datasheet assumptions
            d.update(_assumed_wmma_dp4a(d["cc"], d["mma"], d["alu"]))
            d["notes"] = d.get("notes", "") + _ASSUMED_NOTE
        return Ceilings(**d)


#: What ceilings without WMMA and dp4a measurements say about them.
_ASSUMED_NOTE = "; WMMA assumed at the mma.sync rate, dp4a at the integer issue rate"


def _assumed_wmma_dp4a(cc: tuple[int, int], mma: dict, alu: float) -> dict:
    """No datasheet gives WMMA or dp4a rates: WMMA is taken at the mma.sync rate (ptxas lowers
    it to the same Tensor Core instructions), dp4a at one instruction per integer lane per clock
    (8 int8 ops each). Measured ceilings replace both."""
    return {"wmma": {"fp16": mma.get("fp16", 0.0) if cc >= (7, 0) else 0.0,
                     "int8": mma.get("int8", 0.0) if cc >= (7, 2) else 0.0},
            "dp4a": 8 * alu if cc >= (6, 1) else 0.0}


def _int_rate_from_spec(s: "_specs.GPUSpec") -> float:
    """Integer instructions/s from the FP32 peak: sm_80 and sm_75 have as many INT32 lanes
    as FP32 lanes; sm_86 and later have twice as many FP32 lanes (half of them shared)."""
    ffma_per_s = s.peaks["fp32"] * 1e12 / 2
    return ffma_per_s / 2 if s.cc >= (8, 6) else ffma_per_s


def datasheet_ceilings(gpu: str = "h100-sxm") -> Ceilings:
    """Ceilings from the spec table (``labkernels.specs``): what the model uses without a GPU."""
    s = _specs.spec(gpu)
    peaks = {p: (s.peaks.get(p) or 0) * 1e12 for p in MMA_PRECISIONS}
    mma = dict(peaks)
    notes = "datasheet dense peaks"
    if s.cc == (9, 0):
        # Hopper has no fp8 mma.sync: ptxas unpacks e4m3 to f16 and issues fp16
        # HMMAs, so the fp8 rate an mma.sync kernel can reach is the fp16 one
        # (fp8 at the datasheet rate needs wgmma, as cuBLASLt uses).
        mma["fp8"] = peaks["fp16"]
        notes += "; mma.sync e4m3 on sm_90 is emulated with fp16 HMMA; mma.sync reaches ~65-75% of these"
    alu = _int_rate_from_spec(s)
    return Ceilings(
        gpu=s.name, key=s.key, cc=s.cc, source="datasheet", bw=s.bw_tbps * 1e12,
        mma=mma, library=dict(peaks), alu=alu, ffma=s.peaks["fp32"] * 1e12 / 2,
        notes=notes + _ASSUMED_NOTE,
        provenance={k: v for k, v in s.sources.items()},
        wgmma={p: peaks[p] for p in ("fp16", "int8", "fp8")} if s.cc == (9, 0) else {},
        **_assumed_wmma_dp4a(s.cc, mma, alu),
    )


def committed_ceilings() -> dict[str, Ceilings]:
    """Ceilings measured on real GPUs and committed under labkernels/data/ceilings."""
    out = {}
    if DATA_DIR.is_dir():
        for p in sorted(DATA_DIR.glob("*.json")):
            c = Ceilings.from_json(json.loads(p.read_text())["ceilings"])
            out[c.key or p.stem] = c
    return out


def ceilings_for(gpu: str = "h100-sxm", source: str = "measured") -> Ceilings:
    """Ceilings of a known GPU: ``measured`` (committed measurements, falling back to the
    datasheet with a note) or ``datasheet``."""
    source = check_choice("source", source, ("measured", "datasheet"))
    s = _specs.spec(gpu)
    if source == "measured":
        c = committed_ceilings().get(s.key)
        if c is not None:
            return c
    return datasheet_ceilings(s.key)


# --------------------------------------------------------------------------
# Bytes, FLOPs, ALU work, bound.
# --------------------------------------------------------------------------


def _shape(M, N, K):
    return (check_int("M", M, min_value=1), check_int("N", N, min_value=1), check_int("K", K, min_value=1))


def _check_bool(name: str, value) -> bool:
    if not (isinstance(value, bool) or (type(value).__module__ == "numpy" and type(value).__name__ == "bool")):
        raise TypeError(f"{name} must be a bool; got {type(value).__name__} {value!r}")
    return bool(value)


def _check_ceilings(ceilings) -> "Ceilings":
    """``ceilings`` must be a :class:`Ceilings` whose rates can be divided by."""
    if not isinstance(ceilings, Ceilings):
        raise TypeError(f"ceilings must be a Ceilings (datasheet_ceilings('h100-sxm'), ceilings_for(...) or "
                        f"measure_ceilings()); got {type(ceilings).__name__}")
    for name in ("bw", "alu", "ffma"):
        v = getattr(ceilings, name)
        if isinstance(v, bool) or not (isinstance(v, numbers.Real) and math.isfinite(v) and v > 0):
            raise ValueError(f"ceilings.{name} must be a finite rate > 0; got {v!r} for {ceilings.gpu}")
    return ceilings


def flops(M: int, N: int, K: int) -> int:
    """2·M·N·K: one multiply and one add per term (integer formats: ops)."""
    M, N, K = _shape(M, N, K)
    return 2 * M * N * K


def bytes_moved(fmt: str, M: int, N: int, K: int, *, group_size: int | None = None, zeros: bool = False) -> float:
    """The fewest bytes a kernel must move: X, W (with scales/zeros), and Y, each once."""
    f = get_format(fmt)
    M, N, K = _shape(M, N, K)
    _check_bool("zeros", zeros)
    return (M * K * f.a_bits + N * K * f.weight_bits(group_size, zeros) + M * N * f.out_bits) / 8


@dataclass(frozen=True)
class Bound:
    fmt: str
    M: int
    N: int
    K: int
    bytes: float
    flops: float
    mem_us: float
    mma_us: float
    alu_us: float
    mma_precision: str
    native: bool

    @property
    def time_us(self) -> float:
        return max(self.mem_us, self.mma_us, self.alu_us)

    @property
    def serial_us(self) -> float:
        """Memory against MMA + ALU: the bound when dequant never overlaps the MMAs."""
        return max(self.mem_us, self.mma_us + self.alu_us)

    @property
    def kind(self) -> str:
        t = {"memory": self.mem_us, "mma": self.mma_us, "alu": self.alu_us}
        return max(t, key=t.get)

    @property
    def intensity(self) -> float:
        """FLOPs per byte (the x axis of the classic roofline)."""
        return self.flops / self.bytes


def bound(fmt: str, M: int, N: int, K: int, ceilings: Ceilings, *, path: str = "mma_sync",
          group_size: int | None = None, zeros: bool = False, alu: bool = True,
          tile_m: int | None = None) -> Bound:
    """The three-ceiling bound of format ``fmt`` at shape (M, N, K) on ``ceilings``.

    ``path`` picks the MMA ceiling: ``mma_sync`` (the lab's kernels) or
    ``library`` (cuBLAS/cuBLASLt's own rate). ``alu=False`` gives the plain
    two-ceiling roofline.
    """
    f = get_format(fmt)
    M, N, K = _shape(M, N, K)
    ceilings = _check_ceilings(ceilings)
    _check_bool("alu", alu)
    if tile_m is not None:
        tile_m = check_int("tile_m", tile_m, min_value=1)
    ex = f.execution(ceilings.cc)
    nbytes = bytes_moved(fmt, M, N, K, group_size=group_size, zeros=zeros)
    fl = 2.0 * M * N * K
    mem_us = nbytes / ceilings.bw * 1e6
    mma_us = fl / ceilings.mma_rate(ex.mma, path) * 1e6
    alu_us = 0.0
    if alu:
        tm = tile_m or f.tile_m
        m_tiles = 1 if M <= 16 else math.ceil(M / tm)  # a GEMV dequantizes each weight once
        n_tiles = math.ceil(N / f.tile_n)
        int_instr = ex.alu_w * N * K * m_tiles + ex.alu_a * M * K * n_tiles
        alu_us = (int_instr / ceilings.alu + ex.fp_mnk * M * N * K / ceilings.ffma) * 1e6
    return Bound(fmt, M, N, K, nbytes, fl, mem_us, mma_us, alu_us, ex.mma, ex.native)


def ridge_m(fmt: str, N: int, K: int, ceilings: Ceilings, *, path: str = "mma_sync",
            group_size: int | None = None) -> float:
    """The M at which the memory and MMA terms are equal (closed form; ALU ignored).

    bytes(M)/BW = 2MNK/P  with  bytes(M) = M·(K·a + N·o)/8 + N·K·w/8
    ⇒  M* = (N·K·w/8 / BW) / (2·N·K/P − (K·a + N·o)/8/BW).
    ``inf`` when the format never becomes compute-bound.
    """
    f = get_format(fmt)
    N, K = check_int("N", N, min_value=1), check_int("K", K, min_value=1)
    ceilings = _check_ceilings(ceilings)
    ex = f.execution(ceilings.cc)
    P = ceilings.mma_rate(ex.mma, path)
    w = f.weight_bits(group_size)
    denom = 2.0 * N * K / P - (K * f.a_bits + N * f.out_bits) / 8 / ceilings.bw
    if denom <= 0:
        return math.inf
    return (N * K * w / 8 / ceilings.bw) / denom


def m_grid(m_max: int, per_octave: int = 8) -> list[int]:
    """1 … m_max (included; it need not be a power of two), ``per_octave`` points per doubling."""
    m_max = check_int("m_max", m_max, min_value=1)
    top = math.log2(m_max)
    return sorted({min(m_max, int(round(2 ** (i / per_octave)))) for i in range(math.ceil(per_octave * top) + 1)})


def crossovers(fmt_a: str, fmt_b: str, N: int, K: int, ceilings: Ceilings, *, path_a: str = "mma_sync",
               path_b: str = "mma_sync", m_max: int = 1 << 16, alu: bool = True, **kw) -> list[float]:
    """Every M in [1, m_max] where the bounds of ``fmt_a`` and ``fmt_b`` cross.

    A crossing is the first M at which the other format is strictly faster:
    ``sign(t_a - t_b)`` at M is the opposite of its last non-zero value below
    M. Where the two bounds become equal and stay equal (both bound by the
    same ceiling), they meet but do not cross.

    Found numerically (a scan over M, eight points per octave, followed by
    bisection), because with three ceilings and tile rounding the bound is
    only piecewise linear; :func:`ridge_m` gives the closed form of the
    single-format turn. Crossings closer together than the scan's spacing
    (about 9% of M) may be missed.
    """
    m_max = check_int("m_max", m_max, min_value=1)
    get_format(fmt_a), get_format(fmt_b), _check_ceilings(ceilings)

    def sign(m: int) -> int:
        d = (bound(fmt_a, m, N, K, ceilings, path=path_a, alu=alu, **kw).time_us
             - bound(fmt_b, m, N, K, ceilings, path=path_b, alu=alu, **kw).time_us)
        return (d > 0) - (d < 0)

    ms = m_grid(m_max)
    out = []
    last_m, last_s = 0, 0  # the last scanned M where the bounds differ, and the sign there
    for m in ms:
        s = sign(m)
        if s == 0:
            continue
        if last_s and s != last_s:
            lo, hi = last_m, m  # sign(lo) = last_s, sign(hi) = s: find where s begins
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if sign(mid) == s:
                    hi = mid
                else:
                    lo = mid
            out.append(float(hi))
        last_m, last_s = m, s
    return out


# --------------------------------------------------------------------------
# Measuring ceilings on the GPU here.
# --------------------------------------------------------------------------


def _cache_path(g) -> Path:
    d = Path(os.environ.get("LABKERNELS_CACHE", Path.home() / ".cache" / "labkernels"))
    d.mkdir(parents=True, exist_ok=True)
    name = "".join(ch if ch.isalnum() else "-" for ch in g.name.lower())
    return d / f"ceilings-{name}-{g.driver}.json"


def copy_bandwidth(nbytes: int = 1 << 30, iters: int = 20) -> float:
    """This GPU's memory bandwidth, bytes read + written per second, copying ``nbytes`` device to device
    (median of ``iters`` copies): the roofline's memory ceiling."""
    from . import device
    from .bench import time_kernel

    device.require_gpu("measuring the copy bandwidth")
    import cupy

    src = cupy.random.random(nbytes // 4, dtype=cupy.float32)
    dst = cupy.empty_like(src)
    t = time_kernel(lambda: dst.__setitem__(Ellipsis, src), flush_l2=False, iters=iters).median_us
    return 2 * src.nbytes / (t * 1e-6)


def measure_ceilings(*, refresh: bool = False, library: bool = True, verbose: bool = False) -> Ceilings:
    """Measure this GPU's ceilings (cached per GPU name and driver).

    * bandwidth: a 1 GiB device-to-device copy, bytes read + written;
    * MMA: register-only ``mma.sync`` microbenchmarks per precision the GPU has
      (``kernels/ceilings/instr_rate.cu``), and, with ``library``, an 8192³
      cuBLAS fp16 GEMM through CuPy (and int8/fp8 through torch where present);
    * ALU: chains of ``lop3.b32`` and ``fma.rn.f32``;
    * the other instruction paths a lesson kernel may be built on: ``dp4a`` and ``wmma``
      chains (instr_rate.cu) and, on sm_90, ``wgmma`` from shared memory (wgmma_rate.cu).
    """
    from . import device
    from .bench import time_kernel

    g = device.require_gpu("measuring ceilings")
    path = _cache_path(g)
    if path.exists() and not refresh:
        cached = json.loads(path.read_text())
        if "dp4a" in cached:  # else written before the dp4a/WMMA/wgmma paths: measure again
            return Ceilings.from_json(cached)
    import cupy
    import numpy as np

    from . import build

    def log(*a):
        if verbose:
            print(*a, flush=True)

    bw = copy_bandwidth()
    log(f"copy bandwidth {bw / 1e12:.2f} TB/s")

    iters, chains, threads = 2048, 4, 256
    blocks = g.sms * 8
    defines = {"ITERS": iters, "CHAINS": chains}
    mod = build.load_module("ceilings/instr_rate.cu", defines)

    def rate(kernel, dtype, work_per_thread_instr, seed=np.uint32(12345)):
        out = cupy.empty(blocks * threads, dtype=dtype)
        fn = mod.get_function(kernel)
        tt = time_kernel(lambda: fn((blocks,), (threads,), (out, seed)), flush_l2=False, iters=10).median_us
        return blocks * threads * iters * chains * work_per_thread_instr / (tt * 1e-6)

    caps = device.capabilities(g.cc)
    mma = {p: 0.0 for p in MMA_PRECISIONS}
    # Per-thread share of one warp-wide mma: m16n8k16 = 4096 flops / 32 lanes.
    if caps["mma_f16_m16n8k16"]:
        mma["fp16"] = rate("mma_f16_rate", cupy.float32, 4096 / 32)
    if caps["mma_s8_m16n8k32"]:
        mma["int8"] = rate("mma_s8_rate", cupy.int32, 8192 / 32)
    if caps["mma_fp8"]:
        mma["fp8"] = rate("mma_e4m3_rate", cupy.float32, 8192 / 32)
    alu = rate("lop3_rate", cupy.uint32, 1)
    ffma = rate("ffma_rate", cupy.float32, 1, np.float32(1.0))
    log(f"mma.sync {mma}; lop3 {alu / 1e12:.1f} T/s; ffma {ffma / 1e12:.1f} T/s")
    # dp4a: 4 multiply-adds = 8 ops per thread instruction; WMMA m16n16k16: 8192 per warp.
    dp4a = rate("dp4a_rate", cupy.int32, 8) if caps["dp4a"] else 0.0
    wmma = {"fp16": rate("wmma_f16_rate", cupy.float32, 8192 / 32) if caps["wmma_f16"] else 0.0,
            "int8": rate("wmma_s8_rate", cupy.int32, 8192 / 32) if caps["wmma_s8"] else 0.0}
    wgmma = _wgmma_rates(g) if caps["wgmma"] else {}
    log(f"dp4a {dp4a / 1e12:.0f} TOP/s; wmma {wmma}; wgmma {wgmma}")

    lib = {p: 0.0 for p in MMA_PRECISIONS}
    prov = {"bandwidth": "1 GiB device-to-device copy, read+write, median of 20",
            "mma": "register-only mma.sync chains (kernels/ceilings/instr_rate.cu)",
            "alu": "lop3.b32 / fma.rn.f32 chains",
            "dp4a/wmma": "register-only dp4a.s32.s32 and wmma m16n16k16 chains (instr_rate.cu)"}
    if wgmma:
        prov["wgmma"] = "m64n256 wgmma from 128B-swizzled shared memory, no loads (wgmma_rate.cu)"
    if library:
        s = 8192
        a = cupy.random.standard_normal((s, s), dtype=cupy.float32).astype(cupy.float16)
        b = cupy.random.standard_normal((s, s), dtype=cupy.float32).astype(cupy.float16)
        c = cupy.empty((s, s), dtype=cupy.float16)
        tt = time_kernel(lambda: cupy.matmul(a, b.T, out=c), flush_l2=False, iters=10).median_us
        lib["fp16"] = 2 * s**3 / (tt * 1e-6)
        prov["library"] = "cuBLAS fp16 8192^3 via cupy.matmul"
        del a, b, c
        lib.update({k: v for k, v in _torch_library_rates(s).items() if v})
        if any(lib[p] for p in ("int8", "fp8")):
            prov["library"] += "; int8 torch._int_mm, fp8 torch._scaled_mm 8192^3"
        log(f"library {lib}")
    for p in MMA_PRECISIONS:  # a precision the library lacks: the instruction rate stands in
        if not lib[p]:
            lib[p] = mma[p]
    spec = g.spec
    c = Ceilings(gpu=g.name, key=spec.key if spec else "", cc=g.cc, source="measured", bw=bw, mma=mma,
                 library=lib, alu=alu, ffma=ffma, notes=f"driver CUDA {g.driver}", provenance=prov,
                 wgmma=wgmma, wmma=wmma, dp4a=dp4a)
    path.write_text(json.dumps(c.to_json(), indent=1))
    return c


def _wgmma_rates(g, iters: int = 1024) -> dict:
    """Hopper's wgmma rate per precision (kernels/ceilings/wgmma_rate.cu): one or two
    warpgroups per SM issuing m64n256 wgmmas from shared memory; the faster counts."""
    import cupy
    import numpy as np

    from . import build
    from .bench import time_kernel

    mod = build.load_module("ceilings/wgmma_rate.cu", {"ITERS": iters}, specific=True)
    tile = (64 + 256) * 128  # bytes of A and B, as in wgmma_rate.cu
    rng = np.random.default_rng(7)
    fills = {  # random operands of each type (never zeros; no NaN codes)
        "fp16": rng.standard_normal(tile // 2).astype(np.float16).view(np.uint8),
        "int8": rng.integers(-128, 128, tile, dtype=np.int8).view(np.uint8),
        "fp8": rng.integers(0, 256, tile, dtype=np.uint8) & np.uint8(0xF7),  # exponent field < 15: no e4m3 NaN
    }
    kernels = {"fp16": ("wgmma_f16_rate", cupy.float32, 64 * 256 * 16 * 2),
               "int8": ("wgmma_s8_rate", cupy.int32, 64 * 256 * 32 * 2),
               "fp8": ("wgmma_e4m3_rate", cupy.float32, 64 * 256 * 32 * 2)}
    out = {}
    for p, (name, dtype, ops) in kernels.items():
        fn = mod.get_function(name)
        fill = cupy.asarray(fills[p])
        best = 0.0
        for per_sm in (1, 2):
            blocks = g.sms * per_sm
            res = cupy.empty(blocks * 128, dtype=dtype)
            t = time_kernel(lambda: fn((blocks,), (128,), (res, fill), shared_mem=tile + 1024),
                            flush_l2=False, iters=10).median_us
            best = max(best, blocks * iters * 4 * ops / (t * 1e-6))
        out[p] = best
    return out


def _torch_library_rates(s: int) -> dict:
    """int8 and fp8 library GEMM rates through torch, where torch with CUDA is installed."""
    try:
        import torch

        if not torch.cuda.is_available():
            return {}
    except Exception:  # not installed, or an install that fails to import
        return {}
    out = {}

    def timed(fn):
        for _ in range(3):
            fn()
        torch.cuda.synchronize()
        ts = []
        for _ in range(10):
            a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            a.record()
            fn()
            b.record()
            b.synchronize()
            ts.append(a.elapsed_time(b) * 1e-3)
        ts.sort()
        return 2 * s**3 / ts[len(ts) // 2]

    try:
        a = torch.randint(-128, 128, (s, s), dtype=torch.int8, device="cuda")
        b = torch.randint(-128, 128, (s, s), dtype=torch.int8, device="cuda")
        out["int8"] = timed(lambda: torch._int_mm(a, b.t()))
    except Exception:
        pass
    try:
        if torch.cuda.get_device_capability() >= (8, 9):
            a = torch.randn(s, s, device="cuda").to(torch.float8_e4m3fn)
            b = torch.randn(s, s, device="cuda").to(torch.float8_e4m3fn)
            one = torch.ones((), device="cuda")
            out["fp8"] = timed(lambda: torch._scaled_mm(a, b.t(), scale_a=one, scale_b=one,
                                                        out_dtype=torch.bfloat16))
    except Exception:
        pass
    return out
