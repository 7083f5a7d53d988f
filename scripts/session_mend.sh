#!/usr/bin/env bash
# One GPU call after the second review of 2026-11-27 (the shared m16n8 epilogue store_mma_tiles, the
# e4m3 wgmma width template, the MXFP4 launchers' shared widening): the GPU tests of every kernel they
# touch, then lessons 1-3 on the GPU.   OUT=/some/dir bash scripts/session_mend.sh   (carry .whl)
. "$(dirname "$0")/session_env.sh"
timeout 240 python3 -m pytest -m gpu -q -p no:cacheprovider tests/test_gpu_int8.py tests/test_gpu_fp8.py \
  tests/test_gpu_blockscaled.py > "$OUT/pytest-gpu-mend.log" 2>&1
rc=$?; echo "pytest rc=$rc"; tail -2 "$OUT/pytest-gpu-mend.log"
if [ -d .whl ]; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
  export PYTHONPATH="$PYTHONPATH:/tmp/site"
fi
OUT="$OUT/notebooks-gpu" NOTEBOOKS="notebooks/01_*.py notebooks/02_*.py notebooks/03_*.py" timeout 300 \
  bash scripts/run_notebooks.sh || rc=1
exit $rc
