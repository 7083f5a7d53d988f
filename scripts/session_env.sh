# Sourced by the GPU-call scripts: strict mode, $OUT for what comes back, $RES a
# scratch directory, the lab on the path with a fresh kernel cache, and the card in $OUT/smi.txt.
set -uo pipefail
OUT=${OUT:-/tmp/labkernels-out}
RES=$(mktemp -d)
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" LABKERNELS_CACHE="$(mktemp -d)"
if command -v nvidia-smi > /dev/null; then
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv,noheader | tee "$OUT/smi.txt"
else
  echo "no nvidia-smi on this machine" | tee "$OUT/smi.txt"
fi
