#!/usr/bin/env bash
# The closing GPU calls of a session:
#   PART=tests OUT=/some/dir bash scripts/session_final.sh   the whole GPU suite, then MXFP8 v07's tunings
#   PART=bench OUT=/some/dir bash scripts/session_final.sh   the lesson-1 and lesson-3 benchmarks
. "$(dirname "$0")/session_env.sh"
if [ "${PART:-tests}" = tests ]; then
  # the newest kernel settings first, on a short leash: a pipeline that hangs must not eat the call
  timeout 100 python3 -m pytest -m gpu -q -p no:cacheprovider tests/test_gpu_blockscaled.py -k mxfp8_tma \
      > "$OUT/pytest-gpu-mxfp8-tma.log" 2>&1
  echo "pytest (v07) rc=$?"; tail -2 "$OUT/pytest-gpu-mxfp8-tma.log"
  timeout 330 python3 -m pytest -m gpu -q -p no:cacheprovider tests > "$OUT/pytest-gpu-full.log" 2>&1
  echo "pytest rc=$?"; grep -E "passed|failed|FAILED" "$OUT/pytest-gpu-full.log" | tail -15
  timeout 120 python3 benchmarks/tune_mxfp8.py --iters 10 > "$OUT/tune_mxfp8.log" 2>&1; echo "tune rc=$?"
  tail -25 "$OUT/tune_mxfp8.log"
else
  timeout 230 python3 benchmarks/dequant.py --out "$RES/dequant" > "$OUT/dequant.log" 2>&1; echo "dequant rc=$?"
  timeout 320 python3 benchmarks/blockscaled.py --out "$RES/blockscaled" > "$OUT/blockscaled.log" 2>&1
  echo "blockscaled rc=$?"
  tar -C "$RES" -czf "$OUT/results.tgz" dequant blockscaled
  tail -22 "$OUT/dequant.log"; tail -30 "$OUT/blockscaled.log"
fi
