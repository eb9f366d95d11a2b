#!/usr/bin/env bash
# Bad input across the whole CLI (reliability): every case must exit non-zero with exactly one line on stderr
# that names the file or flag and what was expected, print nothing on stdout, and leave no output file (nor a
# temp file) behind. Inputs: missing/directory/empty/truncated/corrupted ONNX files, valid ONNX graphs that are
# not a supported MLP (Conv, two inputs, int64 input - built here with the onnx helper API), nets whose input
# size is not the game's 81 (arena/play), NaN/Inf weights, broken .model JSON (import-go), broken or illegal
# game records (replay, solve), bad numbers for --batch-size/--iterations/--threads/--games, unknown backends
# and providers, and output paths that cannot be written.
# Unwritable folders: the tests run as root, for whom chmod 0500 does not stop writes, so "a folder that cannot
# be written" is a path under a regular FILE ($T/afile/out.json: ENOTDIR) or under /proc (no new files there,
# even for root).
. "$(dirname "$0")/cli_lib.sh"
PY=${PYTHON:-/usr/bin/python3}
FIX="$ROOT/tests/fixtures"

# expect_nothing_written NAME DIR PATTERN: no file matching PATTERN (glob, temp files included) in DIR.
expect_nothing_written() {
  local name=$1 dir=$2 pat=$3 left
  left=$(cd "$dir" 2>/dev/null && ls -d $pat 2>/dev/null | tr '\n' ' ')
  [ -z "$left" ] && ok "$name: nothing written" || bad "$name: left behind: $left"
}

# ---- fixtures ----
"$BIN" import-go "$FIX/rps_h64_g100_e1_policy.model" --out "$T/p.onnx" >/dev/null 2>&1 &&
"$BIN" import-go "$FIX/rps_h64_g100_e1_value.model" --out "$T/v.onnx" >/dev/null 2>&1 ||
  { echo "  not ok import-go of the fixtures failed"; echo "RESULT cli_badinput: 0 passed, 1 failed, 0 skipped"; exit 1; }
"$PY" - "$T" "$FIX/rps_h64_g100_e1_policy.model" <<'PYEOF' || { echo "  not ok fixture generation"; echo "RESULT cli_badinput: 0 passed, 1 failed, 0 skipped"; exit 1; }
import json, sys
import numpy as np, onnx
from onnx import helper as h, TensorProto as TP, numpy_helper as nh
out, go = sys.argv[1], sys.argv[2]
def save(m, name): onnx.save(m, f"{out}/{name}")
def mlp(inp=81, hid=8, outn=9, w1=None, last="Softmax", in_type=TP.FLOAT):
    rng = np.random.default_rng(1)
    W1 = (rng.standard_normal((hid, inp)) * .1).astype(np.float32) if w1 is None else w1
    inits = [nh.from_array(W1, "w1"), nh.from_array(np.zeros(hid, np.float32), "b1"),
             nh.from_array((rng.standard_normal((outn, hid)) * .1).astype(np.float32), "w2"),
             nh.from_array(np.zeros(outn, np.float32), "b2")]
    nodes = [h.make_node("Gemm", ["input", "w1", "b1"], ["h"], transB=1), h.make_node("Relu", ["h"], ["hr"]),
             h.make_node("Gemm", ["hr", "w2", "b2"], ["o"], transB=1),
             h.make_node(last, ["o"], ["output"], **({"axis": 1} if last == "Softmax" else {}))]
    g = h.make_graph(nodes, "g", [h.make_tensor_value_info("input", in_type, ["batch_size", inp])],
                     [h.make_tensor_value_info("output", TP.FLOAT, ["batch_size", outn])], inits)
    return h.make_model(g, opset_imports=[h.make_opsetid("", 17)], ir_version=8)
save(mlp(inp=50), "in50_policy.onnx")
save(mlp(inp=50, outn=1, last="Sigmoid"), "in50_value.onnx")
for name, val in (("nan", np.nan), ("inf", np.inf)):
    w = np.full((8, 81), 0.1, np.float32); w[3, 7] = val
    save(mlp(w1=w), f"{name}.onnx")
