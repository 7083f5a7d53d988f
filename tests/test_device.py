import subprocess
import sys

import pytest

from labkernels import UnsupportedDevice, device


def test_import_without_gpu_does_not_touch_cuda():
    # A fresh interpreter: importing the package must not initialise CUDA or fail.
    code = "import labkernels, sys; assert 'cupy' not in sys.modules, 'cupy imported at import time'; print('ok')"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "ok"


def test_no_gpu_is_reported_with_a_reason(monkeypatch):
    monkeypatch.setenv("LABKERNELS_NO_GPU", "1")
    device.gpu.cache_clear()
    try:
        assert device.gpu() is None
        assert "LABKERNELS_NO_GPU" in device.why_no_gpu()
        with pytest.raises(UnsupportedDevice, match="needs a CUDA GPU"):
            device.require_gpu("this test")
    finally:
        monkeypatch.delenv("LABKERNELS_NO_GPU")
        device.gpu.cache_clear()


@pytest.mark.parametrize("cc, has, lacks", [
    ((7, 5), ["dp4a", "wmma_s8", "mma_s8_m8n8k16", "ldmatrix"], ["mma_s8_m16n8k32", "cp_async", "mma_fp8"]),
    ((8, 0), ["mma_s8_m16n8k32", "mma_f16_m16n8k16", "cp_async"], ["mma_fp8", "wgmma"]),
    ((8, 9), ["mma_fp8", "cvt_fp8"], ["wgmma", "tma", "cvt_fp4"]),
    ((9, 0), ["wgmma", "tma", "mma_fp8"], ["tcgen05", "mma_block_scale", "cvt_fp4"]),
    ((10, 0), ["tcgen05", "cvt_fp4", "mma_fp8"], ["mma_block_scale", "wgmma"]),
    ((12, 0), ["mma_block_scale", "cvt_fp4", "mma_fp8"], ["tcgen05", "wgmma"]),
])
def test_capability_table(cc, has, lacks):
    caps = device.capabilities(cc)
    for f in has:
        assert caps[f], f"sm_{cc[0]}{cc[1]} should have {f}"
    for f in lacks:
        assert not caps[f], f"sm_{cc[0]}{cc[1]} should not have {f}"


def test_arch_names():
    assert device.arch((9, 0)) == "sm_90"
    assert device.arch((9, 0), specific=True) == "sm_90a"
    assert device.arch((12, 0), specific=True) == "sm_120a"
    assert device.arch((8, 6), specific=True) == "sm_86"  # no arch-specific target before Hopper


def test_require_names_feature_gpu_and_alternative(monkeypatch):
    fake = device.GPU(index=0, name="Tesla T4", cc=(7, 5), sms=40, l2_bytes=4 << 20, mem_bytes=16 << 30,
                      clock_mhz=1590, driver="12.4", runtime="12.4")
    monkeypatch.setattr(device, "gpu", lambda: fake)
    with pytest.raises(UnsupportedDevice) as e:
        device.require("mma_fp8", "the FP8 GEMM", alternative="fp8/v01_dequant_fp16")
    msg = str(e.value)
    assert "sm_89" in msg and "Tesla T4" in msg and "sm_75" in msg and "fp8/v01_dequant_fp16" in msg
    assert device.require("dp4a", "dp4a GEMV") is fake


def test_unknown_feature_lists_known():
    with pytest.raises(ValueError, match="unknown feature 'mma_fp9'.*known"):
        device.require("mma_fp9", "x")


def test_versions_has_core_packages():
    v = device.versions()
    assert v["numpy"] and v["python"]
