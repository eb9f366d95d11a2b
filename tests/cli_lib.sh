# cli_lib.sh - sourced by the tests/test_*.sh CLI tests. Provides a temp dir ($T), the binary ($BIN),
# and assertions that count passes/failures; finish with `summary NAME`.
set -u
BIN=${NRPS_BIN:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/bin/neural_rps}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
T=$(mktemp -d)
# Reports wrap notes at the terminal's width (100 columns off a terminal); the tests grep whole messages, so they
# run wide. The width tests (test_cli_readable.sh) unset it.
export COLUMNS=4000
trap 'rm -rf "$T"' EXIT
_p=0 _f=0 _s=0
ok()   { echo "  ok $1"; _p=$((_p + 1)); }
bad()  { echo "  not ok $1"; _f=$((_f + 1)); }
skip() { echo "  SKIP $1"; _s=$((_s + 1)); }
# run_cmd: runs the binary (behind $RUN_PREFIX when set, e.g. RUN_PREFIX="taskset -c 0"), capturing stdout in
# $T/out, stderr in $T/err and the status in $RC.
run_cmd() { ${RUN_PREFIX:-} "$BIN" "$@" >"$T/out" 2>"$T/err"; RC=$?; }
# expect_fail NAME EXPECTED_RC PATTERN -- ARGS...: the command must exit EXPECTED_RC, print exactly one
# line on stderr matching PATTERN (grep -E), and nothing on stdout.
expect_fail() {
  local name=$1 want=$2 pat=$3; shift 4
  run_cmd "$@"
  local lines; lines=$(grep -c '' "$T/err")
  if [ "$RC" -eq "$want" ] && [ "$lines" -eq 1 ] && grep -qE "$pat" "$T/err" && [ ! -s "$T/out" ]; then ok "$name"
  else bad "$name (rc=$RC want $want, stderr: $(head -c 300 "$T/err" | tr '\n' '|'), stdout bytes: $(wc -c <"$T/out"))"; fi
}
# expect_ok NAME PATTERN -- ARGS...: exit 0 and stdout matching PATTERN.
expect_ok() {
  local name=$1 pat=$2; shift 3
  run_cmd "$@"
  if [ "$RC" -eq 0 ] && grep -qE "$pat" "$T/out"; then ok "$name"
  else bad "$name (rc=$RC, stdout: $(head -c 300 "$T/out" | tr '\n' '|'), stderr: $(head -c 300 "$T/err" | tr '\n' '|'))"; fi
}
# json_check NAME FILE PYTHON-EXPR: FILE loads as JSON and the expression (over r) is true ($PY or python3).
json_check() {
  if "${PY:-/usr/bin/python3}" -c "import json,sys; r=json.load(open(sys.argv[1])); sys.exit(0 if ($3) else 1)" "$2" \
    2>"$T/pyerr"; then ok "$1"
  else bad "$1 ($(head -c 300 "$T/pyerr" | tr '\n' '|'))"; fi
}
# start_bg OUT ERR ARGS...: runs the binary in the background (from $T/cwd: the benchmark caches inputs in ./.cache)
start_bg() { local o=$1 e=$2; shift 2; ( cd "$T/cwd" && exec "$BIN" "$@" >"$o" 2>"$e" ) & PID=$!; }
# wait_for FILE PATTERN SECONDS: until FILE matches PATTERN (grep -E); 1 on timeout or when the process ended
wait_for() {
  local f=$1 pat=$2 n=$(($3 * 20))
  for ((i = 0; i < n; i++)); do
    grep -qE "$pat" "$f" 2>/dev/null && return 0
    kill -0 "$PID" 2>/dev/null || return 1
    sleep 0.05
  done
  return 1
}
# no_tmp DIR NAME: no "*.tmp.*" file is left below DIR
no_tmp() { local left; left=$(find "$1" -name '*.tmp.*' | tr '\n' ' '); [ -z "$left" ] && ok "$2: no temp files" || bad "$2: temp files left: $left"; }
summary() { echo "RESULT $1: $_p passed, $_f failed, $_s skipped"; [ "$_f" -eq 0 ]; }
