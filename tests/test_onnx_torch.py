#!/usr/bin/env python3
"""test_onnx_torch.py - our ONNX reader against what PyTorch 1.13 actually exports, and our C writer
against torch.onnx.export.

For each variant (Gemm at opsets 9/13/17, MatMul+Add with either Add operand order, LogSoftmax, Tanh,
Sigmoid, no final activation, Linear without bias, Flatten, and opset 21 by relabelling an opset-17
export since torch 1.13 stops at 17) it exports a small random network with torch.onnx.export, then
checks `neural_rps info --json` and that `neural_rps info --eval` gives torch's outputs within 1e-5 on
real game positions, both with our reader + reference forward and with ONNX Runtime. Unsupported graphs
must fail with one line naming the file and the problem. Finally the ONNX our C writer produces
(import-go of the fixture) and the ONNX torch exports from the same weights must agree within 1e-5.
Binary: NRPS_BIN (default bin/neural_rps). Prints `RESULT onnx_torch: N passed, N failed, N skipped`."""
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
BIN = os.environ.get("NRPS_BIN", os.path.join(ROOT, "bin", "neural_rps"))
TOL = 1e-5
passed = failed = skipped = 0


def ok(name):
    global passed
    passed += 1
    print(f"  ok {name}")


def bad(name):
    global failed
    failed += 1
    print(f"  not ok {name}")


def skip(name):
    global skipped
    skipped += 1
    print(f"  SKIP {name}")


def run(*args):
    r = subprocess.run([BIN, *args], capture_output=True, text=True)
    return r.returncode, r.stdout, r.stderr


