import dataclasses
import math

import pytest
from hypothesis import given, settings, strategies as st

from labkernels import roofline as rl, specs

H100 = rl.datasheet_ceilings("h100-sxm")


def test_flops_and_bytes_exact_for_small_shapes():
    assert rl.flops(2, 3, 4) == 48
    # fp16: X 2x4x2 B + W 3x4x2 B + Y 2x3x2 B
    assert rl.bytes_moved("fp16", 2, 3, 4) == 16 + 24 + 12
    # w4a16, group 128, K=256: X 1x256x2 + W 8x256/2 + scales 8x2x2 + Y 1x8x2
    assert rl.bytes_moved("w4a16", 1, 8, 256) == 512 + 1024 + 32 + 16
    assert rl.bytes_moved("w4a16", 1, 8, 256, group_size=64, zeros=True) == 512 + 1024 + 8 * 4 * 2 + 8 * 4 + 16
    # nvfp4: 4 bits + one e4m3 per 16 = 4.5 bits
    assert rl.bytes_moved("nvfp4", 1, 16, 32) == (32 * 4.5 + 16 * 32 * 4.5 + 16 * 16) / 8


def test_bits_per_weight_match_reference_table():
    assert rl.FORMATS["w4a16"].w_bits == pytest.approx(4.125)
    assert rl.FORMATS["mxfp4"].w_bits == 4.25
    assert rl.FORMATS["nvfp4"].w_bits == 4.5
    assert rl.FORMATS["mxfp8"].w_bits == 8.25


def test_bound_picks_the_largest_ceiling():
    b = rl.bound("fp16", 1, 8192, 8192, H100)
    assert b.kind == "memory" and b.time_us == pytest.approx(b.bytes / H100.bw * 1e6)
    b = rl.bound("fp16", 8192, 8192, 8192, H100)
    assert b.kind == "mma" and b.time_us == pytest.approx(2 * 8192**3 / H100.mma["fp16"] * 1e6)


def test_w4a16_pays_dequant_alu_and_mxfp8_pays_rescale_on_hopper():
    b = rl.bound("w4a16", 4096, 8192, 8192, H100)
    assert b.alu_us > 0 and b.serial_us > b.time_us
    assert rl.bound("fp16", 4096, 8192, 8192, H100).alu_us == 0
    assert rl.bound("mxfp8", 4096, 8192, 8192, H100).alu_us > 0
    b200 = rl.datasheet_ceilings("b200")
    assert rl.bound("mxfp8", 4096, 8192, 8192, b200).alu_us == 0  # native block scaling
    assert rl.bound("mxfp4", 4096, 8192, 8192, b200).mma_precision == "fp4"


def test_fp8_falls_back_to_fp16_mma_below_sm89():
    t4 = rl.datasheet_ceilings("t4")
    b = rl.bound("fp8", 4096, 4096, 4096, t4)
    assert b.mma_precision == "fp16" and not b.native and b.alu_us > 0


@settings(max_examples=60, deadline=None)
@given(fmt=st.sampled_from(sorted(rl.FORMATS)), m=st.integers(1, 20000), n=st.integers(1, 30000),
       k=st.sampled_from([32, 64, 128, 1024, 4096, 8192]), gpu=st.sampled_from(["h100-sxm", "a100-80gb", "l4", "b200"]))
def test_bound_is_monotone_in_m(fmt, m, n, k, gpu):
    c = rl.datasheet_ceilings(gpu)
    assert rl.bound(fmt, m + 1, n, k, c).time_us >= rl.bound(fmt, m, n, k, c).time_us


@settings(max_examples=40, deadline=None)
@given(fmt=st.sampled_from(sorted(rl.FORMATS)), n=st.sampled_from([1024, 4096, 8192, 28672]),
       k=st.sampled_from([1024, 4096, 8192]), gpu=st.sampled_from(["h100-sxm", "a100-80gb", "l4", "t4"]))
def test_ridge_closed_form_agrees_with_numeric_solve(fmt, n, k, gpu):
    c = rl.datasheet_ceilings(gpu)
    m_star = rl.ridge_m(fmt, n, k, c)
    assume_finite = math.isfinite(m_star)
    if not assume_finite:
        return

    def gap(m):  # memory - mma as a continuous function of M
        f = rl.get_format(fmt)
        ex = f.execution(c.cc)
        nbytes = (m * k * f.a_bits + n * k * f.w_bits + m * n * f.out_bits) / 8
        return nbytes / c.bw - 2 * m * n * k / c.mma[ex.mma]

    lo, hi = 1e-6, 1e7
    for _ in range(200):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if gap(mid) > 0 else (lo, mid)
    assert m_star == pytest.approx(lo, rel=1e-6)


def test_crossover_matches_brute_force():
    measured_like = rl.Ceilings(gpu="test", key="", cc=(9, 0), source="measured", bw=2.97e12,
                                mma={"fp16": 644e12, "int8": 1291e12, "fp8": 1263e12, "fp4": 0},
                                library={"fp16": 738e12, "int8": 870e12, "fp8": 1396e12, "fp4": 0},
                                alu=15.4e12, ffma=29e12)
    xs = rl.crossovers("w4a16", "a8w8", 8192, 8192, measured_like)
    assert len(xs) == 1
    brute = next(m for m in range(1, 5000) if rl.bound("a8w8", m, 8192, 8192, measured_like).time_us
                 < rl.bound("w4a16", m, 8192, 8192, measured_like).time_us)
    assert xs[0] == brute
    # Ideal REFERENCE.md estimate: A8W8 wins above about P_fp16 / (2·BW) ≈ 108 (mma.sync rate)
    assert 0.5 * 644e12 / (2 * 2.97e12) < xs[0] < 2 * 644e12 / (2 * 2.97e12)


