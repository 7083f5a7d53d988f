"""benchmarks/ncu_source.py: an Nsight Compute source page summarized by opcode, stall and wavefront."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

HEADER = ["Address", "Source", "Warp Stall Sampling (All Samples)", "Instructions Executed",
          "L1 Wavefronts Shared", "stall_short_sb", "stall_wait", "stall_short_sb (Not Issued)"]
ROWS = [["0x1000", "FMUL R1, R2, R3", "30", "100", "0", "25", "5", "0"],
        ["0x1010", "@!P0  LDS.128 R4, [R5]", "10", "20", "80", "0", "10", "0"],
        ["0x1020", "FFMA R1, R2, R3, R1", "60", "100", "0", "0", "0", "0"]]


def test_summary_by_opcode_stall_and_wavefront(tmp_path):
    f = tmp_path / "k-sass.csv"
    f.write_text('"Kernel Name","k",\n' + "\n".join(",".join(f'"{c}"' for c in r) for r in [HEADER] + ROWS) + "\n")
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "ncu_source.py"), str(f)],
                         capture_output=True, text=True, check=True).stdout
    assert "100 samples, 220 warp instructions executed" in out
    lines = {ln.split()[0]: ln.split()[1:] for ln in out.splitlines() if ln.startswith("  ") and ln.split()}
    assert lines["FMUL"][:2] == ["45.45", "30.00"]     # % of executed, % of samples
    assert lines["LDS"][:2] == ["9.09", "10.00"]       # the predicated instruction counted under its opcode
    assert "short_sb" in out and "FMUL 25.0%" in out
    assert "100.0% of wavefronts,   4.0 each" in out   # 80 wavefronts over 20 executions
