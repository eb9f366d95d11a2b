#!/usr/bin/env bash
# Runs every test given on the command line (C test binaries, tests/*.sh, tests/*.py) and adds up the
# "RESULT suite: N passed, N failed, N skipped" lines they print. A test that exits non-zero without
# reporting a failure (a crash, a sanitizer report) counts as one failure. Exit status: 1 if anything failed.
# Environment: NRPS_BIN = the neural_rps binary the CLI tests use; PYTHON = Debian's python3.
set -u
total_p=0 total_f=0 total_s=0
failed_suites=""
logdir=$(mktemp -d)
trap 'rm -rf "$logdir"' EXIT
for t in "$@"; do
  name=$(basename "$t")
  echo "== $name"
  log="$logdir/$name.log"
  case "$t" in
    *.sh) bash "$t" >"$log" 2>&1 ;;
    *.py) "${PYTHON:-/usr/bin/python3}" "$t" >"$log" 2>&1 ;;
    *) "$t" >"$log" 2>&1 ;;
  esac
  rc=$?
  cat "$log"
  line=$(grep -E '^RESULT [^:]+: [0-9]+ passed, [0-9]+ failed, [0-9]+ skipped' "$log" | tail -n 1)
  if [ -z "$line" ]; then
    echo "  not ok $name: exited with status $rc without a RESULT line"
    total_f=$((total_f + 1)); failed_suites="$failed_suites $name"; continue
  fi
  p=$(echo "$line" | sed -E 's/.*: ([0-9]+) passed.*/\1/')
  f=$(echo "$line" | sed -E 's/.* ([0-9]+) failed.*/\1/')
  s=$(echo "$line" | sed -E 's/.* ([0-9]+) skipped.*/\1/')
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
    echo "  not ok $name: exited with status $rc"
    f=1
  fi
  total_p=$((total_p + p)); total_f=$((total_f + f)); total_s=$((total_s + s))
  [ "$f" -gt 0 ] && failed_suites="$failed_suites $name"
done
[ -n "$failed_suites" ] && echo "failing suites:$failed_suites"
echo "$total_p passed, $total_f failed, $total_s skipped"
[ "$total_f" -eq 0 ]
