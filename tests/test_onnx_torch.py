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
The layer-list family (deeper nn.Sequential nets, two-headed modules, LeakyReLU, export_to_onnx.py from
state_dicts with PyTorch's key names, onnx.checker on what our C writer writes) is checked the same way, every
head's outputs through `neural_rps info --eval` (ours + ONNX Runtime vs torch within 1e-5).
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


def samples_helper():
    """build/tests/test_onnx_net beside BIN's build: its --write-samples mode writes the C writer's family files."""
    b = os.path.dirname(os.path.abspath(BIN))
    build = os.path.join(ROOT, "build") if os.path.basename(b) == "bin" else b
    return os.path.join(build, "tests", "test_onnx_net")


def cli_eval(path, pos):
    """What `neural_rps info` finds in path (heads with name and size) and each head's outputs on the positions
    file: "ref" (our reader + native-ref) and "ort" (ONNX Runtime) arrays, from `info --eval` (heads in order)."""
    import numpy as np
    rc, out, err = run("info", path, "--json")
    if rc != 0:
        raise RuntimeError(err.strip() or f"exit status {rc}")
    desc = json.loads(out)
    heads = [{"name": h["output"], "size": h["size"], "kind": h["kind"]} for h in desc["heads"]]
    for engine in ("ref", "ort"):
        rc, out, err = run("info", path, "--eval", pos, "--engine", engine)
        if rc != 0:
            raise RuntimeError(err.strip() or f"exit status {rc}")
        y = np.loadtxt(out.splitlines(), dtype=np.float64, ndmin=2)
        col = 0
        for h in heads:
            h[engine] = y[:, col:col + h["size"]]
            col += h["size"]
    return {"heads": heads, "ops": desc["graph"], "architecture": desc["architecture"]}


def family_tests(ex, td, x, pos):
    """The layer-list family through `neural_rps info` (see the top of this file)."""
    import numpy as np
    import onnx
    import torch
    import torch.nn as nn
    helper = samples_helper()
    xt = torch.tensor(x)

    class TwoHeads(nn.Module):
        def __init__(self, trunk, policy, value, order=("policy", "value")):
            super().__init__()
            self.trunk, self.policy, self.value, self.order = trunk, policy, value, order

        def forward(self, v):
            t = self.trunk(v)
            y = {"policy": self.policy(t), "value": self.value(t)}
            return tuple(y[k] for k in self.order)

    class MatMulAdd3(nn.Module):
        def __init__(self):
            super().__init__()
            self.w = nn.ParameterList([nn.Parameter(torch.randn(a, b) * 0.2) for a, b in ((81, 20), (20, 12), (12, 9))])
            self.b = nn.ParameterList([nn.Parameter(torch.randn(b) * 0.1) for b in (20, 12, 9)])

        def forward(self, v):
            v = torch.relu(v @ self.w[0] + self.b[0])
            v = torch.tanh(self.b[1] + v @ self.w[1])
            return torch.log_softmax(v @ self.w[2] + self.b[2], dim=1)

    L = nn.Linear
    variants = [  # name, module, opset, output names, expected architecture, expected head kinds (reader order)
        ("3-layer nn.Sequential relu/softmax", nn.Sequential(L(81, 32), nn.ReLU(), L(32, 16), nn.ReLU(), L(16, 9),
                                                             nn.Softmax(dim=1)), 17, ["output"], "81-32-16-9",
         ["policy"]),
        ("3-layer nn.Sequential opset 9", nn.Sequential(L(81, 32), nn.ReLU(), L(32, 16), nn.ReLU(), L(16, 9),
                                                        nn.Softmax(dim=1)), 9, ["output"], "81-32-16-9", ["policy"]),
        ("3-layer leaky_relu(0.2)/tanh value opset 13", nn.Sequential(L(81, 24), nn.LeakyReLU(0.2), L(24, 8),
                                                                      nn.LeakyReLU(0.2), L(8, 1), nn.Tanh()), 13,
         ["output"], "81-24-8-1", ["value"]),
        ("5-layer mixed activations, logsoftmax opset 11",
         nn.Sequential(L(81, 40), nn.Tanh(), L(40, 30), nn.Sigmoid(), L(30, 20), L(20, 10), nn.ReLU(), L(10, 9),
                       nn.LogSoftmax(dim=1)), 11, ["output"], "81-40-30-20-10-9", ["policy"]),
        ("3-layer MatMul+Add", MatMulAdd3(), 13, ["output"], "81-20-12-9", ["policy"]),
        ("two-headed module (trunk, policy, value)",
         TwoHeads(nn.Sequential(L(81, 32), nn.ReLU()), nn.Sequential(L(32, 16), nn.ReLU(), L(16, 9), nn.Softmax(dim=1)),
                  nn.Sequential(L(32, 1), nn.Sigmoid())), 17, ["policy", "value"], "81-32 -> policy:16-9 | value:1",
         ["policy", "value"]),
        ("two-headed, no trunk, value output first, names v/p (kinds from the widths)",
         TwoHeads(nn.Identity(), nn.Sequential(L(81, 9), nn.Softmax(dim=1)),
                  nn.Sequential(L(81, 8), nn.Tanh(), L(8, 1)), ("value", "policy")), 13, ["v", "p"], "81 -> p:9 | v:8-1", ["policy", "value"]),
        ("two-headed, 2-layer trunk, names win_value/move_policy (kinds from the names)",
         TwoHeads(nn.Sequential(L(81, 24), nn.ReLU(), L(24, 24), nn.ReLU()), nn.Sequential(L(24, 9)),
                  nn.Sequential(L(24, 1), nn.Sigmoid()), ("value", "policy")), 17, ["win_value", "move_policy"],
         "81-24-24 -> move_policy:9 | win_value:1", ["policy", "value"]),
    ]
    for name, model, opset, names, arch, kinds in variants:
        model = model.eval()
        path = os.path.join(td, "fam_" + str(abs(hash(name))) + ".onnx")
        axes = {n: {0: "batch_size"} for n in ["input"] + names}
        try:
            torch.onnx.export(model, torch.zeros(2, 81), path, input_names=["input"], output_names=names,
                              dynamic_axes=axes, opset_version=opset)
            d = cli_eval(path, pos)
        except Exception as e:  # noqa: BLE001
            bad(f"{name}: {str(e)[:300]}")
            continue
        with torch.no_grad():
            y = model(xt)
        y = dict(zip(names, [t.double().numpy() for t in (y if isinstance(y, tuple) else (y,))]))
        diff = max(float(np.max(np.abs(h[e] - y[h["name"]]))) for h in d["heads"] for e in ("ref", "ort"))
        got_kinds = [h["kind"] for h in d["heads"]]
        msg = (f"{name} [{d['ops']}]: {d['architecture']} {got_kinds}, max |torch - ours|, |torch - ORT| "
               f"{diff:.3g}")
        ok(msg) if diff <= TOL and d["architecture"] == arch and got_kinds == kinds else bad(msg)

    class Scaled(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = L(81, 9)

        def forward(self, v):
            return self.fc(v * 2.0)

    class Residual(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = L(81, 81), L(81, 9)

        def forward(self, v):
            return self.b(torch.relu(self.a(v)) + v)

    class TwoInputs(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = L(81, 9)

        def forward(self, v, w):
            return self.fc(v) + self.fc(w)

    deep = nn.Sequential(*[m for _ in range(17) for m in (L(81, 81), nn.ReLU())])
    negatives = [
        ("input Mul", Scaled(), (torch.zeros(2, 81),), "unsupported operator 'Mul' (node "),
        ("residual Add", Residual(), (torch.zeros(2, 81),), "is read by 2 nodes"),
        ("two inputs", TwoInputs(), (torch.zeros(2, 81), torch.zeros(2, 81)), "two graph inputs"),
        ("17 linear layers", deep, (torch.zeros(2, 81),), "layer 17 (node '/32/Gemm'): more than 16 linear layers"),
        ("softmax over the batch", nn.Sequential(L(81, 9), nn.Softmax(dim=0)), (torch.zeros(2, 81),),
         "Softmax over axis 0"),
        ("relu after the last layer", nn.Sequential(L(81, 9), nn.ReLU()), (torch.zeros(2, 81),),
         "Relu before graph output"),
    ]
    for name, model, args, want in negatives:
        path = os.path.join(td, "famneg_" + name.replace(" ", "_") + ".onnx")
        inputs = ["input"] if len(args) == 1 else ["input", "input2"]
        torch.onnx.export(model.eval(), args, path, input_names=inputs, output_names=["output"], opset_version=13)
        r = subprocess.run([BIN, "info", path, "--eval", pos], capture_output=True, text=True)
        lines = r.stderr.strip().splitlines()
        good = r.returncode == 1 and len(lines) == 1 and want in lines[0] and lines[0].startswith(
            "neural_rps info: " + path + ": ")
        (ok if good else bad)(f"family reader refuses {name}: {lines[0].split(': ', 1)[-1] if lines else r.stderr!r}")

    # export_to_onnx.py from state_dicts with PyTorch's key names, and from whole modules
    script = os.path.join(ROOT, "scripts", "export_to_onnx.py")
    fc = nn.Module()
    fc.fc1, fc.fc2, fc.fc3 = L(81, 16), L(16, 16), L(16, 1)
    sources = [  # name, object to save, extra flags, reference forward
        ("Sequential state_dict (0./2./4.weight), --final none",
         nn.Sequential(L(81, 24), nn.ReLU(), L(24, 12), nn.ReLU(), L(12, 9)), ["--final", "none"], None),
        ("fc1/fc2/fc3 state_dict, --act tanh",
         fc, ["--act", "tanh"], lambda v: torch.sigmoid(fc.fc3(torch.tanh(fc.fc2(torch.tanh(fc.fc1(v))))))),
        ("two-headed state_dict (trunk./policy./value.)",
         TwoHeads(nn.Sequential(L(81, 20), nn.ReLU()), nn.Sequential(L(20, 10), nn.ReLU(), L(10, 9), nn.Softmax(dim=1)),
                  nn.Sequential(L(20, 1), nn.Sigmoid())), [], None),
        ("whole nn.Sequential with LeakyReLU(0.2) (pickled module)",
         nn.Sequential(L(81, 16), nn.LeakyReLU(0.2), L(16, 8), nn.LeakyReLU(0.2), L(8, 1), nn.Sigmoid()), [], None),
    ]
    for i, (name, obj, flags, ref) in enumerate(sources):
        obj = obj.eval()
        pt = os.path.join(td, f"fam_src{i}.pt")
        torch.save(obj if "pickled" in name else obj.state_dict(), pt)
        dst = os.path.join(td, f"fam_src{i}.onnx")
        r = subprocess.run([sys.executable, script, pt, "--out", dst, "--bin", BIN,
                            "--positions", pos, *flags], capture_output=True, text=True)
        if r.returncode != 0 or not os.path.exists(dst):
            bad(f"export_to_onnx.py: {name}: {r.stderr.strip()[:300]}")
            continue
        with torch.no_grad():
            y = ref(xt) if ref else obj(xt)
        y = [t.double().numpy() for t in (y if isinstance(y, tuple) else (y,))]
        d = cli_eval(dst, pos)
        diff = max(float(np.max(np.abs(h[e] - yk))) for h, yk in zip(d["heads"], y) for e in ("ref", "ort"))
        (ok if diff <= TOL and "neural_rps reference" in r.stdout else bad)(
            f"export_to_onnx.py: {name} -> {d['architecture']}: max diff vs the module {diff:.3g}")
    ab = nn.Module()
    ab.a, ab.b = nn.Sequential(L(81, 9)), nn.Sequential(L(81, 1))
    bad_sources = [
        ("a Conv state_dict", nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten(), L(98, 9)), "not a Linear layer"),
        ("a BatchNorm state_dict", nn.Sequential(L(81, 8), nn.BatchNorm1d(8), L(8, 9)), "not a Linear layer"),
        ("two groups that are not policy/value", ab, "cannot map the state_dict's layer groups ['a', 'b']"),
        ("widths that do not chain", nn.Sequential(L(81, 8), L(7, 9)), "layer 2 has weight (9, 7)"),
    ]
    for i, (name, obj, want) in enumerate(bad_sources):
        pt = os.path.join(td, f"fam_bad{i}.pt")
        torch.save(obj.state_dict(), pt)
        dst = os.path.join(td, f"fam_bad{i}.onnx")
        r = subprocess.run([sys.executable, script, pt, "--out", dst, "--bin", BIN], capture_output=True, text=True)
        lines = r.stderr.strip().splitlines()
        good = r.returncode == 1 and len(lines) == 1 and want in lines[0] and not os.path.exists(dst)
        (ok if good else bad)(f"export_to_onnx.py refuses {name}: {lines}")

    # what our C writer writes for the family passes Debian's onnx.checker
    sd = os.path.join(td, "samples")
    os.makedirs(sd)
    r = subprocess.run([helper, "--write-samples", sd], capture_output=True, text=True)
    files = r.stdout.split()
    for f in files:
        try:
            onnx.checker.check_model(onnx.load(f), full_check=True)
            ok(f"C-written {os.path.basename(f)} passes onnx.checker (full_check, onnx {onnx.__version__})")
        except Exception as e:  # noqa: BLE001
            bad(f"C-written {os.path.basename(f)} fails onnx.checker: {e}")
    if r.returncode != 0 or len(files) != 4:
        bad(f"test_onnx_net --write-samples: {r.stderr.strip()}")


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
    family_tests(ex, td, x, pos)
    subprocess.run(["rm", "-rf", td])
    print(f"RESULT onnx_torch: {passed} passed, {failed} failed, {skipped} skipped")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
