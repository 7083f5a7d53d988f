#!/usr/bin/env bash
# One call on a GPU machine: the GPU test suite, then the benchmarks.
#   OUT=/some/dir scripts/gpu_session.sh [pytest args...]
# Logs go to $OUT; each benchmark's JSON and figures go to $OUT/results.tgz
# (one file, so the whole session comes back from a machine that returns few files).
# BENCHES picks the benchmarks (default: "foundation dequant"); BENCH_ARGS is passed to each.
# Uses the python3 on PATH (it needs cupy, numba-cuda, ml_dtypes, matplotlib, pytest).
. "$(dirname "$0")/session_env.sh"
rc=0
if [ "${SKIP_TESTS:-0}" != 1 ]; then
  python3 -m pytest -m gpu -q -p no:cacheprovider "$@" 2>&1 | tee "$OUT/pytest-gpu.log"
  rc=${PIPESTATUS[0]}
fi
for b in ${BENCHES:-foundation dequant}; do
  python3 benchmarks/$b.py --out "$RES/$b" ${BENCH_ARGS:-} 2>&1 | tee "$OUT/$b.log"
  tar -czf "$OUT/results.tgz" -C "$RES" .
done
exit $rc
