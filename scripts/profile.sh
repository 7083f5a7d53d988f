#!/usr/bin/env bash
# Nsight Compute on one variant at one shape:  scripts/profile.sh VARIANT M N K [kernel-regex]
# Writes the report text to $OUT/ncu-<variant>-M<M>.txt.
set -uo pipefail
OUT=${OUT:-/tmp/labkernels-out}; mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
v=$1; m=$2; n=$3; k=$4; re=${5:-regex:^(w4a16|w8a16|fp16|a8w8|fp8)}
ncu --target-processes all --clock-control none -k "$re" --launch-skip 2 --launch-count 1 \
    --section SpeedOfLight --section Occupancy --section LaunchStats --section WarpStateStats \
    --section MemoryWorkloadAnalysis \
    python3 benchmarks/diagnose.py "$v" --m "$m" --n "$n" --k "$k" --launches 4 \
    > "$OUT/ncu-${v//\//_}-M$m.txt" 2>&1
grep -E "Duration|DRAM Throughput|Memory Throughput|Compute \(SM\)|Achieved Occupancy|Registers Per|Theoretical Occ|Stall|Warp Cycles Per Issued|Block Limit|PASS|FAIL" "$OUT/ncu-${v//\//_}-M$m.txt" | head -40
