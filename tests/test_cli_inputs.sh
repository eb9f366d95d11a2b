#!/usr/bin/env bash
# Input files are read once, with the size cap taken from the opened file and special files handled: a FIFO with
# a writer is read, a FIFO without one is refused after a bounded wait (NRPS_FIFO_WAIT_S) instead of blocking in
# open(), devices such as /dev/zero are refused at once, a pipe on /dev/stdin is read once and hashed from the
# bytes read, and the ONNX Runtime environment is created without its telemetry files.
. "$(dirname "$0")/cli_lib.sh"
M="$ROOT/models/rps_policy.onnx"
cd "$T" || exit 1
want=$(sha256sum "$M" | cut -d' ' -f1)

mkfifo "$T/f.onnx"
cat "$M" >"$T/f.onnx" &
expect_ok "info reads a FIFO with a writer" "^sha256: +$want" -- info "$T/f.onnx"
wait
start=$(date +%s)
NRPS_FIFO_WAIT_S=1 expect_fail "a FIFO with no writer: one line after the wait, no hang" 1 "f.onnx: a FIFO with no writer \(waited 1 s\)" -- \
  info "$T/f.onnx"
[ $(( $(date +%s) - start )) -lt 10 ] && ok "the wait is bounded" || bad "the wait is bounded"
NRPS_FIFO_WAIT_S=1 expect_fail "benchmark on a FIFO with no writer" 1 "f.onnx: a FIFO with no writer" -- \
  benchmark --model-path "$T/f.onnx" --backends native-cpu --iterations 5 --warmup 1 --no-search
for d in /dev/zero /dev/urandom /dev/null; do
  expect_fail "info $d refused at once" 1 "$d: is a device, expected a file or a pipe" -- info "$d"
done
expect_fail "arena with /dev/zero as a network" 1 "/dev/zero: is a device" -- arena --p1 "net,policy=/dev/zero" --p2 random --games 1

run_cmd info /dev/stdin <"$M"
[ "$RC" -eq 0 ] && grep -qE "^sha256: +$want" "$T/out" && ok "/dev/stdin from a file" || bad "/dev/stdin from a file (rc=$RC)"
"$BIN" info /dev/stdin < <(cat "$M") >"$T/out" 2>"$T/err"; RC=$?
[ "$RC" -eq 0 ] && grep -qE "^sha256: +$want" "$T/out" && ok "/dev/stdin from a pipe, read once" || bad "/dev/stdin from a pipe (rc=$RC)"

# the pinned ONNX Runtime release carries a telemetry client; it stays off (no files in TMPDIR or HOME)
mkdir "$T/tmp" "$T/home"
TMPDIR="$T/tmp" HOME="$T/home" "$BIN" benchmark --model-path "$M" --backends ort-cpu --iterations 5 --warmup 1 \
  --no-search >/dev/null 2>&1
[ -z "$(ls -A "$T/tmp")" ] && [ -z "$(ls -A "$T/home")" ] && ok "no telemetry files (mat-debug log, ~/.cache/Microsoft)" ||
  bad "telemetry files: $(ls -A "$T/tmp" "$T/home" | tr '\n' ' ')"
# an unusable temp folder changes nothing (nothing of ours or ONNX Runtime's goes there)
TMPDIR=/proc/nonexistent expect_ok "TMPDIR unusable: the run, the floor and the JSON" "^ort-cpu +floor +64 " -- \
  benchmark --model-path "$M" --backends ort-cpu --iterations 5 --warmup 1 --no-search --json "$T/tmpdir.json"
[ -s "$T/tmpdir.json" ] && ok "TMPDIR unusable: JSON written" || bad "TMPDIR unusable: JSON written"
# with the telemetry client switched on by the user and few descriptors left: one line, no crash
( ulimit -n 4; ORT_DISABLE_TELEMETRY=0 TMPDIR="$T/tmp" HOME="$T/home" exec "$BIN" benchmark --model-path "$M" \
  --backends ort-cpu --iterations 5 --warmup 1 --no-search ) >/dev/null 2>"$T/err"; RC=$?
[ "$RC" -eq 1 ] && grep -q "fewer than 4 file descriptors left" "$T/err" && ok "ulimit -n 4 with telemetry on: one line" ||
  bad "ulimit -n 4 with telemetry on (rc=$RC, $(head -c 200 "$T/err"))"
( ulimit -n 4; exec "$BIN" benchmark --model-path "$M" --backends ort-cpu --iterations 5 --warmup 1 --no-search ) \
  >/dev/null 2>"$T/err"; RC=$?
[ "$RC" -eq 0 ] && ok "ulimit -n 4: runs" || bad "ulimit -n 4: runs (rc=$RC, $(head -c 200 "$T/err"))"
# ulimit -v from too little to load the libraries up to enough: never a crash, at most one line (the dynamic
# loader's own message below ~35 MB, ours above: "out of memory reading the ... model", ONNX Runtime's bad_alloc)
if [ -n "${NRPS_SANITIZED:-}" ]; then skip "ulimit -v (sanitizers reserve terabytes of address space)"
else
  crash=""
  for v in 30000 40000 45000 50000 60000 80000 120000 200000; do
    ( ulimit -v $v; exec "$BIN" benchmark --model-path "$M" --iterations 5 --warmup 1 --no-search ) >/dev/null 2>"$T/err"
    rc=$?
    if [ "$rc" -ge 128 ] || [ "$(grep -c '' "$T/err")" -gt 1 ]; then crash="$crash v=$v:rc=$rc:$(head -c 120 "$T/err")"; fi
  done
  [ -z "$crash" ] && ok "ulimit -v: no crash, at most one line" || bad "ulimit -v:$crash"
fi
summary cli_inputs
