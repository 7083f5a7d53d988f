#!/usr/bin/env bash
# One call on a GPU machine: the GPU test suite, then the benchmarks, logs under $OUT.
#   OUT=/some/dir scripts/gpu_session.sh [pytest args...]
# Uses the python3 found on PATH (it must have cupy, numba-cuda, ml_dtypes, matplotlib, pytest).
set -uo pipefail
OUT=${OUT:-/tmp/labkernels-out}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv,noheader | tee "$OUT/smi.txt"
python3 -m pytest -m gpu -q -p no:cacheprovider "$@" 2>&1 | tee "$OUT/pytest-gpu.log"
rc=${PIPESTATUS[0]}
python3 benchmarks/foundation.py --out "$OUT/foundation" 2>&1 | tee "$OUT/foundation.log"
exit $rc
