#!/usr/bin/env python3
"""test_import_go.py - `neural_rps import-go` on the original Go project's .model pair
(tests/fixtures/rps_h64_g100_e1_{policy,value}.model): the written ONNX must reproduce a float64 numpy
forward pass of the JSON weights (reference and ONNX Runtime, within 1e-5 on real game positions), and
malformed inputs must give one line naming the file and the key, exit status 1, and no output file.
Binary: NRPS_BIN (default bin/neural_rps). Prints `RESULT import_go: N passed, N failed, N skipped`."""
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
BIN = os.environ.get("NRPS_BIN", os.path.join(ROOT, "bin", "neural_rps"))
FIX = os.path.join(ROOT, "tests", "fixtures")
passed = failed = skipped = 0


def ok(name):
    global passed
    passed += 1
    print(f"  ok {name}")


def bad(name):
    global failed
    failed += 1
    print(f"  not ok {name}")


def run(*args):
    r = subprocess.run([BIN, *args], capture_output=True, text=True)
    return r.returncode, r.stdout, r.stderr


def main():
    import numpy as np
    import export_to_onnx as ex  # game positions, numpy forward, JSON loading
    td = tempfile.mkdtemp(prefix="nrps_import_go.")
    x = ex.random_positions(400, seed=11)
    pos = os.path.join(td, "pos.txt")
    ex.positions_write(pos, x)

    for kind, out_size in (("policy", 9), ("value", 1)):
        src = os.path.join(FIX, f"rps_h64_g100_e1_{kind}.model")
        dst = os.path.join(td, f"{kind}.onnx")
        rc, out, err = run("import-go", src, "--out", dst)
        if rc != 0 or not os.path.exists(dst):
            bad(f"{kind}: import-go failed: {err.strip()}")
            continue
        ok(f"{kind}: {out.strip()}")
        rc, out, err = run("info", dst, "--json")
        info = json.loads(out) if rc == 0 else {}
        want = {"kind": kind, "hidden_size": 64, "input_size": 81, "output_size": out_size,
                "hidden_activation": "relu", "output_activation": "softmax" if kind == "policy" else "sigmoid"}
        got = {k: info.get(k) for k in want}
        ok(f"{kind}: info --json {got}") if got == want else bad(f"{kind}: info --json {got} != {want}")
        k, w = ex.load_go_model(src)
        y_np = ex.numpy_forward(k, w, x)
        for engine in ("ref", "ort"):
            y = ex.bin_eval(BIN, dst, pos, engine)
            d = float(np.max(np.abs(y - y_np)))
            msg = f"{kind}: {engine} vs numpy float64 forward of the JSON: max |diff| {d:.3g} on {len(x)} positions"
            ok(msg) if d <= 1e-5 else bad(msg)
        # --kind override that matches is fine; the wrong one is an error about the keys.
        rc, _, err = run("import-go", src, "--out", os.path.join(td, "k.onnx"), "--kind", kind)
        ok(f"{kind}: --kind {kind} accepted") if rc == 0 else bad(f"{kind}: --kind {kind}: {err.strip()}")

    with open(os.path.join(FIX, "rps_h64_g100_e1_policy.model")) as f:
        pol = json.load(f)
    with open(os.path.join(FIX, "rps_h64_g100_e1_value.model")) as f:
        val = json.load(f)

    def variant(base, fn):
        d = json.loads(json.dumps(base))
        fn(d)
        return json.dumps(d, sort_keys=True, separators=(",", ":"))

    def setk(k, v):
        return lambda d: d.__setitem__(k, v)

    def delk(k):
        return lambda d: d.pop(k)

    raw_pol = json.dumps(pol, sort_keys=True, separators=(",", ":"))
    cases = [
        ("truncated JSON", raw_pol[: len(raw_pol) // 2], "malformed JSON"),
        ("empty file", "", "malformed JSON"),
        ("not an object", "[1,2,3]", "expected a JSON object"),
        ("trailing garbage", raw_pol + " x", "malformed JSON"),
        ("biasesHidden too short", variant(pol, lambda d: d["biasesHidden"].pop()), "key 'biasesHidden': has 63 entries, expected 64"),
        ("hiddenSize mismatch", variant(pol, setk("hiddenSize", 65)), "key 'biasesHidden': has 64 entries, expected 65"),
        ("inputSize 80", variant(pol, setk("inputSize", 80)), "key 'inputSize'"),
        ("outputSize 8", variant(pol, setk("outputSize", 8)), "key 'outputSize'"),
        ("hiddenSize as string", variant(pol, setk("hiddenSize", "64")), "key 'hiddenSize'"),
        ("hiddenSize fractional", variant(pol, setk("hiddenSize", 64.5)), "key 'hiddenSize'"),
        ("missing weightsInputHidden", variant(pol, delk("weightsInputHidden")), "missing key 'weightsInputHidden'"),
        ("short weight row", variant(pol, lambda d: d["weightsInputHidden"][3].pop()), "key 'weightsInputHidden': row 3 has 80 entries, expected 81"),
        ("string weight", variant(pol, lambda d: d["weightsHiddenOutput"][2].__setitem__(5, "x")), "key 'weightsHiddenOutput[2]'"),
        ("weight beyond float32", variant(pol, lambda d: d["weightsHiddenOutput"][0].__setitem__(0, 1e39)), "weightsHiddenOutput[0]"),
        ("infinite weight (1e999)", raw_pol.replace(str(pol["biasesOutput"][0]), "1e999", 1), "key 'biasesOutput'"),
        ("unknown key", variant(pol, setk("learningRate", 0.1)), "unexpected key 'learningRate'"),
        ("value with 2 output rows", variant(val, lambda d: d["weightsHiddenOutput"].append(d["weightsHiddenOutput"][0])), "key 'weightsHiddenOutput': expected an array of 1 row,"),
        ("value biasOutput array", variant(val, setk("biasOutput", [0.1])), "key 'biasOutput': expected a number"),
        ("both output biases", variant(val, setk("biasesOutput", [0.0] * 9)), "cannot tell policy from value"),
        ("neither output bias", variant(val, delk("biasOutput")), "cannot tell policy from value"),
        ("duplicate key", raw_pol.replace('{"biasesHidden"', '{"hiddenSize":64,"biasesHidden"', 1), 'duplicate key "hiddenSize"'),
    ]
    for name, text, want in cases:
        src = os.path.join(td, "bad.model")
        dst = os.path.join(td, "bad.onnx")
        with open(src, "w") as f:
            f.write(text)
        rc, out, err = run("import-go", src, "--out", dst)
        lines = err.strip().splitlines()
        if rc == 1 and len(lines) == 1 and want in lines[0] and src in lines[0] and not out and not os.path.exists(dst):
            ok(f"rejects {name}: {lines[0].split(': ', 2)[-1]}")
        else:
            bad(f"rejects {name}: rc={rc}, stderr={err.strip()[:300]!r}, output exists={os.path.exists(dst)}")

    # An existing output file is left untouched by a failed import; no temp files remain.
    dst = os.path.join(td, "keep.onnx")
    with open(dst, "wb") as f:
        f.write(b"previous")
    rc, _, _ = run("import-go", os.path.join(td, "bad.model"), "--out", dst)
    left = [n for n in os.listdir(td) if ".tmp." in n]
    ok("failed import leaves the existing output alone") if rc == 1 and open(dst, "rb").read() == b"previous" \
        and not left else bad(f"failed import touched the output (rc={rc}, temp files {left})")
    # Usage errors.
    for name, args in (("missing --out", ["import-go", os.path.join(FIX, "rps_h64_g100_e1_value.model")]),
                       ("bad --kind", ["import-go", "x.model", "--out", "y.onnx", "--kind", "both"]),
                       ("no file", ["import-go", "--out", "y.onnx"])):
        rc, out, err = run(*args)
        ok(f"usage error: {name}") if rc == 2 and len(err.strip().splitlines()) == 1 else bad(f"usage error {name}: rc={rc} {err!r}")
    rc, _, err = run("import-go", os.path.join(td, "missing.model"), "--out", os.path.join(td, "m.onnx"))
    ok("missing input file") if rc == 1 and "missing.model" in err else bad(f"missing input file: rc={rc} {err!r}")
    subprocess.run(["rm", "-rf", td])
    print(f"RESULT import_go: {passed} passed, {failed} failed, {skipped} skipped")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
