#!/usr/bin/env bash
# `neural_rps benchmark --scenario` (src/bench/scenario.h) end to end on the default models: the four scenarios'
# rows in the text summary and the JSON (documented keys, consistent numbers), VALID/INVALID judged on the p99
# bound, --find-peak's bisection, one-line usage errors for bad scenario flags; and the batching service inside
# search (--search-service rows, the agent key service=1).
. "$(dirname "$0")/cli_lib.sh"
PY=${PYTHON:-/usr/bin/python3}
mkdir -p "$T/cwd" && cd "$T/cwd" || exit 1
M=(--model-path "$ROOT/models/rps_policy.onnx" --value-model-path "$ROOT/models/rps_value.onnx")
Q=(--backends native-cpu --sweep 1 --iterations 20 --warmup 2 --no-floor --seed 3)
S=(--scenario-duration 0.2 --min-queries 2000)

for bad in "--target-rate 0" "--target-rate -5" "--latency-bound-us -1" "--latency-bound-us 0" "--scenario bogus" \
           "--batch-wait-us -1" "--server-max-batch 0" "--min-queries 0" "--scenario-duration 0" "--nn-cache-mb -1" \
           "--stream-batch 0" "--scenario-threads 65"; do
  set -- $bad
  expect_fail "usage error: $bad" 2 "^neural_rps benchmark: --${1#--} expects " -- benchmark "${M[@]}" "${Q[@]}" --scenario server "$@"
done

# server: a bound no run can miss is VALID, one no run can meet is INVALID and says why
run_cmd benchmark "${M[@]}" "${Q[@]}" "${S[@]}" --scenario server --target-rate 20000 --latency-bound-us 1000000 \
  --json "$T/srv.json"
[ "$RC" -eq 0 ] && grep -qE "^server +native-cpu +VALID +20000/s " "$T/out" && ok "server: VALID under a loose bound" ||
  bad "server loose bound (rc=$RC, $(grep -E '^server|INVALID' "$T/out" | head -3 | tr '\n' '|') $(head -c 200 "$T/err"))"
json_check "server JSON: documented keys, the schedule's rate, p50 <= p99 <= max" "$T/srv.json" '
  len(r["scenarios"]) == 1 and all(k in r["scenarios"][0] for k in ["scenario", "backend", "valid", "why",
  "target_rate", "latency_bound_us", "evals_per_s", "latency_us", "queries", "duration_s", "mean_batch", "peak",
  "max_batch", "batch_wait_us", "busy_share", "issue_lag_p99_us", "cache_hit_rate"]) and
  r["scenarios"][0]["valid"] is True and r["scenarios"][0]["target_rate"] == 20000 and
  r["scenarios"][0]["queries"] >= 2000 and 0.7 * 20000 < r["scenarios"][0]["evals_per_s"] < 1.3 * 20000 and
  r["scenarios"][0]["latency_us"]["p50"] <= r["scenarios"][0]["latency_us"]["p99"] <= r["scenarios"][0]["latency_us"]["max"]
  and r["scenarios"][0]["cache_hit_rate"] is None and r["search"] == [] and r["recommendations"] == []'
run_cmd benchmark "${M[@]}" "${Q[@]}" "${S[@]}" --scenario server --target-rate 20000 --latency-bound-us 0.001 \
  --json "$T/inv.json"
[ "$RC" -eq 0 ] && grep -qE "^server +native-cpu +INVALID " "$T/out" && grep -qE "INVALID: p99 [0-9.]+ us > bound 0.001 us" "$T/out" &&
  ok "server: INVALID under an impossible bound, with the reason" || bad "server impossible bound ($(grep -E 'INVALID' "$T/out" | head -2 | tr '\n' '|'))"
json_check "server JSON: INVALID row has why" "$T/inv.json" '
  r["scenarios"][0]["valid"] is False and "p99" in r["scenarios"][0]["why"]'

# --find-peak: every run kept, at most one peak, the peak the highest VALID rate
run_cmd benchmark "${M[@]}" "${Q[@]}" --scenario-duration 0.1 --min-queries 1000 --scenario server --find-peak \
  --latency-bound-us 20000 --json "$T/peak.json"