def test_every_spec_gpu_has_datasheet_ceilings():
    for key in specs.GPUS:
        c = rl.datasheet_ceilings(key)
        assert c.bw > 0 and c.mma["fp16"] > 0 and c.alu > 0 and c.source == "datasheet"
        for fmt in rl.FORMATS:
            assert rl.bound(fmt, 64, 4096, 4096, c).time_us > 0


def test_bad_input():
    with pytest.raises(ValueError, match="unknown format 'int3'.*known"):
        rl.bound("int3", 1, 1, 1, H100)
    with pytest.raises(ValueError, match="M must be >= 1"):
        rl.bound("fp16", 0, 1, 1, H100)
    with pytest.raises(TypeError, match="N must be an integer"):
        rl.bound("fp16", 1, 2.5, 1, H100)
    with pytest.raises(ValueError, match="unknown GPU"):
        rl.datasheet_ceilings("h900")
    with pytest.raises(ValueError, match="no fp4 MMA rate"):
        H100.mma_rate("fp4")
    with pytest.raises(ValueError, match="unknown source"):
        rl.ceilings_for("h100-sxm", "guess")


def test_ceilings_json_round_trip():
    assert rl.Ceilings.from_json(H100.to_json()) == H100


def test_each_kernel_is_bounded_by_the_instruction_it_is_built_on():
    from labkernels import registry, runner

    expect = {"int8/v01_dp4a_numba": "dp4a", "int8/v02_dp4a_gemv": "dp4a", "int8/v03_dp4a_gemm": "dp4a",
              "int8/v04_wmma": "wmma", "dequant/v05_gemm_wmma": "wmma", "int8/v05_mma_m8n8k16": "mma_sync",
              "int8/v06_mma_gemm": "mma_sync", "int8/v09_wgmma": "wgmma", "int8/v10_mma_tma": "mma_sync",
              "fp8/v04_wgmma": "wgmma",
              "int8/v00_torch_int_mm": "library"}
    for vid, path in expect.items():
        assert runner.kernel_path(registry.get(vid)) == path, vid


def test_dp4a_wmma_and_wgmma_paths():
    c = rl.datasheet_ceilings("h100-sxm")
    # dp4a: int8 only, on the CUDA cores: far below any Tensor Core path.
    assert c.mma_rate("int8", "dp4a") == c.dp4a == 8 * c.alu
    with pytest.raises(ValueError, match="dp4a has no fp16 MMA rate"):
        c.mma_rate("fp16", "dp4a")
    b_dp4a = rl.bound("a8w8", 4096, 8192, 8192, c, path="dp4a")
    b_mma = rl.bound("a8w8", 4096, 8192, 8192, c)
    assert b_dp4a.kind == b_mma.kind == "mma" and b_dp4a.time_us == pytest.approx(b_mma.time_us * c.mma["int8"] / c.dp4a)
    # WMMA has no fp8; wgmma exists on sm_90 only.
    with pytest.raises(ValueError, match="no fp8 MMA rate \\(wmma\\)"):
        c.mma_rate("fp8", "wmma")
    with pytest.raises(ValueError, match="wgmma is sm_90a only"):
        rl.datasheet_ceilings("a100-80gb").mma_rate("int8", "wgmma")
    t4 = rl.datasheet_ceilings("t4")
    assert t4.dp4a > 0 and t4.wmma["int8"] > 0 and not t4.wgmma


def test_measured_paths_win_and_old_ceilings_files_still_load():
    c = rl.datasheet_ceilings("h100-sxm")
    m = dataclasses.replace(c, source="measured", wgmma={"int8": 1.5e15}, wmma={"int8": 6e14, "fp16": 6e14}, dp4a=9e13)
    assert m.mma_rate("int8", "wgmma") == 1.5e15 and m.mma_rate("int8", "wmma") == 6e14
    assert m.mma_rate("int8", "dp4a") == 9e13
    assert m.mma_rate("fp8", "wgmma") == c.wgmma["fp8"]  # not measured: the datasheet peak
    old = m.to_json()
    for k in ("wgmma", "wmma", "dp4a"):
        del old[k]
    o = rl.Ceilings.from_json(old)
    assert o.wmma == {"fp16": c.mma["fp16"], "int8": c.mma["int8"]} and o.dp4a == 8 * c.alu
    assert "WMMA assumed" in o.notes and o.mma_rate("int8", "wgmma") == c.wgmma["int8"]


def test_roofline_figure_draws_other_paths():
    from labkernels import plot

    c = rl.datasheet_ceilings("h100-sxm")
    fig = plot.roofline_figure(c, precisions=["int8", "fp16"], other_paths=["dp4a", "wmma", "wgmma"])
    labels = [t.get_text() for t in fig.axes[0].texts]
    assert "int8 dp4a 134" in labels and not any(t.startswith("fp16 dp4a") for t in labels)
    assert any(t.startswith("int8 wgmma") for t in labels) and any(t.startswith("fp16 wmma") for t in labels)
    with pytest.raises(ValueError, match="unknown other_paths 'tensor'"):
        plot.roofline_figure(c, other_paths=["tensor"])