save(mlp(in_type=TP.INT64), "int64.onnx")
# a usable policy whose metadata names an input encoding nobody knows
m = onnx.load(f"{out}/p.onnx")
e = m.metadata_props.add(); e.key, e.value = "input_encoding", "bogus"
save(m, "badenc.onnx")
g = h.make_graph([h.make_node("Conv", ["input", "k"], ["output"])], "conv",
                 [h.make_tensor_value_info("input", TP.FLOAT, ["batch_size", 1, 9, 9])],
                 [h.make_tensor_value_info("output", TP.FLOAT, ["batch_size", 1, 7, 7])],
                 [nh.from_array(np.ones((1, 1, 3, 3), np.float32), "k")])
save(h.make_model(g, opset_imports=[h.make_opsetid("", 17)], ir_version=8), "conv.onnx")
g = h.make_graph([h.make_node("Add", ["input", "input2"], ["output"])], "two",
                 [h.make_tensor_value_info("input", TP.FLOAT, ["batch_size", 81]),
                  h.make_tensor_value_info("input2", TP.FLOAT, ["batch_size", 81])],
                 [h.make_tensor_value_info("output", TP.FLOAT, ["batch_size", 81])])
save(h.make_model(g, opset_imports=[h.make_opsetid("", 17)], ir_version=8), "two_inputs.onnx")
# .model files with wrong sizes and types
p = json.load(open(go))
def w(name, d): open(f"{out}/{name}", "w").write(json.dumps(d, sort_keys=True, separators=(",", ":")))
def mod(name, key, val): d = dict(p); d[key] = val; w(name, d)
mod("hidden32.model", "hiddenSize", 32)
mod("input80.model", "inputSize", 80)
mod("hidden_neg.model", "hiddenSize", -3)
mod("hidden_huge.model", "hiddenSize", 1e12)
mod("bias_type.model", "biasesHidden", "zero")
mod("rows.model", "weightsInputHidden", p["weightsInputHidden"][:-1])
mod("cols.model", "weightsInputHidden", [r[:80] for r in p["weightsInputHidden"]])
mod("entry_str.model", "biasesOutput", p["biasesOutput"][:3] + ["x"] + p["biasesOutput"][4:])
mod("overflow.model", "biasesOutput", [1e39] + p["biasesOutput"][1:])
w("array.model", [1, 2, 3])
text = open(go).read()
open(f"{out}/trunc.model", "w").write(text[:5000])
# game records: a legal finished game, then broken variants
G = {"deck_size": 21, "hand_size": 5, "max_rounds": 10, "hands": [[1, 0, 2, 2, 2], [2, 0, 1, 2, 0]],
     "moves": [[3, 3], [0, 6], [2, 2], [3, 4], [2, 8], [2, 1], [0, 5], [1, 7], [0, 0]]}
def rec(name, **kw):
    d = dict(G); d.update(kw)
    open(f"{out}/{name}", "w").write(json.dumps(G) + "\n" + json.dumps(d) + "\n")
rec("good.jsonl")
rec("occupied.jsonl", moves=[[3, 3], [0, 3]])
rec("pos9.jsonl", moves=[[0, 9]])
rec("card7.jsonl", moves=[[7, 0]])
rec("strmove.jsonl", moves=[["a", 1]])
rec("hand3.jsonl", hands=[[1, 0, 3, 2, 2], [2, 0, 1, 2, 0]])
rec("winner.jsonl", winner=2)
rec("toomany.jsonl", moves=G["moves"] + [[0, 0]])
open(f"{out}/badjson.jsonl", "w").write(json.dumps(G) + "\n" + json.dumps(G)[:40] + "\n")
open(f"{out}/notobj.jsonl", "w").write("[1,2]\n")
PYEOF
head -c 1000 "$T/p.onnx" >"$T/trunc.onnx"
cp "$T/p.onnx" "$T/corrupt.onnx"
printf '\xff\xff\xff\xff\xff\xff\xff\xff' | dd of="$T/corrupt.onnx" bs=1 seek=0 conv=notrunc 2>/dev/null
: >"$T/empty.onnx"
mkdir "$T/dir.onnx" "$T/outdir"
echo "a regular file" >"$T/afile"
printf 'x\0y\n' >"$T/nul.jsonl"
M=(--model-path "$T/p.onnx" --value-model-path "$T/v.onnx")
Q=(--iterations 5 --warmup 1 --no-floor)