# (a run INVALID at the low rate, on a machine stalled for 20 ms, ends the search there: then no peak and one run)
[ "$RC" -eq 0 ] && json_check "--find-peak: runs, one peak at the highest VALID rate" "$T/peak.json" '
  [sum(x["peak"] for x in r["scenarios"]) == min(1, len(v)) and
   all(x["peak"] == (x["valid"] and x["target_rate"] == max(v)) for x in r["scenarios"]) and
   (len(r["scenarios"]) >= 2 or not v)
   for v in [[y["target_rate"] for y in r["scenarios"] if y["valid"]]]][0]' || bad "--find-peak run (rc=$RC, $(head -c 300 "$T/err"))"

# NN cache on: the hit rate is reported (the queries cycle over a fixed set of positions)
run_cmd benchmark "${M[@]}" "${Q[@]}" "${S[@]}" --scenario server --target-rate 20000 --latency-bound-us 1000000 \
  --nn-cache-mb 4 --json "$T/cache.json"
[ "$RC" -eq 0 ] && grep -qE "NN cache hit rate [0-9.]+%" "$T/out" &&
  json_check "--nn-cache-mb: a hit rate in (0, 1]" "$T/cache.json" '0 < r["scenarios"][0]["cache_hit_rate"] <= 1' ||
  bad "--nn-cache-mb (rc=$RC, $(head -c 300 "$T/err"))"

# the search-based scenarios
for sc in single-stream multi-stream offline; do
  run_cmd benchmark "${M[@]}" "${Q[@]}" "${S[@]}" --scenario $sc --stream-batch 8 --scenario-threads 2 --json "$T/$sc.json"
  [ "$RC" -eq 0 ] && grep -qE "^$sc +native-cpu +VALID " "$T/out" && grep -qE "^  $sc native-cpu: [0-9.]+ games/s" "$T/out" &&
    ok "$sc: a VALID row and its games/s" || bad "$sc (rc=$RC, $(grep -E "^$sc" "$T/out") $(head -c 300 "$T/err"))"
done
json_check "single-stream JSON: batch 1, one position per query" "$T/single-stream.json" '
  r["scenarios"][0]["batch_size"] == 1 and r["scenarios"][0]["threads"] == 1 and r["scenarios"][0]["mean_batch"] == 1
  and r["scenarios"][0]["queries"] >= 2000 and r["scenarios"][0]["target_rate"] is None and r["scenarios"][0]["duration_s"] >= 0.2'
json_check "multi-stream JSON: batch 8, mean batch within it" "$T/multi-stream.json" '
  r["scenarios"][0]["batch_size"] == 8 and 1 < r["scenarios"][0]["mean_batch"] <= 8 and r["scenarios"][0]["queries"] >= 2000'
json_check "offline JSON: 2 games at once, positions = 9 per game" "$T/offline.json" '
  r["scenarios"][0]["threads"] == 2 and r["scenarios"][0]["games_per_s"] > 0 and
  abs(r["scenarios"][0]["positions_per_s"] - 9 * r["scenarios"][0]["games_per_s"]) <= 9 * 2 / r["scenarios"][0]["duration_s"]'

# one batching service inside search: --search-service rows, and the agent key
run_cmd benchmark "${M[@]}" "${Q[@]}" --search-games 2 --search-playouts 32 --search-batch 4 --search-threads 1,2 \
  --search-service --recommend-games 0 --json "$T/svc.json"
[ "$RC" -eq 0 ] && grep -qE "^native-cpu\+svc +policy\+value +4 +2 " "$T/out" &&
  json_check "--search-service: an eval=service row at 2 threads, batches of at most 2 x 4" "$T/svc.json" '
    [(x["eval"], x["threads"]) for x in r["search"] if x["nets"] == "policy+value"] ==
    [("full", 1), ("incremental", 1), ("full", 2), ("incremental", 2), ("service", 2)] and
    all(1 <= x["mean_eval_batch"] <= 8 for x in r["search"] if x["eval"] == "service")' ||
  bad "--search-service (rc=$RC, $(grep -E '\+svc' "$T/out" | head -2) $(head -c 300 "$T/err"))"
N="policy=$ROOT/models/rps_policy.onnx,value=$ROOT/models/rps_value.onnx"
expect_ok "arena: mcts-net with threads=2,service=1" "score" -- arena --p1 "mcts-net:64,threads=2,batch=2,service=1,$N" \
  --p2 random --games 4
expect_fail "agent spec: service=1 with eval=incremental" 2 "service=1 needs eval=full" -- arena \
  --p1 mcts-net:64,service=1,eval=incremental --p2 random --games 2
summary cli_scenarios
