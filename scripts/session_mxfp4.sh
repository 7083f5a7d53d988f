#!/usr/bin/env bash
# One GPU call: the lesson-3 GPU tests (MXFP4 v07 among them), then the lesson-3 benchmark.
#   OUT=/some/dir bash scripts/session_mxfp4.sh
. "$(dirname "$0")/session_env.sh"
timeout 200 python3 -m pytest -m gpu -q -p no:cacheprovider tests/test_gpu_blockscaled.py > "$OUT/pytest-gpu-blockscaled.log" 2>&1
rc=$?; echo "pytest rc=$rc"; grep -E "passed|failed|FAILED" "$OUT/pytest-gpu-blockscaled.log" | tail -5
if [ "$rc" = 0 ]; then
  timeout 330 python3 benchmarks/blockscaled.py --out "$RES/blockscaled" > "$OUT/blockscaled.log" 2>&1; echo "bench rc=$?"
  tar -C "$RES" -czf "$OUT/results.tgz" blockscaled
  grep -A14 "emulated FP4 GEMMs" "$OUT/blockscaled.log" | head -40
fi
exit $rc