def main():
    try:
        import numpy as np
        import onnx
        import torch
        import torch.nn as nn
        import export_to_onnx as ex
    except ImportError as e:
        skip(f"torch/onnx/numpy not available: {e}")
        print(f"RESULT onnx_torch: {passed} passed, {failed} failed, {skipped} skipped")
        return 0
    torch.manual_seed(7)
    td = tempfile.mkdtemp(prefix="nrps_onnx_torch.")
    x = ex.random_positions(300, seed=3)
    pos = os.path.join(td, "positions.txt")
    ex.positions_write(pos, x)
    xt = torch.tensor(x)

    class Std(nn.Module):
        def __init__(self, H, out, act, final, bias=True, flatten=False):
            super().__init__()
            self.flatten = nn.Flatten() if flatten else None
            self.fc1, self.act, self.fc2, self.final = nn.Linear(81, H, bias=bias), act, nn.Linear(H, out, bias=bias), final

        def forward(self, v):
            if self.flatten is not None:
                v = self.flatten(v)
            z = self.fc2(self.act(self.fc1(v)))
            return self.final(z) if self.final is not None else z

    class MatMulAdd(nn.Module):
        """x @ W + b with W stored [in][out]; the second Add has the bias first."""
        def __init__(self, H, out):
            super().__init__()
            self.w1 = nn.Parameter(torch.randn(81, H) * 0.2)
            self.b1 = nn.Parameter(torch.randn(H) * 0.1)
            self.w2 = nn.Parameter(torch.randn(H, out) * 0.3)
            self.b2 = nn.Parameter(torch.randn(out) * 0.1)

        def forward(self, v):
            return torch.softmax(self.b2 + torch.relu(v @ self.w1 + self.b1) @ self.w2, dim=1)

    class Reshaped(nn.Module):
        """x.reshape(-1, 81) first: a Reshape with a constant [-1, 81] shape."""
        def __init__(self):
            super().__init__()
            self.inner = Std(16, 9, nn.ReLU(), nn.Softmax(dim=1))

        def forward(self, v):
            return self.inner(v.reshape(-1, 81))

    class Scaled(nn.Module):  # an input Mul: not an MLP we read
        def __init__(self):
            super().__init__()
            self.inner = Std(8, 9, nn.ReLU(), nn.Softmax(dim=1))

        def forward(self, v):
            return self.inner(v * 2.0)

    class ThreeLayers(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = nn.Sequential(nn.Linear(81, 8), nn.ReLU(), nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 9))

        def forward(self, v):
            return self.net(v)

    class SoftmaxDim0(nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = Std(8, 9, nn.ReLU(), None)

        def forward(self, v):
            return torch.softmax(self.inner(v), dim=0)

    def export(model, name, opset):
        path = os.path.join(td, name + ".onnx")
        torch.onnx.export(model.eval(), torch.zeros(2, 81), path, input_names=["input"], output_names=["output"],
                          dynamic_axes={"input": {0: "batch_size"}, "output": {0: "batch_size"}}, opset_version=opset)
        return path

    variants = [
        ("gemm relu/softmax opset 9", lambda: Std(32, 9, nn.ReLU(), nn.Softmax(dim=1)), 9, ("relu", "softmax")),
        ("gemm relu/softmax opset 13", lambda: Std(32, 9, nn.ReLU(), nn.Softmax(dim=1)), 13, ("relu", "softmax")),
        ("gemm relu/softmax opset 17", lambda: Std(32, 9, nn.ReLU(), nn.Softmax(dim=1)), 17, ("relu", "softmax")),
        ("gemm relu/softmax(dim=-1) opset 11", lambda: Std(16, 9, nn.ReLU(), nn.Softmax(dim=-1)), 11, ("relu", "softmax")),
        ("matmul+add relu/softmax opset 13", lambda: MatMulAdd(24, 9), 13, ("relu", "softmax")),
        ("matmul+add relu/softmax opset 9", lambda: MatMulAdd(24, 9), 9, ("relu", "softmax")),
        ("relu/logsoftmax opset 17", lambda: Std(16, 9, nn.ReLU(), nn.LogSoftmax(dim=1)), 17, ("relu", "logsoftmax")),
        ("tanh/tanh value opset 17", lambda: Std(16, 1, nn.Tanh(), nn.Tanh()), 17, ("tanh", "tanh")),
        ("sigmoid/none 5 outputs opset 11", lambda: Std(12, 5, nn.Sigmoid(), None), 11, ("sigmoid", "none")),
        ("relu/sigmoid value opset 10", lambda: Std(64, 1, nn.ReLU(), nn.Sigmoid()), 10, ("relu", "sigmoid")),
        ("no-bias linear layers opset 17", lambda: Std(16, 9, nn.ReLU(), nn.Softmax(dim=1), bias=False), 17,
         ("relu", "softmax")),
        ("reshape(-1, 81) first opset 13", lambda: Reshaped(), 13, ("relu", "softmax")),
        ("flatten first opset 17", lambda: Std(16, 9, nn.ReLU(), nn.Softmax(dim=1), flatten=True), 17,
         ("relu", "softmax")),
    ]
    worst = 0.0
    for i, (name, factory, opset, acts) in enumerate(variants):
        model = factory().eval()
        try:
            path = export(model, f"v{i}", opset)
        except Exception as e:  # noqa: BLE001
            bad(f"{name}: torch export failed: {e}")
            continue
        with torch.no_grad():
            y_t = model(xt).double().numpy()
        ops = " ".join(n.op_type for n in onnx.load(path).graph.node)
        rc, out, err = run("info", path, "--json")
        if rc != 0:
            bad(f"{name} [{ops}]: info failed: {err.strip()}")
            continue
        info = json.loads(out)
        if (info["hidden_activation"], info["output_activation"]) != acts or info["opset"] != opset:
            bad(f"{name}: info says {info['hidden_activation']}/{info['output_activation']} opset {info['opset']}")
            continue
        diffs = {}
        for engine in ("ref", "ort"):
            try:
                diffs[engine] = float(np.max(np.abs(ex.bin_eval(BIN, path, pos, engine) - y_t)))
            except RuntimeError as e:
                diffs[engine] = float("inf")
                print(f"    {engine}: {e}")
        worst = max(worst, *diffs.values())
        msg = f"{name} [{ops}]: max |torch - ours| {diffs['ref']:.3g}, |torch - ORT| {diffs['ort']:.3g}"
        ok(msg) if max(diffs.values()) <= TOL else bad(msg)

    # Opset 21: torch 1.13 cannot export it; relabel an opset-17 export (Gemm/Relu/Softmax are unchanged
    # from 17 to 21) and check that our reader and ONNX Runtime 1.29 both take it.
    model = Std(16, 9, nn.ReLU(), nn.Softmax(dim=1)).eval()
    p17 = export(model, "v21src", 17)
    m = onnx.load(p17)
    m.opset_import[0].version = 21
    m.ir_version = 10
    p21 = os.path.join(td, "v21.onnx")
    onnx.save(m, p21)
    with torch.no_grad():
        y_t = model(xt).double().numpy()
    try:
        d = max(float(np.max(np.abs(ex.bin_eval(BIN, p21, pos, e) - y_t))) for e in ("ref", "ort"))
        (ok if d <= TOL else bad)(f"opset 21 (relabelled opset-17 export, IR 10): max diff {d:.3g}")
    except RuntimeError as e:
        bad(f"opset 21: {e}")
    skip("native torch export at opset 21: torch 1.13 exports opsets up to 17 (covered by relabelling above)")

    # A static batch axis (no dynamic_axes): the reader takes dim_value batches too.
    model = Std(16, 9, nn.ReLU(), nn.Softmax(dim=1)).eval()
    pst = os.path.join(td, "static.onnx")
    torch.onnx.export(model, torch.zeros(1, 81), pst, input_names=["x"], output_names=["probs"], opset_version=13)
    rc, out, err = run("info", pst, "--json")
    info = json.loads(out) if rc == 0 else {}
    with torch.no_grad():
        y_t = model(xt).double().numpy()
    try:
        d = float(np.max(np.abs(ex.bin_eval(BIN, pst, pos, "ref") - y_t)))
    except RuntimeError as e:
        d = float("inf")
        print(f"    {e}")
    good = info.get("input", {}).get("batch") == "1" and info["input"]["name"] == "x" and d <= TOL
    (ok if good else bad)(f"static batch [1, 81], names x/probs: info input {info.get('input')}, ref max diff {d:.3g}")

    # export_to_onnx.py from a PyTorch state_dict (.pt) and from positions given in a file.
    for kind, out_n, final in (("policy", 9, nn.Softmax(dim=1)), ("value", 1, nn.Sigmoid())):
        model = Std(32, out_n, nn.ReLU(), final).eval()
        pt = os.path.join(td, f"sd_{kind}.pt")
        torch.save(model.state_dict(), pt)
        dst = os.path.join(td, f"sd_{kind}.onnx")
        r = subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "export_to_onnx.py"), pt, "--out", dst,
                            "--bin", BIN, "--positions", pos], capture_output=True, text=True)
        if r.returncode != 0 or not os.path.exists(dst):
            bad(f"export_to_onnx.py from .pt ({kind}): {r.stderr.strip()[:300]}")
            continue
        with torch.no_grad():
            y_t = model(xt).double().numpy()
        d = max(float(np.max(np.abs(ex.bin_eval(BIN, dst, pos, e) - y_t))) for e in ("ref", "ort"))
        (ok if d <= TOL else bad)(f"export_to_onnx.py from a {kind} state_dict: max diff vs the module {d:.3g}")
    r = subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "export_to_onnx.py"), pos, "--out",
                        os.path.join(td, "nope.onnx")], capture_output=True, text=True)
    lines = r.stderr.strip().splitlines()
    (ok if r.returncode == 1 and len(lines) == 1 and "unknown source type" in lines[0] and
     not os.path.exists(os.path.join(td, "nope.onnx")) else bad)(f"export_to_onnx.py rejects a .txt source: {lines}")

    # Unsupported graphs: one line naming the file and what is wrong.
    negatives = [
        ("input Mul", Scaled(), 17, "unsupported operator 'Mul' (node "),
        ("three linear layers", ThreeLayers(), 17, "unsupported operator 'Relu' at this point"),
        ("softmax over the batch axis", SoftmaxDim0(), 13, "Softmax over axis 0"),
    ]
    for name, model, opset, want in negatives:
        path = export(model, "neg_" + name.replace(" ", "_"), opset)
        rc, out, err = run("info", path)
        lines = err.strip().splitlines()
        if rc == 1 and len(lines) == 1 and want in lines[0] and path in lines[0] and not out:
            ok(f"rejects {name}: {lines[0].split(': ', 2)[-1]}")
        else:
            bad(f"rejects {name}: rc={rc} stderr={err.strip()[:300]!r}")

    # Our C writer vs torch.onnx.export on the same weights.
    for kind in ("policy", "value"):
        fixture = os.path.join(ROOT, "tests", "fixtures", f"rps_h64_g100_e1_{kind}.model")
        ours = os.path.join(td, f"ours_{kind}.onnx")
        theirs = os.path.join(td, f"torch_{kind}.onnx")
        rc, out, err = run("import-go", fixture, "--out", ours)
        if rc != 0:
            bad(f"{kind}: import-go failed: {err.strip()}")
            continue
        try:
            onnx.checker.check_model(onnx.load(ours), full_check=True)
            ok(f"{kind}: C-written ONNX passes onnx.checker (full_check, onnx {onnx.__version__})")
        except Exception as e:  # noqa: BLE001
            bad(f"{kind}: C-written ONNX fails onnx.checker: {e}")
        r = subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "export_to_onnx.py"), ours, "--out", theirs,
                            "--bin", BIN, "--n-positions", "300", "--seed", "5"], capture_output=True, text=True)
        if r.returncode != 0:
            bad(f"{kind}: export_to_onnx.py failed: {r.stderr.strip()[:300]}")
            continue
        print(f"    {r.stdout.strip()}")
        y_ours_ort = ex.bin_eval(BIN, ours, pos, "ort")
        y_torch_ort = ex.bin_eval(BIN, theirs, pos, "ort")
        y_ours_ref = ex.bin_eval(BIN, ours, pos, "ref")
        k, w = ex.load_go_model(fixture)
        y_np = ex.numpy_forward(k, w, x)
        d1 = float(np.max(np.abs(y_ours_ort - y_torch_ort)))
        d2 = float(np.max(np.abs(y_ours_ref - y_np)))
        msg = (f"{kind}: ORT(C writer) vs ORT(torch export) max |diff| {d1:.3g} on {len(x)} positions; "
               f"reference vs numpy float64 {d2:.3g}")
        ok(msg) if d1 <= TOL and d2 <= TOL else bad(msg)
        meta = {p.key: p.value for p in onnx.load(theirs).metadata_props}
        (ok if meta.get("input_encoding") == "board" else bad)(
            f"{kind}: export of an original model declares the board encoding: {meta.get('input_encoding')}")

    # The default models use the hands encoding: the export keeps it and is checked on hands-encoded positions.
    xh = ex.random_positions(200, 7, "hands")
    hands_cols = xh[:, [9 * c + 8 for c in range(6)]]
    (ok if hands_cols.sum(axis=1).min() > 0 and np.all(xh[:, [9 * c + 8 for c in range(6, 9)]] == 0) else bad)(
        "hands-encoded positions carry the hand counts in cells 0-5 only")
    posh = os.path.join(td, "pos_hands.txt")
    ex.positions_write(posh, xh)
    for kind in ("policy", "value"):
        src = os.path.join(ROOT, "models", f"rps_{kind}.onnx")
        dst = os.path.join(td, f"hands_{kind}.onnx")
        r = subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "export_to_onnx.py"), src, "--out", dst,
                            "--bin", BIN, "--n-positions", "200", "--seed", "7"], capture_output=True, text=True)
        if r.returncode != 0:
            bad(f"{kind}: export_to_onnx.py of the default model failed: {r.stderr.strip()[:300]}")
            continue
        meta = {p.key: p.value for p in onnx.load(dst).metadata_props}
        d = float(np.max(np.abs(ex.bin_eval(BIN, src, posh, "ort") - ex.bin_eval(BIN, dst, posh, "ort"))))
        good = meta.get("input_encoding") == "hands" and "hands encoding" in r.stdout and d <= TOL
        (ok if good else bad)(f"{kind}: default model exported with input_encoding {meta.get('input_encoding')}, "
                              f"ORT(ours) vs ORT(torch export) on hands positions {d:.3g}")
    print(f"  worst torch-vs-ours difference over the variants: {worst:.3g}")
    subprocess.run(["rm", "-rf", td])
    print(f"RESULT onnx_torch: {passed} passed, {failed} failed, {skipped} skipped")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
