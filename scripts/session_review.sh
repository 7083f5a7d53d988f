#!/usr/bin/env bash
# One GPU call after a refactor of the Hopper GEMMs' shared pieces (wgmma.cuh, store_f16x2): the GPU
# tests of every kernel that uses them, a timing spot check, then lesson 1's notebook on the GPU.
#   OUT=/some/dir bash scripts/session_review.sh   (carry .whl for the notebook's Jupyter pieces)
. "$(dirname "$0")/session_env.sh"
timeout 200 python3 -m pytest -m gpu -q -p no:cacheprovider tests/test_gpu_fp16.py tests/test_gpu_fp8.py \
  tests/test_gpu_dequant.py tests/test_gpu_int8.py tests/test_gpu_blockscaled.py -k "wgmma or tma or v09 or mma or w4a8 or variant or tiles" \
  > "$OUT/pytest-gpu-review.log" 2>&1
echo "pytest rc=$?"; tail -3 "$OUT/pytest-gpu-review.log"
timeout 60 python3 benchmarks/tune_wgmma.py --quick --iters 10 > "$OUT/tune_wgmma_quick.log" 2>&1; echo "tune rc=$?"
grep -E "cuBLAS|v05|v09|nvfp4" "$OUT/tune_wgmma_quick.log"
if [ -d .whl ]; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
  export PYTHONPATH="$PYTHONPATH:/tmp/site"
fi
OUT="$OUT/notebooks-gpu" NOTEBOOKS="notebooks/01_*.py" timeout 150 bash scripts/run_notebooks.sh
