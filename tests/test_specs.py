"""The datasheet table: every figure present, sourced and self-consistent; names resolve."""
import pytest

from labkernels import specs
from labkernels.specs import GPUS, PRECISIONS, SOURCE_GROUPS, GPUSpec, find_spec, spec

ALL = list(GPUS.values())
IDS = list(GPUS)


def test_table_keys_and_required_gpus():
    for key in ["t4", "l4", "a10g", "a10", "a100-40gb", "a100-80gb", "a100-80gb-pcie", "h100-sxm",
                "h100-pcie", "h200", "b200", "rtx-4090", "rtx-pro-6000"]:
        assert key in GPUS, key
    for key, s in GPUS.items():
        assert isinstance(s, GPUSpec)
        assert s.key == key
        assert key == key.lower() and " " not in key


@pytest.mark.parametrize("s", ALL, ids=IDS)
def test_positive_figures(s):
    assert isinstance(s.sms, int) and s.sms > 0
    assert s.bw_tbps > 0 and s.l2_mb > 0 and s.mem_gb > 0
    assert isinstance(s.cc, tuple) and len(s.cc) == 2 and all(isinstance(x, int) for x in s.cc)
    assert s.name and s.aliases
    for a in s.aliases:
        assert a == a.lower() and a.strip() == a and a


@pytest.mark.parametrize("s", ALL, ids=IDS)
def test_peaks_shape(s):
    assert set(s.peaks) == set(PRECISIONS)
    for p, v in s.peaks.items():
        assert v is None or (isinstance(v, float) and v > 0), (p, v)
    # every GPU here has fp16 and int8 Tensor Cores and an fp32 figure
    assert s.peaks["fp16"] and s.peaks["int8"] and s.peaks["fp32"]
    # Tensor Core fp16 is above the FFMA rate on every GPU in the table (2x on GeForce, 8-15x on data-centre parts)
    assert s.peaks["fp16"] >= 1.99 * s.peaks["fp32"]


@pytest.mark.parametrize("s", ALL, ids=IDS)
def test_every_figure_group_has_a_source(s):
    for g in SOURCE_GROUPS:
        assert isinstance(s.sources.get(g), str) and len(s.sources[g]) > 20, (s.key, g)


@pytest.mark.parametrize("s", ALL, ids=IDS)
def test_fp8_exactly_from_sm89(s):
    assert (s.peaks["fp8"] is None) == (s.cc < (8, 9)), s.key


@pytest.mark.parametrize("s", ALL, ids=IDS)
def test_fp4_only_from_sm100(s):
    assert (s.peaks["fp4"] is not None) == (s.cc >= (10, 0)), s.key


@pytest.mark.parametrize("s", ALL, ids=IDS)
def test_precision_ordering(s):
    p = s.peaks
    assert p["int8"] >= p["fp16"]
    if p["bf16"] is not None:
        assert p["bf16"] == p["fp16"]
    if p["tf32"] is not None:
        assert p["tf32"] <= p["fp16"]
    if p["fp8"] is not None:
        assert p["fp8"] >= p["fp16"]
    if p["fp4"] is not None:
        assert p["fp4"] >= p["fp8"]


@pytest.mark.parametrize("s", ALL, ids=IDS)
def test_bf16_and_tf32_only_from_ampere(s):
    assert (s.peaks["bf16"] is None) == (s.cc < (8, 0))
    assert (s.peaks["tf32"] is None) == (s.cc < (8, 0))


def test_sparse_figures_were_halved():
    """Datasheet cross-checks: the sparse figures with an asterisk, halved."""
    assert GPUS["h100-sxm"].peaks["fp16"] == pytest.approx(1979 / 2, rel=1e-3)
    assert GPUS["h100-sxm"].peaks["fp8"] == pytest.approx(3958 / 2, rel=1e-3)
    assert GPUS["l4"].peaks["fp8"] == pytest.approx(485 / 2, rel=1e-3)
    assert GPUS["b200"].peaks["fp4"] == pytest.approx(144_000 / 8 / 2)


def test_reference_points():
    h = GPUS["h100-sxm"]
    assert (h.peaks["fp16"], h.peaks["fp8"], h.peaks["int8"]) == (989.4, 1978.9, 1978.9)
    assert (h.bw_tbps, h.sms, h.l2_mb, h.cc) == (3.35, 132, 50.0, (9, 0))
    for key, bw in [("a100-40gb", 1.555), ("a100-80gb", 2.039), ("a100-80gb-pcie", 1.935)]:
        a = GPUS[key]
        assert (a.peaks["fp16"], a.peaks["int8"], a.bw_tbps) == (312.0, 624.0, bw)
    l4 = GPUS["l4"]
    assert l4.peaks["fp16"] == 121.0 and l4.peaks["int8"] == pytest.approx(242, abs=1) and l4.bw_tbps == 0.3
    t4 = GPUS["t4"]
    assert (t4.peaks["fp16"], t4.peaks["int8"], t4.bw_tbps) == (65.0, 130.0, 0.32)
    assert GPUS["b200"].cc == (10, 0)
    assert GPUS["rtx-pro-6000"].cc == (12, 0) and GPUS["rtx-5090"].cc == (12, 0)


