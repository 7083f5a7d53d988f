#!/usr/bin/env bash
# One GPU call: MXFP8 v07 scale-delivery settings (benchmarks/tune_mxfp8.py) and W4A16 v10 with its
# group scales loaded a group ahead (benchmarks/dequant.py --tune-v10), each after its GPU tests.
#   OUT=/some/dir bash scripts/session_scales.sh
. "$(dirname "$0")/session_env.sh"
timeout 150 python3 benchmarks/tune_mxfp8.py --iters 10 > "$OUT/tune_mxfp8.log" 2>&1; echo "tune mxfp8 rc=$?"
tail -28 "$OUT/tune_mxfp8.log"
timeout 120 python3 -m pytest -m gpu -q -p no:cacheprovider tests/test_gpu_dequant.py -k "v10 or mma_gemv or variant" \
    > "$OUT/pytest-gpu-dequant.log" 2>&1
echo "pytest dequant rc=$?"; grep -E "passed|failed|FAILED" "$OUT/pytest-gpu-dequant.log" | tail -5
timeout 280 python3 benchmarks/dequant.py --tune-v10 > "$OUT/tune_w4a16_v10.log" 2>&1; echo "tune v10 rc=$?"
grep -E "best|cuBLAS|M = |^[A-Z]" "$OUT/tune_w4a16_v10.log" | head -30
