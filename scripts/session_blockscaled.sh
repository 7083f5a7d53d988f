#!/usr/bin/env bash
# One GPU call for lesson 3: its GPU tests, the block-scaled benchmark, the crossover sweep and a
# sanitizer pass over the block-scaled kernels. Logs in $OUT, results in $OUT/results.tgz.
#   OUT=/some/dir bash scripts/session_blockscaled.sh
. "$(dirname "$0")/session_env.sh"
python3 -m pytest -m gpu -q -p no:cacheprovider tests/test_gpu_blockscaled.py tests/test_gpu_fp8.py \
  tests/test_blockscaled_quantize.py tests/test_blockscaled_native.py > "$OUT/pytest-gpu.log" 2>&1
tail -3 "$OUT/pytest-gpu.log"
python3 benchmarks/blockscaled.py --out "$RES/blockscaled" > "$OUT/blockscaled.log" 2>&1
echo "benchmark rc=$?"
python3 -m labkernels.cli crossover --out "$RES/crossover-gpu" > "$OUT/crossover-gpu.log" 2>&1
echo "crossover rc=$?"
tar -czf "$OUT/results.tgz" -C "$RES" .
timeout "${SANITIZE_S:-150}" python3 scripts/sanitize.py --out "$RES/sanitizer" --variants blockscaled --quick \
  > "$OUT/sanitize.log" 2>&1
echo "sanitizer rc=$?"
tar -czf "$OUT/results.tgz" -C "$RES" .
