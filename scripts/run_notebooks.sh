#!/usr/bin/env bash
# Run every lesson notebook's source top to bottom on this machine (small sizes), logs in $OUT.
#   OUT=/some/dir [NOTEBOOKS="notebooks/02_*.py"] bash scripts/run_notebooks.sh
. "$(dirname "$0")/session_env.sh"
export LABKERNELS_SMALL=1 MPLBACKEND=Agg
rc=0
for nb in ${NOTEBOOKS:-notebooks/0*.py}; do
  name=$(basename "$nb" .py)
  start=$(date +%s)
  (cd "$(dirname "$nb")" && python3 "$(basename "$nb")") > "$OUT/$name.log" 2>&1
  r=$?
  echo "$name: rc=$r, $(( $(date +%s) - start )) s"
  [ $r -ne 0 ] && { rc=1; tail -5 "$OUT/$name.log"; }
done
exit $rc
