#!/usr/bin/env bash
# The binary's top level: --help, --version (ONNX Runtime loaded), unknown commands and flags.
. "$(dirname "$0")/cli_lib.sh"
expect_ok "help lists subcommands" "benchmark.*" -- --help
grep -q "import-go" "$T/out" && grep -q "arena" "$T/out" && ok "help names import-go and arena" || bad "help names import-go and arena"
expect_ok "version shows ONNX Runtime" "^ONNX Runtime 1\.[0-9]+\.[0-9]+" -- --version
expect_fail "unknown command" 2 "unknown command 'frobnicate'" -- frobnicate
run_cmd; [ "$RC" -eq 2 ] && ok "no command is a usage error" || bad "no command is a usage error (rc=$RC)"
# output lost to a full device is a failure, not a silent success
"$BIN" solve --seed 3 >/dev/full 2>"$T/err"; RC=$?
[ "$RC" -eq 1 ] && [ "$(grep -c '' "$T/err")" -eq 1 ] && grep -q "cannot write standard output" "$T/err" &&
  ok "stdout write error fails with one line" || bad "stdout write error (rc=$RC, $(head -c 200 "$T/err"))"
summary cli_basic