# ---- model files that cannot be used: every command that reads one ----
for f in nope dir empty trunc corrupt conv two_inputs int64 nan inf; do
  case $f in
    nope) why="cannot open: No such file" ;;
    dir) why="is a directory, expected a file" ;;
    empty) why="empty file, not an ONNX model" ;;
    trunc | corrupt) why="not a valid ONNX protobuf \(truncated or corrupted file\)" ;;
    conv) why="input 'input' has rank 4, expected 2" ;;
    two_inputs) why="two graph inputs \('input' and 'input2'\)" ;;
    int64) why="input 'input' has element type int64, expected float32" ;;
    nan | inf) why="tensor 'w1' contains NaN/Inf" ;;
  esac
  P="$T/$f.onnx"
  expect_fail "info $f.onnx" 1 "^neural_rps info: .*$f\.onnx: $why" -- info "$P"
  case $f in
    conv | two_inputs) # valid graphs outside the family: ONNX Runtime times them, native backends decline
      expect_ok "benchmark $f.onnx on ONNX Runtime only" "native-cpu: not supported: .*$f\.onnx: $why" -- \
        benchmark --model-path "$P" "${Q[@]}" --no-search ;;
    int64) # Gemm on int64 with float weights: ONNX Runtime refuses the graph itself
      expect_fail "benchmark $f.onnx" 1 "^neural_rps benchmark: ort-cpu: .*$f\.onnx: ONNX Runtime CreateSession: .*Type Error" -- \
        benchmark --model-path "$P" "${Q[@]}" ;;
    *) expect_fail "benchmark $f.onnx" 1 "^neural_rps benchmark: .*$f\.onnx: $why" -- benchmark --model-path "$P" "${Q[@]}" ;;
  esac
  expect_fail "arena net $f.onnx" 1 "^neural_rps arena: .*$f\.onnx: $why" -- arena --p1 "net,policy=$P" --p2 random --games 2
  expect_fail "arena mcts-net value $f.onnx" 1 "^neural_rps arena: .*$f\.onnx: $why" -- \
    arena --p1 "mcts-net:8,policy=$T/p.onnx,value=$P" --p2 random --games 2 --threads 2
  expect_fail "play net $f.onnx" 1 "^neural_rps play: .*$f\.onnx: $why" -- play --agent "net,policy=$P" --seed 1 </dev/null
done

# ---- an unknown input encoding: info describes the file, everything that would evaluate it refuses ----
expect_ok "info badenc.onnx" "^encoding: +unknown 'bogus'" -- info "$T/badenc.onnx"
E="badenc\.onnx: unknown input_encoding 'bogus' in the ONNX metadata \(expected board or hands\)"
expect_fail "benchmark badenc.onnx" 1 "^neural_rps benchmark: .*$E" -- benchmark --model-path "$T/badenc.onnx" "${Q[@]}"
expect_fail "arena net badenc.onnx" 1 "^neural_rps arena: .*$E" -- arena --p1 "net,policy=$T/badenc.onnx" --p2 random --games 2
expect_fail "arena mcts-net badenc.onnx" 1 "^neural_rps arena: .*$E" -- \
  arena --p1 "mcts-net:8,policy=$T/badenc.onnx,value=$T/v.onnx" --p2 random --games 2
