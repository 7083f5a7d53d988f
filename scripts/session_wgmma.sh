#!/usr/bin/env bash
# One GPU call: the wgmma GEMMs (fp16/v04, int8/v09, fp8/v04, NVFP4 v04, W4A16 v09) checked by
# their GPU tests, then their tile/pipeline sweep beside the library peers.
#   OUT=/some/dir scripts/session_wgmma.sh [--quick]
. "$(dirname "$0")/session_env.sh"
python3 -m pytest -m gpu -q -p no:cacheprovider -x tests/test_gpu_fp16.py tests/test_gpu_dequant.py tests/test_gpu_fp8.py \
    "tests/test_gpu_int8.py::test_hopper_gemm_tiles_are_exact" tests/test_gpu_blockscaled.py -k "not mxfp4_gemv" \
    2>&1 | tee "$OUT/pytest-gpu-wgmma.log"
rc=${PIPESTATUS[0]}
python3 benchmarks/tune_wgmma.py "$@" 2>&1 | tee "$OUT/tune_wgmma.log"
exit $rc
