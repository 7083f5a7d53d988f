#!/usr/bin/env bash
# One GPU call: the W4A16 GPU tests (v10, the tensor-core GEMV, among them), then v10's tilings at
# M = 16 and 1 on both benchmark shapes beside cuBLAS fp16 (benchmarks/dequant.py --tune-v10).
#   OUT=/some/dir bash scripts/session_w4a16_gemv.sh
. "$(dirname "$0")/session_env.sh"
timeout 200 python3 -m pytest -m gpu -q -p no:cacheprovider tests/test_gpu_dequant.py ${PYTEST_K:+-k "$PYTEST_K"} > "$OUT/pytest-gpu-dequant.log" 2>&1
rc=$?; echo "pytest rc=$rc"; grep -E "passed|failed|FAILED|Error" "$OUT/pytest-gpu-dequant.log" | head -20
timeout 300 python3 benchmarks/dequant.py --tune-v10 > "$OUT/tune_w4a16_v10.log" 2>&1; echo "tune rc=$?"
exit $rc
