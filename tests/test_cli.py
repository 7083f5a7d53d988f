import subprocess
import sys

import pytest


def cli(*args):
    return subprocess.run([sys.executable, "-m", "labkernels.cli", *args], capture_output=True, text=True,
                          timeout=300)


def test_info_runs_and_names_the_gpu_or_its_absence():
    r = cli("info")
    assert r.returncode == 0, r.stderr
    assert "GPU:" in r.stdout and "capabilities" in r.stdout and "ceilings" in r.stdout
    assert "fp16/v01_naive_numba" in r.stdout


def test_info_models_another_gpu():
    r = cli("info", "--gpu", "l4")
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize("args, msg", [
    (["info", "--gpu", "h900"], "unknown GPU 'h900'"),
    (["check", "fp16/v99_magic"], "unknown variant 'fp16/v99_magic'"),
    (["ptx", "fp16/v00_cublas"], "has no CUDA C source"),
    (["ptx", "fp16/v02_naive", "--arch", "sm_91"], "unknown arch"),
])
def test_user_errors_are_one_line_and_exit_2(args, msg):
    r = cli(*args)
    assert r.returncode == 2
    assert msg in r.stderr and "Traceback" not in r.stderr


def test_ptx_grep():
    r = cli("ptx", "fp16/v03_gemv_warp", "--grep", "shfl.sync")
    assert r.returncode == 0 and "occurrence" in r.stdout


def test_list():
    r = cli("list")
    assert r.returncode == 0 and "fp16/v00_cublas" in r.stdout


def test_readme_tables_match_committed_results():
    import pathlib

    root = pathlib.Path(__file__).resolve().parents[1]
    r = subprocess.run([sys.executable, str(root / "benchmarks" / "readme.py"), "--check"], capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stderr
