#!/usr/bin/env bash
# One GPU call: int8/v10 (mma.sync fed by TMA) checked and tuned beside v06 and torch._int_mm at
# 8192^3, Nsight Compute on v10, and the pure-read floor of every GEMV benchmark size
# (benchmarks/probe_read.py; PROBE=0 skips it).
#   OUT=/some/dir scripts/session_mma_tma.sh
. "$(dirname "$0")/session_env.sh"
timeout 240 python3 -m pytest -m gpu -q -p no:cacheprovider tests/test_gpu_int8.py -k "v10 or mma_tma" 2>&1 \
    | tee "$OUT/pytest-v10.log"
rc=${PIPESTATUS[0]}
if [ "$rc" = 0 ]; then
    timeout 200 python3 benchmarks/tune_int8.py --gemm-only 2>&1 | tee "$OUT/tune_int8_gemm.log"
    if command -v ncu > /dev/null; then
        timeout 150 ncu --target-processes all -k regex:a8w8_mma --launch-skip 2 --launch-count 1 \
            --section SpeedOfLight --section ComputeWorkloadAnalysis --section MemoryWorkloadAnalysis \
            --section WarpStateStats --section Occupancy \
            --metrics regex:smsp__average_warps_issue_stalled_.*_per_issue_active\.ratio \
            python3 benchmarks/diagnose.py int8/v10_mma_tma --m 4096 --n 4096 --k 4096 --launches 4 \
            > "$OUT/ncu-v10.txt" 2>&1
        tail -5 "$OUT/ncu-v10.txt"
    fi
fi
if [ "${PROBE:-1}" = 1 ]; then
    timeout 200 python3 benchmarks/probe_read.py 2>&1 | tee "$OUT/probe_read.log"
fi
exit "$rc"