expect_fail "play net badenc.onnx" 1 "^neural_rps play: .*$E" -- play --agent "net,policy=$T/badenc.onnx" --seed 1 </dev/null
mkdir -p "$T/encdir" && cp "$T/badenc.onnx" "$T/encdir/rps_policy.onnx" && cp "$T/v.onnx" "$T/encdir/rps_value.onnx"
expect_fail "train --analyse badenc" 1 "^neural_rps train: .*encdir/rps_policy\.onnx: unknown input_encoding 'bogus'" -- train --analyse "$T/encdir" --positions 5

# ---- input size other than the game's 81 ----
expect_fail "arena net with 50 inputs" 1 "in50_policy\.onnx: not a game policy network: float32 \[batch, 50\] -> .output. float32 \[batch, 9\]" -- \
  arena --p1 "net,policy=$T/in50_policy.onnx" --p2 random --games 2
expect_fail "arena mcts-net with a 50-input value net" 1 "in50_value\.onnx: not a game value network: float32 \[batch, 50\]" -- \
  arena --p1 "mcts-net:8,policy=$T/p.onnx,value=$T/in50_value.onnx" --p2 greedy --games 2
expect_fail "arena mcts-net with policy/value swapped" 1 "v\.onnx: not a game policy network: float32 \[batch, 81\] -> .output. float32 \[batch, 1\] value \(expected one float32 \[batch, 81\] input and a 9-wide policy head\)" -- \
  arena --p1 "mcts-net:8,policy=$T/v.onnx,value=$T/p.onnx" --p2 greedy --games 2
expect_fail "play net with 50 inputs" 1 "in50_policy\.onnx: not a game policy network" -- \
  play --agent "net,policy=$T/in50_policy.onnx" --seed 1 </dev/null
expect_ok "benchmark a 50-input net: random inputs, not game positions" "input: random uniform in \[0,1\)" -- \
  benchmark --model-path "$T/in50_policy.onnx" "${Q[@]}" --no-search