def test_geforce_fp32_accumulate_is_half_rate():
    # GeForce records the FP32-accumulate figure: half of int8/2 (the FP16-accumulate rate)
    for key in ["rtx-4090", "rtx-5090"]:
        p = GPUS[key].peaks
        assert p["fp16"] == pytest.approx(p["int8"] / 4, rel=0.01)
        assert "half" in GPUS[key].notes.lower()
    # professional Blackwell runs it at full rate
    p = GPUS["rtx-pro-6000"].peaks
    assert p["fp16"] == pytest.approx(p["int8"] / 2, rel=0.01)


@pytest.mark.parametrize("device_name, key", [
    ("NVIDIA H100 80GB HBM3", "h100-sxm"),
    ("Tesla T4", "t4"),
    ("NVIDIA A100-SXM4-80GB", "a100-80gb"),
    ("NVIDIA A100-SXM4-40GB", "a100-40gb"),
    ("NVIDIA A100-PCIE-40GB", "a100-40gb"),
    ("NVIDIA A100 80GB PCIe", "a100-80gb-pcie"),
    ("NVIDIA L4", "l4"),
    ("NVIDIA A10G", "a10g"),
    ("NVIDIA A10", "a10"),
    ("NVIDIA H100 PCIe", "h100-pcie"),
    ("NVIDIA H100 NVL", "h100-nvl"),
    ("NVIDIA H200", "h200"),
    ("NVIDIA H200 NVL", "h200-nvl"),
    ("NVIDIA B200", "b200"),
    ("NVIDIA GeForce RTX 4090", "rtx-4090"),
    ("NVIDIA GeForce RTX 5090", "rtx-5090"),
    ("NVIDIA RTX PRO 6000 Blackwell Server Edition", "rtx-pro-6000"),
    ("NVIDIA RTX PRO 6000 Blackwell Workstation Edition", "rtx-pro-6000"),
    ("  nvidia   h100 80gb HBM3 ", "h100-sxm"),
])
def test_find_spec_device_names(device_name, key):
    s = find_spec(device_name)
    assert s is not None, device_name
    assert s.key == key
    assert spec(device_name) is s


@pytest.mark.parametrize("key", IDS)
def test_find_spec_keys_case_insensitive(key):
    assert find_spec(key) is GPUS[key]
    assert find_spec(key.upper()) is GPUS[key]
    assert spec(key.upper()) is GPUS[key]


@pytest.mark.parametrize("name", [
    "NVIDIA L40S",            # must not be taken for an L4
    "NVIDIA A100X",           # nor an A100 variant for the A10
    "NVIDIA GeForce RTX 3090",
    "NVIDIA GB200",
    "Tesla V100-SXM2-16GB",
    "",
    "cpu",
])
def test_find_spec_unknown(name):
    assert find_spec(name) is None


def test_aliases_resolve_to_their_own_spec():
    for s in ALL:
        for a in s.aliases:
            assert find_spec(a) is s, (s.key, a)
            assert find_spec(f"NVIDIA {a.removeprefix('nvidia ')}") is s, (s.key, a)


def test_unknown_name_lists_known_keys():
    with pytest.raises(ValueError) as e:
        spec("nvidia-x9000")
    msg = str(e.value)
    assert "unknown GPU 'nvidia-x9000'" in msg and "known:" in msg
    for key in GPUS:
        assert repr(key) in msg


def test_non_string_is_a_type_error():
    with pytest.raises(TypeError):
        spec(100)
    with pytest.raises(TypeError):
        find_spec(None)


def test_peak_accessor():
    h = spec("h100-sxm")
    assert h.peak("FP8") == 1978.9
    assert h.peak("fp4") is None
    assert h.arch == "sm_90"
    with pytest.raises(ValueError, match="known"):
        h.peak("fp64")


def test_module_has_no_heavy_imports():
    src = open(specs.__file__).read()
    imports = [ln.strip() for ln in src.splitlines() if ln.startswith(("import ", "from "))]
    assert all(ln.startswith(("from __future__", "from dataclasses", "from typing")) for ln in imports), imports
