#!/usr/bin/env bash
# One GPU call: measure this GPU's ceilings (every instruction path), check them and the
# int8 family, tune the dp4a GEMV's loads, then the int8 benchmark against the new ceilings.
#   OUT=/some/dir scripts/session_ceilings.sh
# $OUT gets ceilings.json (the format of labkernels/data/ceilings), the logs, and results.tgz.
. "$(dirname "$0")/session_env.sh"
python3 - "$OUT/ceilings.json" <<'PY' 2>&1 | tee "$OUT/ceilings.log"
import json, sys
import torch  # noqa: F401  (the library peers; imported before CuPy as the benchmarks do)
from labkernels import bench, roofline
c = roofline.measure_ceilings(refresh=True, verbose=True)
json.dump({"env": bench.environment(), "ceilings": c.to_json()}, open(sys.argv[1], "w"), indent=1)
for path in roofline.PATHS:
    rates = []
    for p in roofline.MMA_PRECISIONS:
        try:
            rates.append(f"{p} {c.mma_rate(p, path) / 1e12:.0f}")
        except ValueError:
            pass
    print(f"{path:<9} " + ", ".join(rates) + " T/s")
PY
python3 -m pytest -m gpu -q -p no:cacheprovider tests/test_gpu_ceilings.py tests/test_gpu_int8.py 2>&1 | tee "$OUT/pytest-gpu.log"
rc=${PIPESTATUS[0]}
python3 benchmarks/tune_int8.py --gemv-only 2>&1 | tee "$OUT/tune_int8.log"
python3 benchmarks/int8.py --out "$RES/int8" 2>&1 | tee "$OUT/int8.log"
tar -czf "$OUT/results.tgz" -C "$RES" --exclude cache .
exit $rc
