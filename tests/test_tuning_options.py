"""The tuning options of the TMA-fed and tensor-core GEMV kernels (int8/v10, dequant/v10,
blockscaled/v07): the defaults pass, every setting outside what the kernels compile for is refused
with a ValueError naming the settings, before any GPU is needed."""
import pytest

from labkernels.kernels import blockscaled, dequant, int8


def test_defaults_are_accepted():
    assert int8.v10_config() == int8.V10_DEFINES
    assert dequant.v10_config(3584) == dequant.V10_TUNING(3584)
    assert dequant.v10_config(1024) == dequant.V10_TUNING(1024)
    assert blockscaled.v07_config(None) == blockscaled.V07_DEFINES


@pytest.mark.parametrize("tuning", [{"BN": 192}, {"STAGES": 5}, {"STAGES": 1}, {"GROUP_M": 3}, {"PIPE": 2},
                                    {"PERSIST": -1}, {"WGS": 2}])
def test_int8_v10_refuses(tuning):
    with pytest.raises(ValueError, match="A8W8 v10 tuning takes"):
        int8.v10_config(tuning)


@pytest.mark.parametrize("tuning", [{"TPW": 3}, {"KCH": 200}, {"KCH": 4096}, {"TPW": 4, "KCH": 1024}, {"STAGES": 4},
                                    {"WARPS": 3}, {"HINT": 2}, {"KS": 2}, {"TPW": 2.0}])
def test_dequant_v10_refuses(tuning):
    with pytest.raises(ValueError, match="W4A16 v10 tuning takes"):
        dequant.v10_config(1024, tuning)


@pytest.mark.parametrize("tuning", [{"CONSUMERS": 3, "BN": 192}, {"CONSUMERS": 3, "DUAL": 1},
                                    {"CONSUMERS": 3, "STAGES": 3}, {"CONSUMERS": 4}, {"BN": 256},
                                    {"DUAL": 1, "PINGPONG": 1}, {"HALVES": 1},
                                    {"STAGES": True}, {"FOO": 1}])
def test_blockscaled_v07_refuses(tuning):
    with pytest.raises(ValueError, match="MXFP8 v07"):
        blockscaled.v07_config(tuning)


def test_every_gpu_test_setting_is_accepted():
    """The settings the GPU tests check are ones the launchers take (with the defaults they were written
    against spelled out): a changed default must not turn a GPU test into a ValueError."""
    from test_gpu_blockscaled import V07_TUNINGS
    from test_gpu_dequant import GEMV_TUNINGS
    from test_gpu_int8 import HOPPER_TILINGS

    for t in V07_TUNINGS:
        blockscaled.v07_config(t)
    for _, launch, t in HOPPER_TILINGS:
        if launch == "mma_tma_gemm":
            int8.v10_config(t)
    for vid, _, t in GEMV_TUNINGS:
        if vid == "dequant/v10_mma_gemv":
            dequant.v10_config(1, t)


@pytest.mark.parametrize("K, G, kch, gs", [(8192, 64, 512, 128), (8192, 256, 128, 32), (4096, 64, 1024, 64),
                                           (8192, 1, 512, 0), (8192, 32, 128, 0)])
def test_dequant_v10_group_define(K, G, kch, gs):
    """Group boundaries go to compile time only when the group size divides a chunk."""
    assert dequant.v10_group_define(K, G, kch) == gs


@pytest.mark.parametrize("gs", [32, 64, 128])
def test_dequant_v10_static_groups_compile(gs):
    """The compile-time group path (GS) builds and keeps every instruction v10 promises."""
    from labkernels import build, registry
    v = registry.get("dequant/v10_mma_gemv")
    c = build.compile_file(v.source, "sm_90", {**dequant.V10_TUNING(3584), "GS": gs})
    for p in v.promises:
        assert p in c.ptx, f"v10 with GS={gs}: {p!r} missing from its PTX"