# ---- import-go: .model JSON with wrong sizes or types ----
for c in "hidden32|key 'biasesHidden': has 64 entries, expected 32" "input80|key 'inputSize': expected an integer in \[81, 81\]" \
         "hidden_neg|key 'hiddenSize': expected an integer in \[1, 65536\]" "hidden_huge|key 'hiddenSize': expected an integer" \
         "bias_type|key 'biasesHidden': expected an array of 64 numbers" "rows|key 'weightsInputHidden': expected an array of 64 rows, got 63" \
         "cols|key 'weightsInputHidden': row 0 has 80 entries, expected 81" "entry_str|key 'biasesOutput': entry 3 is not a number" \
         "overflow|key 'biasesOutput': entry 0 \(1e\+39\) is not a finite float32" "array|expected a JSON object" \
         "trunc|malformed JSON near byte 5000"; do
  f=${c%%|*} why=${c#*|}
  expect_fail "import-go $f.model" 1 "^neural_rps import-go: .*$f\.model: $why" -- import-go "$T/$f.model" --out "$T/outdir/$f.onnx"
done
sed '0,/{/s//{"inputSize": 81, /' "$ROOT/tests/fixtures/rps_h64_g100_e1_policy.model" >"$T/dupkey.model"
expect_fail "import-go .model with a duplicate key" 1 "dupkey\.model: duplicate key \"inputSize\"" -- \
  import-go "$T/dupkey.model" --out "$T/outdir/dupkey.onnx"
expect_fail "import-go a directory" 1 "dir\.onnx: is a directory" -- import-go "$T/dir.onnx" --out "$T/outdir/d.onnx"
expect_fail "import-go an empty file" 1 "empty\.onnx: malformed JSON near byte 0" -- import-go "$T/empty.onnx" --out "$T/outdir/e.onnx"
expect_fail "import-go a missing file" 1 "nope\.model: cannot open" -- import-go "$T/nope.model" --out "$T/outdir/n.onnx"
expect_fail "import-go --kind bad" 2 "import-go: --kind expects 'policy' or 'value', got 'both'" -- \
  import-go "$FIX/rps_h64_g100_e1_policy.model" --kind both --out "$T/outdir/k.onnx"
expect_fail "import-go value file as policy" 1 "missing key 'biasesOutput'|unexpected key" -- \
  import-go "$FIX/rps_h64_g100_e1_value.model" --kind policy --out "$T/outdir/k.onnx"
expect_nothing_written "import-go failures" "$T/outdir" "*"

# ---- replay / solve: game records ----
for c in "occupied|line 2: ply 2 \(move \[0,3\]\): illegal move: position 3 is already occupied" \
         "pos9|line 2: ply 1: move must be \[card_index, position\]|line 2: ply 1 \(move \[0,9\]\): illegal move: position out of range" \
         "card7|line 2: ply 1 \(move \[7,0\]\): illegal move: card index out of range" \
         "strmove|line 2: ply 1: move must be \[card_index, position\] with non-negative integers" \
         "hand3|line 2: \"hands\"\[0\]\[2\]: card type must be 0 \(Rock\), 1 \(Paper\) or 2 \(Scissors\)" \
         "winner|line 2: recorded \"winner\" does not match the replayed game" \
         "toomany|line 2: ply 10 \(move \[0,0\]\): illegal move: the game is already over" \
         "badjson|line 2: malformed JSON near column" "notobj|line 1: expected a JSON object" \
         "nul|contains NUL bytes, expected JSON lines text"; do
  f=${c%%|*} why=${c#*|}
  expect_fail "replay $f" 1 "^neural_rps replay: .*$f\.jsonl: ($why)" -- replay "$T/$f.jsonl"
  expect_fail "replay --json $f" 1 "^neural_rps replay: .*$f\.jsonl: ($why)" -- replay --json "$T/$f.jsonl"
done
expect_fail "replay a missing file" 1 "nope\.jsonl: cannot open" -- replay "$T/nope.jsonl"
expect_fail "replay a directory" 1 "dir\.onnx: is a directory" -- replay "$T/dir.onnx"
expect_fail "solve --record illegal" 1 "^neural_rps solve: .*occupied\.jsonl: line 2: ply 2" -- solve --record "$T/occupied.jsonl" --line 2
expect_fail "solve --record bad JSON" 1 "^neural_rps solve: .*badjson\.jsonl: line 2: malformed JSON" -- solve --record "$T/badjson.jsonl" --line 2
expect_fail "solve --line past the end" 1 "good\.jsonl" -- solve --record "$T/good.jsonl" --line 7

# ---- numbers: zero, negative, non-numeric, absurd ----
for v in 0 -5 abc 2.5 "" 1e3 99999999999999999999; do
  expect_fail "benchmark --batch-size '$v'" 2 "^neural_rps benchmark: --batch-size expects an integer in \[1, " -- benchmark "${M[@]}" --batch-size "$v"
  expect_fail "benchmark --iterations '$v'" 2 "^neural_rps benchmark: --iterations expects an integer in \[1, " -- benchmark "${M[@]}" --iterations "$v"
  expect_fail "benchmark --threads '$v'" 2 "^neural_rps benchmark: --threads expects an integer in \[1, " -- benchmark "${M[@]}" --threads "$v"
  expect_fail "arena --games '$v'" 2 "^neural_rps arena: --games expects an integer in \[1, " -- arena --p1 random --p2 random --games "$v"
  expect_fail "arena --threads '$v'" 2 "^neural_rps arena: --threads expects an integer in \[1, " -- arena --p1 random --p2 random --threads "$v"
  expect_fail "train --games '$v'" 2 "^neural_rps train: --games expects an integer in \[1, " -- train --out "$T/outdir/t" --games "$v"
  expect_fail "train --threads '$v'" 2 "^neural_rps train: --threads expects an integer in \[1, " -- train --out "$T/outdir/t" --threads "$v"
  expect_fail "train --generations '$v'" 2 "^neural_rps train: --generations expects an integer in \[1, " -- train --out "$T/outdir/t" --generations "$v"
done
# more intra-op threads than this machine has cores would make ONNX Runtime spin for minutes: refused
expect_fail "benchmark --threads 1024" 2 "^neural_rps benchmark: --threads expects an integer in \[1, [0-9]+\]" -- benchmark "${M[@]}" --threads 1024
# the bound is the CPUs the process may use (its affinity), not the machine's: pinned to one CPU, 2 threads are refused
if command -v taskset >/dev/null 2>&1 && taskset -c 0 true 2>/dev/null; then
  RUN_PREFIX="taskset -c 0"
  expect_fail "benchmark --threads 2 pinned to one CPU" 2 "^neural_rps benchmark: --threads expects an integer in \[1, 1\]" -- benchmark "${M[@]}" --threads 2
  unset RUN_PREFIX
else
  skip "benchmark --threads pinned to one CPU (no taskset here)"
fi
expect_fail "benchmark --warmup -1" 2 "warmup expects an integer" -- benchmark "${M[@]}" --warmup -1
expect_fail "benchmark batch that does not fit in memory" 2 "batch size 1000000000 needs about .* GiB of buffers" -- \
  benchmark "${M[@]}" --batch-size 1000000000
expect_fail "benchmark sweep that does not fit in memory" 2 "batch size 200000000 needs about" -- benchmark "${M[@]}" --sweep 1,200000000
expect_fail "benchmark --sweep 0" 2 "sweep expects comma-separated batch sizes" -- benchmark "${M[@]}" --sweep 0,8
expect_fail "benchmark --search-batch of commas" 2 "benchmark: --search-batch expects comma-separated batch sizes" -- benchmark "${M[@]}" --search-batch ,,
for v in 0 -1 abc 99999999999; do
  expect_fail "benchmark --search-games '$v'" 2 "benchmark: --search-games expects an integer" -- benchmark "${M[@]}" --search-games "$v"
  expect_fail "benchmark --search-playouts '$v'" 2 "benchmark: --search-playouts expects an integer" -- benchmark "${M[@]}" --search-playouts "$v"
done
expect_fail "benchmark --duration 0" 2 "duration expects a number" -- benchmark "${M[@]}" --duration 0
expect_fail "benchmark --duration nan" 2 "duration expects a number" -- benchmark "${M[@]}" --duration nan
expect_fail "arena mcts playouts 0" 2 "PLAYOUTS must be an integer" -- arena --p1 mcts:0 --p2 random
expect_fail "arena mcts batch absurd" 2 "batch= expects an integer in \[1, 4096\]" -- arena --p1 mcts:8,batch=100000 --p2 random

# ---- backends and providers ----
expect_fail "unknown backend" 2 "benchmark: --backends: unknown backend 'tpu'" -- benchmark "${M[@]}" --backends tpu
expect_fail "unknown ort provider backend" 2 "benchmark: --backends: unknown backend 'ort-warp'" -- benchmark "${M[@]}" --backends ort-warp
expect_fail "empty --backends" 2 "benchmark: --backends expects a comma-separated list" -- benchmark "${M[@]}" --backends ""
expect_fail "only commas in --backends" 2 "benchmark: --backends expects a comma-separated list" -- benchmark "${M[@]}" --backends ,,
expect_fail "unknown provider" 2 "benchmark: --provider: unknown ONNX Runtime provider 'warp9'" -- benchmark "${M[@]}" --provider warp9
expect_fail "unknown agent" 2 "^neural_rps arena: --p1: agent spec 'deepblue'" -- arena --p1 deepblue --p2 random

# ---- output paths that cannot be written (checked before any work is done) ----
for flag in json csv plot; do
  expect_fail "benchmark --$flag under a regular file" 2 "^neural_rps benchmark: --$flag .*afile/out\.$flag" -- \
    benchmark "${M[@]}" "${Q[@]}" --$flag "$T/afile/out.$flag"
  expect_fail "benchmark --$flag in a missing folder" 2 "folder '.*/missing' does not exist" -- \
    benchmark "${M[@]}" "${Q[@]}" --$flag "$T/missing/out.$flag"
  expect_fail "benchmark --$flag under /proc" 2 "^neural_rps benchmark: --$flag .*/proc/nrps_out\.$flag.*cannot write" -- \
    benchmark "${M[@]}" "${Q[@]}" --$flag "/proc/nrps_out.$flag"
  expect_fail "benchmark --$flag is a folder" 2 "is a folder, expected a file name" -- benchmark "${M[@]}" "${Q[@]}" --$flag "$T/outdir"
done
expect_fail "import-go --out under a regular file" 2 "afile/x\.onnx: cannot write: Not a directory" -- \
  import-go "$FIX/rps_h64_g100_e1_policy.model" --out "$T/afile/x.onnx"
expect_fail "import-go --out in a missing folder" 2 "missing/x\.onnx: cannot write: folder .*missing. does not exist" -- \
  import-go "$FIX/rps_h64_g100_e1_policy.model" --out "$T/missing/x.onnx"
expect_fail "import-go --out under /proc" 2 "/proc/nrps_x\.onnx: cannot write" -- \
  import-go "$FIX/rps_h64_g100_e1_policy.model" --out /proc/nrps_x.onnx
expect_fail "import-go --out is a folder" 2 "outdir" -- import-go "$FIX/rps_h64_g100_e1_policy.model" --out "$T/outdir"
expect_fail "arena --record under a regular file" 2 "^neural_rps arena: --record .*afile/g\.jsonl: cannot write: Not a directory" -- \
  arena --p1 random --p2 random --games 2 --record "$T/afile/g.jsonl"
expect_fail "arena --record under /proc" 2 "^neural_rps arena: --record .*cannot write" -- \
  arena --p1 random --p2 random --games 2 --record /proc/nrps_g.jsonl
expect_fail "arena --record is a folder" 2 "^neural_rps arena: --record .*outdir is a folder" -- \
  arena --p1 random --p2 random --games 2 --record "$T/outdir"
# play: the record path is refused before the game starts (nothing printed, no moves asked for); a bad output path
# is a usage error (exit 2) for every command, as for benchmark
expect_fail "play --record under a regular file" 2 "^neural_rps play: --record .*afile/g\.jsonl: cannot write" -- \
  play --agent random --seed 1 --record "$T/afile/g.jsonl" </dev/null
expect_fail "play --record in a missing folder" 2 "^neural_rps play: --record .*missing/g\.jsonl: cannot write" -- \
  play --agent random --seed 1 --record "$T/missing/g.jsonl" </dev/null
[ ! -e "$T/missing" ] && ok "no folder created" || bad "a folder was created"
expect_fail "train --out under a regular file" 1 "^neural_rps train: .*afile/run: cannot create folder: Not a directory" -- \
  train --out "$T/afile/run" --generations 1 --games 2
expect_fail "train --out under /proc" 1 "^neural_rps train: /proc/nrps_run: cannot create folder" -- train --out /proc/nrps_run --generations 1 --games 2
expect_fail "train --out is a file" 1 "^neural_rps train: .*afile: not a folder" -- train --out "$T/afile" --generations 1 --games 2
expect_fail "train --resume without a run" 1 "no checkpoint" -- train --out "$T/outdir/none" --resume
# a device as output: written in place (a temp file renamed over it would replace the device node)
expect_fail "import-go --out /dev/full" 1 "^neural_rps import-go: /dev/full: write failed: No space left on device" -- \
  import-go "$FIX/rps_h64_g100_e1_policy.model" --out /dev/full
[ -c /dev/full ] && ok "/dev/full is still a device" || bad "/dev/full was replaced"
if mknod "$T/null" c 1 3 2>/dev/null; then
  expect_ok "import-go --out a null device" "policy network" -- import-go "$FIX/rps_h64_g100_e1_policy.model" --out "$T/null"
  [ -c "$T/null" ] && ok "the device node is kept" || bad "the device node was replaced by a regular file"
else skip "mknod not permitted: device-node output"; fi
expect_nothing_written "output-path failures" "$T/outdir" "*"
expect_nothing_written "temp files in the test folder" "$T" "*.tmp.*"
expect_nothing_written "temp files in /proc" "/proc" "nrps_*"

summary cli_badinput
