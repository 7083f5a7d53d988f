#!/usr/bin/env bash
# One GPU call: the int8 GPU tests and the lesson-2 benchmark with int8/v10, the pure-read floor of
# the GEMV sizes, and lessons 1 and 2 run on the GPU (carry .whl for the notebooks' Jupyter pieces).
#   OUT=/some/dir bash scripts/session_int8_final.sh
. "$(dirname "$0")/session_env.sh"
timeout 150 python3 -m pytest -m gpu -q -p no:cacheprovider tests/test_gpu_int8.py > "$OUT/pytest-gpu-int8.log" 2>&1
echo "pytest rc=$?"; tail -2 "$OUT/pytest-gpu-int8.log"
timeout 220 python3 benchmarks/int8.py --out "$RES/int8" > "$OUT/int8.log" 2>&1; echo "int8 rc=$?"
tar -C "$RES" -czf "$OUT/int8.tgz" int8
grep -A12 "A8W8 8192^3" "$OUT/int8.log"; tail -12 "$OUT/int8.log"
timeout 80 python3 benchmarks/probe_read.py > "$OUT/probe_read.log" 2>&1; echo "probe rc=$?"; tail -9 "$OUT/probe_read.log"
if [ -d .whl ]; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
  export PYTHONPATH="$PYTHONPATH:/tmp/site"
fi
OUT="$OUT/notebooks-gpu" NOTEBOOKS="notebooks/01_*.py notebooks/02_*.py" timeout 200 bash scripts/run_notebooks.sh
