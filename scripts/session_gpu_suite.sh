#!/usr/bin/env bash
# One GPU call: the whole GPU test suite, then W4A16 v10's tilings (benchmarks/dequant.py --tune-v10).
#   OUT=/some/dir bash scripts/session_gpu_suite.sh
. "$(dirname "$0")/session_env.sh"
timeout 100 python3 -m pytest -m gpu -q -p no:cacheprovider tests/test_gpu_dequant.py -k "v10 or mma_gemv" \
    > "$OUT/pytest-gpu-v10.log" 2>&1
rc=$?; echo "pytest v10 rc=$rc"; tail -2 "$OUT/pytest-gpu-v10.log"
if [ "$rc" = 0 ]; then
  timeout 240 python3 benchmarks/dequant.py --tune-v10 > "$OUT/tune_w4a16_v10.log" 2>&1; echo "tune v10 rc=$?"
  for s in "M=16 N=28672" "M=1 N=28672" "M=16 N=8192" "M=1 N=8192"; do
    grep "$s " "$OUT/tune_w4a16_v10.log" | grep tune | sort -t: -k2 -n | head -2; done
fi
if [ "${SUITE:-1}" = 1 ]; then
  timeout 330 python3 -m pytest -m gpu -q -p no:cacheprovider tests > "$OUT/pytest-gpu-full.log" 2>&1
  echo "pytest rc=$?"; grep -E "passed|failed|FAILED" "$OUT/pytest-gpu-full.log" | tail -8
fi
