#!/usr/bin/env bash
# One GPU call: MXFP8 v07's settings at 8192^3 (benchmarks/tune_mxfp8.py: each checked against the
# float64 reference and v04, then timed beside v04, plain FP8 and torch._scaled_mm).
#   OUT=/some/dir bash scripts/session_mxfp8.sh
. "$(dirname "$0")/session_env.sh"
timeout 200 python3 benchmarks/tune_mxfp8.py --iters 10 > "$OUT/tune_mxfp8.log" 2>&1; echo "tune mxfp8 rc=$?"
grep -E "FAILED|TFLOP" "$OUT/tune_mxfp8.log"
if [ -n "${PROFILE:-}" ] && command -v ncu > /dev/null; then
  timeout 150 ncu --target-processes all --clock-control none -k regex:mxfp8_wgmma_tma --launch-skip 2 --launch-count 1 \
      --section SpeedOfLight --section WarpStateStats --section MemoryWorkloadAnalysis --section ComputeWorkloadAnalysis \
      --metrics sm__inst_executed_pipe_fma.avg.pct_of_peak_sustained_active,smsp__issue_active.avg.pct_of_peak_sustained_active \
      python3 benchmarks/diagnose.py blockscaled/v07_mxfp8_tma --m 8192 --n 8192 --k 8192 --launches 4 \
      > "$OUT/ncu-v07.txt" 2>&1
  grep -E "Duration|L1/TEX Cache|pipe_fma|issue_active|Issue Slots" "$OUT/ncu-v07.txt"
fi
