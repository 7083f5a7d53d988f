#!/usr/bin/env bash
# Every lab kernel under compute-sanitizer (memcheck, racecheck, initcheck, synccheck):
#   OUT=/some/dir scripts/sanitize.sh [scripts/sanitize.py args: --quick, --variants, --tools, ...]
# Logs, summary.json and the table go to $OUT/sanitizer; exit status 1 on any finding.
. "$(dirname "$0")/session_env.sh"
# compute-sanitizer ships with the toolkit but is often not on PATH.
[ -d /usr/local/cuda/bin ] && export PATH="$PATH:/usr/local/cuda/bin"
python3 scripts/sanitize.py --out "$OUT/sanitizer" "$@" 2>&1 | tee "$OUT/sanitize.log"
exit "${PIPESTATUS[0]}"
