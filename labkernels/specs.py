"""Datasheet figures for known GPUs: the roofline's fallback when no GPU is here.

Every figure below is a *lead*, not a measurement (DESIGN.md: ceilings are
measured on the running GPU; this table is what the model uses when there is
none, and the yardstick a measurement is compared against). Each GPU carries a
``sources`` dict naming, per figure group, the document a figure came from and
what was done to it.

Conventions
-----------
* ``peaks`` holds **dense** Tensor Core peaks (no 2:4 structured sparsity) in
  TFLOP/s (TOP/s for ``int8``), plus ``fp32``, the non-tensor FFMA rate.
  Datasheets mostly print sparse figures marked with an asterisk; those were
  halved, and the source note says so.
* ``fp16``, ``bf16``, ``tf32`` and ``fp8`` are the rates **with FP32
  accumulate** (what cuBLAS and the lab's kernels use). GeForce cards (RTX 4090,
  RTX 5090) and the AWS A10G run FP32-accumulate MMA at *half* the
  FP16-accumulate rate; their FP16-accumulate figures are in ``notes``. The
  data-centre and professional parts in this table (T4, L4, A10, A100, H100,
  H200, B200, RTX PRO 6000 Blackwell) run both at the same rate.
* ``None`` means the GPU has no Tensor Core path for that precision (``bf16``/
  ``tf32`` on Turing, ``fp8`` below sm_89, ``fp4`` below sm_100) or that no
  figure is known.
* ``l2_mb`` is the L2 size in MiB as CUDA reports it (``l2CacheSize / 2**20``);
  ``mem_gb`` is the marketed capacity; ``bw_tbps`` the marketed peak DRAM
  bandwidth in TB/s (10**12 B/s).
* ``cc`` comes from NVIDIA's CUDA GPU compute-capability table
  (https://developer.nvidia.com/cuda-gpus).

Looking a GPU up
----------------
:func:`find_spec` takes a key (``"h100-sxm"``) or the name CUDA reports
(``cudaGetDeviceProperties().name``, e.g. ``"NVIDIA H100 80GB HBM3"``) and
returns the spec or ``None``. Aliases are matched as lowercase substrings that
start and end on a word boundary (so ``"nvidia l4"`` does not claim an
``"NVIDIA L40S"``, nor ``"nvidia a10"`` an ``"NVIDIA A100-SXM4-80GB"``); when
several match, the longest alias wins (``"NVIDIA H200 NVL"`` is the NVL part,
not the SXM one). :func:`spec` is the strict form: it raises ``ValueError``
listing the known keys.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

#: The keys of :attr:`GPUSpec.peaks`, in display order.
PRECISIONS: tuple[str, ...] = ("fp16", "bf16", "tf32", "int8", "fp8", "fp4", "fp32")

#: The figure groups every GPU's ``sources`` must cover.
SOURCE_GROUPS: tuple[str, ...] = ("compute", "memory", "sms/l2")

CC_SOURCE = "NVIDIA CUDA GPUs compute capability table, https://developer.nvidia.com/cuda-gpus"


@dataclass(frozen=True)
class GPUSpec:
    """Datasheet figures for one GPU model (see the module docstring for units)."""

    key: str
    name: str
    aliases: tuple[str, ...]
    cc: tuple[int, int]
    sms: int
    l2_mb: float
    mem_gb: float
    bw_tbps: float
    peaks: dict  # {"fp16", "bf16", "tf32", "int8", "fp8", "fp4", "fp32"} -> dense TFLOP/s (TOP/s) or None
    sources: dict  # {"compute": ..., "memory": ..., "sms/l2": ...}
    notes: str = ""

    def peak(self, precision: str) -> Optional[float]:
        """The dense peak for ``precision`` (one of :data:`PRECISIONS`), or ``None`` if absent."""
        from .errors import check_choice

        return self.peaks[check_choice("precision", precision, PRECISIONS)]

    @property
    def arch(self) -> str:
        """The plain NVRTC target, e.g. ``"sm_90"``."""
        return f"sm_{self.cc[0]}{self.cc[1]}"


def _peaks(fp16, bf16, tf32, int8, fp8, fp4, fp32) -> dict:
    return {"fp16": fp16, "bf16": bf16, "tf32": tf32, "int8": int8, "fp8": fp8, "fp4": fp4, "fp32": fp32}


_A100_DATASHEET = (
    "NVIDIA A100 Tensor Core GPU datasheet (nvidia-a100-datasheet-us-nvidia-1758950-r4-web.pdf, "
    "https://www.nvidia.com/en-us/data-center/a100/)"
)
_A100_COMPUTE = (
    _A100_DATASHEET + ": FP16/BF16 Tensor 312 | 624* TF, TF32 156 | 312* TF, INT8 624 | 1248* TOPS, "
    "FP32 19.5 TF; the datasheet prints dense | sparse*, dense taken. Same figures for every A100 "
    "SKU (SXM and PCIe, 40 and 80 GB). No FP8 tensor cores (sm_80)."
)
_A100_SMS = (
    "NVIDIA A100 Tensor Core GPU Architecture whitepaper (nvidia-ampere-architecture-whitepaper.pdf): "
    "A100 = 108 SMs, 40 MB L2 (40960 KB)"
)

_H100_DATASHEET = (
    "NVIDIA H100 Tensor Core GPU datasheet (https://www.nvidia.com/en-us/data-center/h100/)"
)
_HOPPER_WP = "NVIDIA H100 Tensor Core GPU Architecture (Hopper) whitepaper"
_H200_DATASHEET = "NVIDIA H200 Tensor Core GPU datasheet (https://www.nvidia.com/en-us/data-center/h200/)"
_ADA_WP = (
    "NVIDIA Ada GPU Architecture whitepaper v2.01 (adds L4/L40), "
    "https://images.nvidia.com/aem-dam/Solutions/geforce/ada/nvidia-ada-gpu-architecture.pdf"
)
_RTX_BW_WP = "NVIDIA RTX Blackwell GPU Architecture whitepaper (GB202, GeForce RTX 5090)"

_TABLE = [
    # ------------------------------------------------------------------ Turing
    GPUSpec(
        key="t4",
        name="NVIDIA T4",
        aliases=("tesla t4", "nvidia t4"),
        cc=(7, 5),
        sms=40,
        l2_mb=4.0,
        mem_gb=16.0,
        bw_tbps=0.32,
        peaks=_peaks(fp16=65.0, bf16=None, tf32=None, int8=130.0, fp8=None, fp4=None, fp32=8.1),
        sources={
            "compute": "NVIDIA T4 Tensor Core GPU datasheet (https://www.nvidia.com/en-us/data-center/tesla-t4/): "
                       "Mixed Precision (FP16/FP32) 65 TFLOPS, INT8 130 TOPS, INT4 260 TOPS, FP32 8.1 TFLOPS. "
                       "Turing has no sparsity, so these are dense; FP16 is quoted with FP32 accumulate "
                       "(check: 40 SMs x 1.59 GHz x 1024 flop/clk = 65.1). Turing has no BF16/TF32/FP8 tensor cores.",
            "memory": "T4 datasheet: 16 GB GDDR6, 320+ GB/s (256-bit, 10 Gbps).",
            "sms/l2": "NVIDIA Turing GPU Architecture whitepaper (TU104): T4 = 40 SMs (2560 CUDA cores / 64), 4 MB L2.",
        },
        notes="Colab's free GPU. No bf16: bf16 GEMMs fall back to slow paths.",
    ),
    # ------------------------------------------------------------------ Ada
    GPUSpec(
        key="l4",
        name="NVIDIA L4",
        aliases=("nvidia l4",),
        cc=(8, 9),
        sms=58,
        l2_mb=48.0,
        mem_gb=24.0,
        bw_tbps=0.3,
        peaks=_peaks(fp16=121.0, bf16=121.0, tf32=60.0, int8=242.5, fp8=242.5, fp4=None, fp32=30.3),
        sources={
            "compute": "NVIDIA L4 Tensor Core GPU datasheet (https://www.nvidia.com/en-us/data-center/l4/): "
                       "FP8 485 TF*, FP16 242 TF*, BF16 242 TF*, TF32 120 TF*, INT8 485 TOPS*, FP32 30.3 TF; "
                       "* = with sparsity, dense = sparse/2. The " + _ADA_WP + " (L4 column) gives the same "
                       "rate with FP16 and FP32 accumulate (data-centre Ada is not rate-limited).",
            "memory": "L4 datasheet: 24 GB GDDR6, 300 GB/s.",
            "sms/l2": _ADA_WP + ": L4 = AD104, 58 SMs (7424 CUDA cores / 128), 48 MB L2.",
        },
        notes="GCP G2. FP8 242.5 dense (485 sparse).",
    ),
    GPUSpec(
        key="rtx-4090",
        name="NVIDIA GeForce RTX 4090",
        aliases=("geforce rtx 4090",),
        cc=(8, 9),
        sms=128,
        l2_mb=72.0,
        mem_gb=24.0,
        bw_tbps=1.008,
        peaks=_peaks(fp16=165.2, bf16=165.2, tf32=82.6, int8=660.6, fp8=330.3, fp4=None, fp32=82.6),
        sources={
            "compute": _ADA_WP + ", Appendix A, GeForce RTX 4090 column (dense/sparse pairs, dense taken): "
                       "FP16 Tensor with FP32 accumulate 165.2/330.4, BF16 165.2/330.4, TF32 82.6/165.2, "
                       "FP8 with FP32 accumulate 330.3/660.6, INT8 660.6/1321.2, FP32 82.6. fp16/bf16/fp8/tf32 "
                       "are the FP32-accumulate (GeForce half-rate) figures. Corroborated: a measured "
                       "FP16->FP32 MMA rate of 165.6 TF/s (github.com/JustAResearcher/gpu-unlock-ada README).",
            "memory": "Ada whitepaper / GeForce RTX 4090 product page: 24 GB GDDR6X, 384-bit, 21 Gbps = 1008 GB/s.",
            "sms/l2": _ADA_WP + ": RTX 4090 = 128 SMs (16384 CUDA cores), 72 MB L2.",
        },
        notes="GeForce: FP32-accumulate MMA at half rate. With FP16 accumulate: fp16 330.3, fp8 660.6 "
              "dense TFLOP/s. Boost clocks above the rated 2.52 GHz often push measured rates past these.",
    ),
    # ------------------------------------------------------------------ Ampere GA10x
    GPUSpec(
        key="a10",
        name="NVIDIA A10",
        aliases=("nvidia a10",),
        cc=(8, 6),
        sms=72,
        l2_mb=6.0,
        mem_gb=24.0,
        bw_tbps=0.6,
        peaks=_peaks(fp16=125.0, bf16=125.0, tf32=62.5, int8=250.0, fp8=None, fp4=None, fp32=31.2),
        sources={
            "compute": "NVIDIA A10 Tensor Core GPU datasheet "
                       "(https://www.nvidia.com/content/dam/en-zz/Solutions/Data-Center/a10/pdf/a10-datasheet.pdf): "
                       "FP32 31.2 TF, TF32 62.5 | 125* TF, BF16 125 | 250* TF, FP16 125 | 250* TF, "
                       "INT8 250 | 500* TOPS (dense | sparse*, dense taken). BF16 always accumulates in FP32, "
                       "so the A10 runs FP32 accumulate at full rate (72 SMs x 1.695 GHz x 1024 = 125).",
            "memory": "A10 datasheet: 24 GB GDDR6, 600 GB/s.",
            "sms/l2": "NVIDIA Ampere GA102 GPU Architecture whitepaper: A10 = GA102 with 72 SMs (9216 CUDA cores), "
                      "6 MB L2 (384-bit bus).",
        },
    ),
    GPUSpec(
        key="a10g",
        name="NVIDIA A10G (AWS)",
        aliases=("nvidia a10g",),
        cc=(8, 6),
        sms=80,
        l2_mb=6.0,
        mem_gb=24.0,
        bw_tbps=0.6,
        peaks=_peaks(fp16=70.0, bf16=70.0, tf32=35.0, int8=280.0, fp8=None, fp4=None, fp32=35.0),
        sources={
            "compute": "DERIVED: NVIDIA/AWS publish no per-precision datasheet for the A10G. SMs x boost clock x "
                       "GA102 per-SM rate: 80 x 1.71 GHz x {512 flop/clk FP16/BF16 with FP32 accumulate "
                       "(half-rate, as on GeForce GA102), 256 TF32, 2048 INT8, 256 FP32}. Consistent with "
                       "Baseten, 'NVIDIA A10 vs A10G for ML model inference' (A10G: less tensor, more CUDA-core "
                       "compute than the A10) and with a measured torch bf16/fp16 matmul of 69.5 TFLOP/s "
                       "(github.com/zzc0721/torch-performance-test-data issue #126). INT8 280 is the least "
                       "certain figure (assumes INT8 is not rate-limited, as on GeForce GA102).",
            "memory": "AWS EC2 G5 instances page (https://aws.amazon.com/ec2/instance-types/g5/): 24 GB GDDR6 per "
                      "A10G; 600 GB/s per Baseten 'A10 vs A10G' (same memory system as the A10).",
            "sms/l2": "AWS G5 page: 80 RT cores and 320 Tensor Cores per A10G, i.e. 80 SMs (multiProcessorCount 80); "
                      "6 MB L2 (GA102, 384-bit bus).",
        },
        notes="AWS G5. FP32-accumulate MMA at half rate; with FP16 accumulate fp16 is ~140 TFLOP/s (derived).",
    ),
    # ------------------------------------------------------------------ Ampere GA100
    GPUSpec(
        key="a100-40gb",
        name="NVIDIA A100 40GB (SXM4)",
        aliases=("a100-sxm4-40gb", "a100-pcie-40gb"),
        cc=(8, 0),
        sms=108,
        l2_mb=40.0,
        mem_gb=40.0,
        bw_tbps=1.555,
        peaks=_peaks(fp16=312.0, bf16=312.0, tf32=156.0, int8=624.0, fp8=None, fp4=None, fp32=19.5),
        sources={
            "compute": _A100_COMPUTE,
            "memory": _A100_DATASHEET + ": A100 40GB, 40 GB HBM2, 1,555 GB/s (SXM and PCIe alike).",
            "sms/l2": _A100_SMS,
        },
        notes="The 40 GB PCIe card ('NVIDIA A100-PCIE-40GB') maps here too: same datasheet peaks and bandwidth, "
              "lower power limit (250 W), so it sustains less.",
    ),
    GPUSpec(
        key="a100-80gb",
        name="NVIDIA A100 80GB (SXM4)",
        aliases=("a100-sxm4-80gb",),
        cc=(8, 0),
        sms=108,
        l2_mb=40.0,
        mem_gb=80.0,
        bw_tbps=2.039,
        peaks=_peaks(fp16=312.0, bf16=312.0, tf32=156.0, int8=624.0, fp8=None, fp4=None, fp32=19.5),
        sources={
            "compute": _A100_COMPUTE,
            "memory": _A100_DATASHEET + ": A100 80GB SXM, 80 GB HBM2e, 2,039 GB/s.",
            "sms/l2": _A100_SMS,
        },
    ),
    GPUSpec(
        key="a100-80gb-pcie",
        name="NVIDIA A100 80GB PCIe",
        aliases=("a100 80gb pcie", "a100-pcie-80gb"),
        cc=(8, 0),
        sms=108,
        l2_mb=40.0,
        mem_gb=80.0,
        bw_tbps=1.935,
        peaks=_peaks(fp16=312.0, bf16=312.0, tf32=156.0, int8=624.0, fp8=None, fp4=None, fp32=19.5),
        sources={
            "compute": _A100_COMPUTE,
            "memory": _A100_DATASHEET + ": A100 80GB PCIe, 80 GB HBM2e, 1,935 GB/s.",
            "sms/l2": _A100_SMS,
        },
        notes="300 W; sustains less than the SXM part at the same datasheet peaks.",
    ),
    # ------------------------------------------------------------------ Hopper
    GPUSpec(
        key="h100-sxm",
        name="NVIDIA H100 SXM5 80GB",
        aliases=("h100 80gb hbm3", "h100 sxm", "h100-sxm"),
        cc=(9, 0),
        sms=132,
        l2_mb=50.0,
        mem_gb=80.0,
        bw_tbps=3.35,
        peaks=_peaks(fp16=989.4, bf16=989.4, tf32=494.7, int8=1978.9, fp8=1978.9, fp4=None, fp32=66.9),
        sources={
            "compute": _H100_DATASHEET + ", SXM column: FP16/BF16 Tensor 1,979 TF*, TF32 989 TF*, FP8 3,958 TF*, "
                       "INT8 3,958 TOPS*, FP32 67 TF; * = with sparsity, dense = sparse/2. Unrounded dense values "
                       "from the " + _HOPPER_WP + " (989.4 = 132 SMs x 4096 flop/clk x 1.83 GHz; FP32 66.9).",
            "memory": _H100_DATASHEET + ", SXM column: 80 GB HBM3, 3.35 TB/s.",
            "sms/l2": _HOPPER_WP + ": H100 SXM5 = 132 SMs, 50 MB L2. Checked on a lent H100 through the CUDA "
                      "driver API: name 'NVIDIA H100 80GB HBM3', cc 9.0, 132 SMs, L2 50.0 MiB, memory clock "
                      "2619 MHz x 5120-bit x 2 = 3.35 TB/s.",
        },
        notes="Legacy mma.sync reportedly reaches at most ~75% of this peak; wgmma (sm_90a) is needed for the rest.",
    ),
    GPUSpec(
        key="h100-pcie",
        name="NVIDIA H100 PCIe 80GB",
        aliases=("h100 pcie",),
        cc=(9, 0),
        sms=114,
        l2_mb=50.0,
        mem_gb=80.0,
        bw_tbps=2.0,
        peaks=_peaks(fp16=756.5, bf16=756.5, tf32=378.0, int8=1513.0, fp8=1513.0, fp4=None, fp32=51.2),
        sources={
            "compute": _H100_DATASHEET + ", PCIe column: FP16/BF16 Tensor 1,513 TF*, TF32 756 TF*, FP8 3,026 TF*, "
                       "INT8 3,026 TOPS*, FP32 51 TF; * = with sparsity, dense = sparse/2 "
                       "(FP32 51.2 from the " + _HOPPER_WP + ").",
            "memory": _H100_DATASHEET + ", PCIe column: 80 GB HBM2e, 2 TB/s.",
            "sms/l2": _HOPPER_WP + ": H100 PCIe = 114 SMs, 50 MB L2.",
        },
        notes="350 W card; sustained tensor clocks sit well below the SXM part's.",
    ),
    GPUSpec(
        key="h100-nvl",
        name="NVIDIA H100 NVL 94GB",
        aliases=("nvidia h100 nvl", "h100 nvl"),
        cc=(9, 0),
        sms=132,
        l2_mb=50.0,
        mem_gb=94.0,
        bw_tbps=3.9,
        peaks=_peaks(fp16=835.5, bf16=835.5, tf32=417.5, int8=1670.5, fp8=1670.5, fp4=None, fp32=60.0),
        sources={
            "compute": _H100_DATASHEET + ", H100 NVL column (per GPU): FP16/BF16 Tensor 1,671 TF*, TF32 835 TF*, "
                       "FP8 3,341 TF*, INT8 3,341 TOPS*, FP32 60 TF; * = with sparsity, dense = sparse/2. "
                       "(Early datasheets quoted the NVLink-bridged pair: 188 GB, 7.8 TB/s, twice these rates.)",
            "memory": _H100_DATASHEET + ", H100 NVL column: 94 GB HBM3, 3.9 TB/s per GPU.",
            "sms/l2": _HOPPER_WP + ": full-SM GH100 configuration as on SXM5, 132 SMs, 50 MB L2 (not in the NVL "
                      "datasheet; assumed from the SXM5 configuration it shares).",
        },
    ),
    GPUSpec(
        key="h200",
        name="NVIDIA H200 SXM 141GB",
        aliases=("nvidia h200", "h200 sxm"),
        cc=(9, 0),
        sms=132,
        l2_mb=50.0,
        mem_gb=141.0,
        bw_tbps=4.8,
        peaks=_peaks(fp16=989.4, bf16=989.4, tf32=494.7, int8=1978.9, fp8=1978.9, fp4=None, fp32=66.9),
        sources={
            "compute": _H200_DATASHEET + ", SXM column: FP16/BF16 Tensor 1,979 TF*, TF32 989 TF*, FP8 3,958 TF*, "
                       "INT8 3,958 TOPS*, FP32 67 TF; * = with sparsity, dense = sparse/2 (same GH100 compute as "
                       "H100 SXM; unrounded values as for h100-sxm).",
            "memory": _H200_DATASHEET + ", SXM column: 141 GB HBM3e, 4.8 TB/s.",
            "sms/l2": _HOPPER_WP + ": same GH100 SXM5 configuration as H100 SXM, 132 SMs, 50 MB L2.",
        },
    ),
    GPUSpec(
        key="h200-nvl",
        name="NVIDIA H200 NVL 141GB",
        aliases=("nvidia h200 nvl", "h200 nvl"),
        cc=(9, 0),
        sms=132,
        l2_mb=50.0,
        mem_gb=141.0,
        bw_tbps=4.8,
        peaks=_peaks(fp16=835.5, bf16=835.5, tf32=417.5, int8=1670.5, fp8=1670.5, fp4=None, fp32=60.0),
        sources={
            "compute": _H200_DATASHEET + ", H200 NVL column: FP16/BF16 Tensor 1,671 TF*, TF32 835 TF*, "
                       "FP8 3,341 TF*, INT8 3,341 TOPS*, FP32 60 TF; * = with sparsity, dense = sparse/2.",
            "memory": _H200_DATASHEET + ", H200 NVL column: 141 GB HBM3e, 4.8 TB/s.",
            "sms/l2": _HOPPER_WP + ": GH100, 132 SMs, 50 MB L2 (assumed, as for the SXM part).",
        },
        notes="Up to 600 W PCIe card.",
    ),
    # ------------------------------------------------------------------ Blackwell
    GPUSpec(
        key="b200",
        name="NVIDIA B200 (HGX)",
        aliases=("nvidia b200",),
        cc=(10, 0),
        sms=148,
        l2_mb=126.0,
        mem_gb=180.0,
        bw_tbps=8.0,
        peaks=_peaks(fp16=2250.0, bf16=2250.0, tf32=1125.0, int8=4500.0, fp8=4500.0, fp4=9000.0, fp32=75.0),
        sources={
            "compute": "NVIDIA HGX B200 / DGX B200 datasheet (https://www.nvidia.com/en-us/data-center/hgx/), "
                       "8-GPU totals: FP4 Tensor 144 PF*, FP8/FP6 72 PF*, INT8 72 POPS*, FP16/BF16 36 PF*, "
                       "TF32 18 PF*, FP64 296 TF; per GPU = total/8, * = with sparsity, dense = sparse/2. "
                       "FP32 is not in the datasheet: DERIVED as 2 x FP64 (37 TF) ~ 148 SMs x 256 flop/clk x "
                       "~1.98 GHz = 75 TF (early GTC-2024 figures said 80).",
            "memory": "HGX B200 datasheet: 1.4 TB HBM3e and 64 TB/s per 8 GPUs, i.e. ~180 GB (192 GB physical, "
                      "~179 GB visible to CUDA) and 8 TB/s per GPU.",
            "sms/l2": "Chips and Cheese, 'Nvidia's B200: Keeping the CUDA Juggernaut Rolling' (74 SMs enabled per die "
                      "x 2 dies = 148 SMs); L2 126 MB as reported by CUDA and in B200 memory-hierarchy write-ups "
                      "(not in the datasheet).",
        },
        notes="sm_100a: tcgen05 MMA with hardware block scaling (MXFP8/MXFP4/NVFP4). FP4 9000 dense is the "
              "block-scaled (NVFP4/MXFP4) rate.",
    ),
    GPUSpec(
        key="rtx-pro-6000",
        name="NVIDIA RTX PRO 6000 Blackwell (Server / Workstation Edition)",
        aliases=("rtx pro 6000 blackwell", "rtx pro 6000"),
        cc=(12, 0),
        sms=188,
        l2_mb=128.0,
        mem_gb=96.0,
        bw_tbps=1.792,
        peaks=_peaks(fp16=500.0, bf16=500.0, tf32=250.0, int8=1000.0, fp8=1000.0, fp4=2000.0, fp32=125.0),
        sources={
            "compute": "NVIDIA RTX PRO 6000 Blackwell datasheets / product page "
                       "(https://www.nvidia.com/en-us/products/workstations/professional-desktop-gpus/rtx-pro-6000/): "
                       "4000 AI TOPS (FP4, with sparsity) and FP32 125 TFLOPS. Only FP4 is published: fp4 = 4000/2; "
                       "the other tensor peaks are DERIVED from the GB202 dense ratios fp4 : fp8 = int8 : fp16 : tf32 "
                       "= 8 : 4 : 2 : 1 (as in the " + _RTX_BW_WP + "), at FULL rate with FP32 accumulate. "
                       "Full rate is evidenced by a measured torch bf16 matmul of 417 TFLOP/s on the Server Edition "
                       "(github.com/zzc0721/torch-performance-test-data issue #162), above the 252 a half-rate "
                       "part could reach at its 2.617 GHz boost; hmc-tech.com lists 503.8 TF FP16 with FP32 "
                       "accumulate (188 SMs x 1024 flop/clk x 2.617 GHz).",
            "memory": "RTX PRO 6000 Blackwell datasheet: 96 GB GDDR7 ECC, 512-bit, 28 Gbps = 1792 GB/s "
                      "(reported identical across Workstation, Max-Q and Server editions; a lower Server Edition "
                      "figure of ~1.6 TB/s is rumoured but not confirmed here).",
            "sms/l2": "NVIDIA GTC 2025 announcement coverage (e.g. Tom's Hardware / VideoCardz): 188 of GB202's 192 SMs "
                      "(24064 CUDA cores), full 128 MB L2.",
        },
        notes="GCP G4 / cloud class is the Server Edition; the 300 W Max-Q Workstation Edition matches the same "
              "aliases but sustains less (FP32 ~110 TF). Unlike GeForce, FP32-accumulate MMA runs at full rate. "
              "sm_120a: mma.sync with block scaling (MXFP8/MXFP4/NVFP4), no tcgen05.",
    ),
    GPUSpec(
        key="rtx-5090",
        name="NVIDIA GeForce RTX 5090",
        aliases=("geforce rtx 5090",),
        cc=(12, 0),
        sms=170,
        l2_mb=96.0,
        mem_gb=32.0,
        bw_tbps=1.792,
        peaks=_peaks(fp16=209.5, bf16=209.5, tf32=104.8, int8=838.0, fp8=419.0, fp4=1676.0, fp32=104.8),
        sources={
            "compute": _RTX_BW_WP + " and GeForce RTX 50 series page: 3352 AI TOPS = FP4 with sparsity "
                       "(fp4 dense 1676), FP16 with FP16 accumulate 838 sparse (419 dense), FP32 104.8 TF. "
                       "fp16/bf16/fp8/tf32 recorded at the GeForce half rate for FP32 accumulate (fp16 209.5, "
                       "matching codesota.com's 'FP16 dense 209.5'). FP8 with FP32 accumulate at half rate and the "
                       "block-scaled FP4 path NOT rate-limited are from a microbenchmark on a sibling sm_120 die "
                       "(RTX 5060 Ti, github.com/flashinfer-ai/flashinfer issue #3628). INT8 838 = 2 x the "
                       "FP16-accumulate rate, as on Ada GeForce.",
            "memory": "GeForce RTX 5090 product page: 32 GB GDDR7, 512-bit, 28 Gbps = 1792 GB/s.",
            "sms/l2": _RTX_BW_WP + ": RTX 5090 = 170 SMs (21760 CUDA cores), 96 MB L2.",
        },
        notes="GeForce: FP32-accumulate MMA at half rate. With FP16 accumulate: fp16 419, fp8 838 dense TFLOP/s. "
              "Block-scaled FP4/MXFP8 MMA is not halved. Cards boost above the rated 2.41 GHz.",
    ),
]

#: Every known GPU, keyed by :attr:`GPUSpec.key`.
GPUS: dict[str, GPUSpec] = {s.key: s for s in _TABLE}


def _alias_matches(alias: str, name: str) -> bool:
    """``alias`` occurs in ``name`` starting and ending on a word boundary (both lowercase)."""
    start = name.find(alias)
    while start != -1:
        end = start + len(alias)
        before_ok = start == 0 or not name[start - 1].isalnum() or not alias[0].isalnum()
        after_ok = end == len(name) or not name[end].isalnum() or not alias[-1].isalnum()
        if before_ok and after_ok:
            return True
        start = name.find(alias, start + 1)
    return False


def find_spec(name_or_key: str) -> Optional[GPUSpec]:
    """The spec for a key (case-insensitive) or a CUDA device name, or ``None`` if unknown.

    ``find_spec("NVIDIA H100 80GB HBM3")`` and ``find_spec("h100-sxm")`` both
    return the H100 SXM spec. Device names are matched against each spec's
    aliases (word-bounded substrings; the longest matching alias wins).
    """
    if not isinstance(name_or_key, str):
        raise TypeError(f"name_or_key must be a string (a spec key or a CUDA device name); "
                        f"got {type(name_or_key).__name__}")
    low = " ".join(name_or_key.lower().split())
    if not low:
        return None
    if low in GPUS:
        return GPUS[low]
    best: Optional[GPUSpec] = None
    best_len = 0
    for s in _TABLE:
        for alias in s.aliases:
            if len(alias) > best_len and _alias_matches(alias, low):
                best, best_len = s, len(alias)
    return best


def spec(key: str) -> GPUSpec:
    """The spec for ``key`` (or a CUDA device name); ``ValueError`` listing the known keys if unknown."""
    from .errors import check_choice

    if isinstance(key, str):
        found = find_spec(key)
        if found is not None:
            return found
    return GPUS[check_choice("GPU", key, GPUS)]  # raises: unknown GPU 'x'; known: 't4', ...


__all__ = ["GPUSpec", "GPUS", "PRECISIONS", "SOURCE_GROUPS", "CC_SOURCE", "find_spec", "spec"]
