#!/usr/bin/env bash
# One GPU call: the GPU tests of the kernels touched since the last run, then Nsight Compute on
# MXFP8 v07 (8192^3) and W4A16 v10 (M = 16, 28672 x 8192): stall reasons a source line, pipe use, clock.
#   OUT=/some/dir bash scripts/session_profile.sh
. "$(dirname "$0")/session_env.sh"
if [ "${TESTS:-1}" = 1 ]; then
  timeout 200 python3 -m pytest -m gpu -q -p no:cacheprovider tests/test_gpu_fp16.py tests/test_gpu_int8.py \
      tests/test_gpu_blockscaled.py -k "${PYTEST_K:-wgmma or hopper or tma or fp16 or variant}" \
      > "$OUT/pytest-gpu.log" 2>&1
  echo "pytest rc=$?"; grep -E "passed|failed|FAILED|Error" "$OUT/pytest-gpu.log" | tail -8
fi
METRICS="smsp__cycles_elapsed.avg.per_second,sm__inst_executed_pipe_fma.avg.pct_of_peak_sustained_active"
METRICS+=",sm__pipe_fma_cycles_active.avg.pct_of_peak_sustained_active,smsp__issue_active.avg.pct_of_peak_sustained_active"
METRICS+=",sm__pipe_tensor_op_gmma_cycles_active.avg.pct_of_peak_sustained_active,sm__inst_executed_pipe_alu.avg.pct_of_peak_sustained_active"
METRICS+=",regex:smsp__average_warps_issue_stalled_.*_per_issue_active\.ratio"
prof() {  # name kernel-regex variant m n k
  local name=$1 re=$2 v=$3 m=$4 n=$5 k=$6
  timeout 200 ncu --target-processes all --clock-control none -k "regex:$re" --launch-skip 2 --launch-count 1 \
      --section SpeedOfLight --section ComputeWorkloadAnalysis --section WarpStateStats \
      --section InstructionStats --section SchedulerStats --section SourceCounters --section MemoryWorkloadAnalysis \
      --metrics "$METRICS" -o "$OUT/$name" -f \
      python3 benchmarks/diagnose.py "$v" --m "$m" --n "$n" --k "$k" --launches 4 > "$OUT/$name-run.txt" 2>&1
  echo "ncu $name rc=$?"; tail -3 "$OUT/$name-run.txt"
  ncu --import "$OUT/$name.ncu-rep" --page details > "$OUT/$name.txt" 2>&1
  ncu --import "$OUT/$name.ncu-rep" --page source --csv --print-source sass > "$OUT/$name-sass.csv" 2>&1
  echo "source page rc=$? $(wc -l < "$OUT/$name-sass.csv") lines"
  grep -E "Duration|SM Frequency|Issue Slots Busy|Issued Ipc|No Eligible|Warp Cycles Per Issued|cycles_elapsed.avg.per_second|pipe_fma|issue_active|gmma|pipe_alu|stalled_(wait|long|short|math|gmma|barrier|not_sel|selected|dispatch|mio|lg)" "$OUT/$name.txt" | head -40
}
if command -v ncu > /dev/null; then
  prof ncu-v07 mxfp8_wgmma_tma blockscaled/v07_mxfp8_tma 8192 8192 8192
  prof ncu-w4a16-v10 w4a16_mma_gemv dequant/v10_mma_gemv 16 28672 8192
else
  echo "no ncu on this machine"
fi
