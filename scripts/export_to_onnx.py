#!/usr/bin/python3
"""export_to_onnx.py - the PyTorch export path for neural_rps networks.

Defines the two PyTorch modules of the project (DESIGN.md section 2):
    PolicyNet: Linear(81, H) -> ReLU -> Linear(H, 9) -> Softmax(dim=1)
    ValueNet:  Linear(81, H) -> ReLU -> Linear(H, 1) -> Sigmoid
loads their weights from one of
    *.onnx   an ONNX MLP (ours or a PyTorch export: Gemm or MatMul+Add, Relu, Softmax/Sigmoid)
    *.model  an original Go project .model file (single-line JSON)
    *.pt     a PyTorch state_dict with fc1.weight, fc1.bias, fc2.weight, fc2.bias
exports with torch.onnx.export (input 'input', output 'output', dynamic batch axis 'batch_size',
--opset, default 17), adds metadata (kind, hidden_size, source, input_encoding), runs onnx.checker, and
compares the exported file with PyTorch on real game positions (random play following the rules, encoded
as the network expects; or --positions FILE with 81 numbers per line).

Input encoding (src/game/game.h): "board" is DESIGN.md section 2 exactly (the original's models); "hands"
adds both hands in the spare b+8 slots (our trained models). It is taken from the source ONNX file's
"input_encoding" metadata (board when absent, and for .model files), or from --encoding, and written to the
output's metadata so that neural_rps feeds the exported file the same inputs. The ONNX Runtime Python package is not available here, so the
comparison runs ONNX Runtime through our binary: `neural_rps info OUT --eval POSITIONS --engine ort`
(and our own reader + reference forward with `--engine ref`). The file is written atomically (temp +
rename) and only when every check passed.

Usage: scripts/export_to_onnx.py SOURCE --out OUT.onnx [--kind policy|value] [--opset 17] [--encoding board|hands]
           [--positions FILE | --n-positions 300] [--seed 1] [--bin bin/neural_rps] [--tol 1e-5]
Exit status 0 on success, 1 on a failed check or bad input (one line on stderr), 2 on usage errors.
Also importable: the tests use the game, encoding and loading helpers below.
"""
import argparse
import json
import os
import random
import subprocess
import sys
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# ---------------------------------------------------------------------------------------------------
# The game (DESIGN.md section 1) and the 81-float encoding (section 2), enough to make real positions.
# ---------------------------------------------------------------------------------------------------
BEATS = {0: 2, 1: 0, 2: 1}  # Rock beats Scissors, Paper beats Rock, Scissors beats Paper


def game_deal(rng, deck_size=21, hand_size=5):
    deck = [i % 3 for i in range(deck_size)]
    rng.shuffle(deck)
    return {"board": [None] * 9, "hands": {1: deck[:hand_size], 2: deck[hand_size:2 * hand_size]},
            "to_move": 1, "round": 1}


def game_legal(s, max_rounds=10):
    if s["round"] > max_rounds or not s["hands"][1] and not s["hands"][2]:
        return []
    hand = s["hands"][s["to_move"]]
    return [(c, p) for c in range(len(hand)) for p in range(9) if s["board"][p] is None]


def game_apply(s, move):
    c, p = move
    me = s["to_move"]
    t = s["hands"][me].pop(c)
    s["board"][p] = (t, me)
    r, col = divmod(p, 3)
    for dr, dc in ((-1, 0), (0, 1), (1, 0), (0, -1)):
        rr, cc = r + dr, col + dc
        if 0 <= rr < 3 and 0 <= cc < 3:
            q = rr * 3 + cc
            if s["board"][q] is not None and s["board"][q][1] != me and BEATS[t] == s["board"][q][0]:
                s["board"][q] = (s["board"][q][0], me)
    if me == 2:
        s["round"] += 1
    s["to_move"] = 2 if me == 1 else 1


def game_encode(s, encoding="board"):
    """The 81 network inputs; encoding "hands" also writes the hand counts into the b+8 slots of cells 0-5."""
    x = np.zeros(81, dtype=np.float32)
    for p in range(9):
        b = 9 * p
        cell = s["board"][p]
        if cell is None:
            x[b + 3] = 1
        else:
            x[b + cell[0]] = 1
            x[b + 3 + cell[1]] = 1
        x[b + 6] = 1 if s["to_move"] == 1 else 0
        x[b + 7] = 1 if s["to_move"] == 2 else 0
    if encoding == "hands":
        for pl in (1, 2):
            for t in range(3):
                x[9 * (3 * (pl - 1) + t) + 8] = s["hands"][pl].count(t)
    return x


def random_positions(n, seed=1, encoding="board"):
    """n positions from random games (every position where a move is to be made), deterministic."""
    rng = random.Random(seed)
    out = []
    while len(out) < n:
        s = game_deal(rng)
        while len(out) < n:
            moves = game_legal(s)
            if not moves:
                break
            out.append(game_encode(s, encoding))
            game_apply(s, rng.choice(moves))
    return np.stack(out)


def positions_write(path, x):
    np.savetxt(path, x, fmt="%.9g")


def positions_read(path):
    x = np.loadtxt(path, dtype=np.float64, comments="#", ndmin=2)
    if x.shape[1] != 81:
        raise ValueError(f"{path}: lines have {x.shape[1]} numbers, expected 81")
    return x.astype(np.float32)


# ---------------------------------------------------------------------------------------------------
# Networks and weight loading. Weights are (w1 [H][81], b1 [H], w2 [O][H], b2 [O]) numpy float32.
# ---------------------------------------------------------------------------------------------------
def make_net(kind, hidden):
    import torch
    import torch.nn as nn

    class MLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(81, hidden)
            self.fc2 = nn.Linear(hidden, 9 if kind == "policy" else 1)
            self.kind = kind

        def forward(self, x):
            z = self.fc2(nn.functional.relu(self.fc1(x)))
            return nn.functional.softmax(z, dim=1) if self.kind == "policy" else torch.sigmoid(z)

    return MLP()


class LoadError(Exception):
    pass


def load_go_model(path, kind=None):
    """Weights from an original Go .model (JSON). Minimal validation: the C importer is the strict one."""
    try:
        with open(path) as f:
            d = json.load(f)
    except (OSError, ValueError) as e:
        raise LoadError(f"{path}: {e}")
    if kind is None:
        kind = "policy" if "biasesOutput" in d else "value" if "biasOutput" in d else None
    if kind is None:
        raise LoadError(f"{path}: cannot tell policy from value: pass --kind")
    try:
        w1 = np.array(d["weightsInputHidden"], dtype=np.float64)
        b1 = np.array(d["biasesHidden"], dtype=np.float64)
        w2 = np.array(d["weightsHiddenOutput"], dtype=np.float64)
        b2 = np.array(d["biasesOutput"] if kind == "policy" else [d["biasOutput"]], dtype=np.float64)
    except (KeyError, ValueError) as e:
        raise LoadError(f"{path}: bad or missing key {e}")
    out = 9 if kind == "policy" else 1
    H = b1.shape[0]
    if w1.shape != (H, 81) or w2.shape != (out, H) or b2.shape != (out,):
        raise LoadError(f"{path}: inconsistent sizes w1 {w1.shape}, b1 {b1.shape}, w2 {w2.shape}, b2 {b2.shape}")
    return kind, (w1, b1, w2, b2)


def load_onnx(path, kind=None):
    """Weights from an ONNX MLP: walks the nodes in order (Gemm or MatMul[+Add], Relu, Softmax|Sigmoid)."""
    import onnx
    from onnx import numpy_helper
    try:
        m = onnx.load(path)
    except Exception as e:  # noqa: BLE001 - onnx raises various protobuf errors
        raise LoadError(f"{path}: not a readable ONNX file: {e}")
    consts = {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}
    for n in m.graph.node:
        if n.op_type == "Constant":
            for a in n.attribute:
                if a.name == "value":
                    consts[n.output[0]] = numpy_helper.to_array(a.t)
    layers, acts = [], []
    nodes = [n for n in m.graph.node if n.op_type != "Constant"]
    i = 0
    while i < len(nodes):
        n = nodes[i]
        if n.op_type == "Gemm":
            at = {a.name: onnx.helper.get_attribute_value(a) for a in n.attribute}
            if at.get("transA", 0):
                raise LoadError(f"{path}: Gemm with transA=1 (node '{n.name}') is not supported")
            w = consts[n.input[1]].astype(np.float64) * at.get("alpha", 1.0)
            w = w if at.get("transB", 0) else w.T
            b = consts[n.input[2]].astype(np.float64).reshape(-1) * at.get("beta", 1.0) if len(n.input) > 2 \
                else np.zeros(w.shape[0])
            layers.append((w, np.broadcast_to(b, (w.shape[0],)).copy()))
        elif n.op_type == "MatMul":
            w = consts[n.input[1]].astype(np.float64).T
            b = np.zeros(w.shape[0])
            if i + 1 < len(nodes) and nodes[i + 1].op_type == "Add" and n.output[0] in nodes[i + 1].input:
                other = [v for v in nodes[i + 1].input if v != n.output[0]][0]
                b = np.broadcast_to(consts[other].astype(np.float64).reshape(-1), (w.shape[0],)).copy()
                i += 1
            layers.append((w, b))
        elif n.op_type in ("Relu", "Softmax", "Sigmoid"):
            acts.append(n.op_type)
        elif n.op_type in ("Identity", "Flatten"):
            pass
        else:
            raise LoadError(f"{path}: operator '{n.op_type}' (node '{n.name}') does not fit the "
                            "Linear-ReLU-Linear-Softmax/Sigmoid modules")
        i += 1
    if len(layers) != 2 or acts[:1] != ["Relu"] or len(acts) != 2:
        raise LoadError(f"{path}: expected Linear -> Relu -> Linear -> Softmax|Sigmoid, found "
                        f"{len(layers)} linear layers and activations {acts}")
    (w1, b1), (w2, b2) = layers
    k = "policy" if acts[1] == "Softmax" else "value"
    if kind and kind != k:
        raise LoadError(f"{path}: is a {k} network (final {acts[1]}), not {kind}")
    if w1.shape[1] != 81 or w2.shape[0] != (9 if k == "policy" else 1):
        raise LoadError(f"{path}: layer sizes {w1.shape[1]}-{w1.shape[0]}-{w2.shape[0]} do not fit a {k} network")
    return k, (w1, b1, w2, b2)


ENCODINGS = ("board", "hands")


def source_encoding(path):
    """The input encoding an ONNX source declares in its metadata ("board" when absent or not ONNX)."""
    if os.path.splitext(path)[1].lower() != ".onnx":
        return "board"
    import onnx
    meta = {p.key: p.value for p in onnx.load(path).metadata_props}
    enc = meta.get("input_encoding", "") or "board"
    if enc not in ENCODINGS:
        raise LoadError(f"{path}: unknown input_encoding '{enc}' in the ONNX metadata (expected board or hands)")
    return enc


def load_pt(path, kind=None):
    import torch
    try:
        sd = torch.load(path, map_location="cpu")
    except Exception as e:  # noqa: BLE001
        raise LoadError(f"{path}: not a readable PyTorch file: {e}")
    if isinstance(sd, torch.nn.Module):
        sd = sd.state_dict()
    try:
        w = [sd[k].detach().double().numpy() for k in ("fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias")]
    except (KeyError, TypeError, AttributeError) as e:
        raise LoadError(f"{path}: state_dict lacks {e} (expected fc1.weight, fc1.bias, fc2.weight, fc2.bias)")
    k = kind or ("policy" if w[2].shape[0] == 9 else "value" if w[2].shape[0] == 1 else None)
    if k is None:
        raise LoadError(f"{path}: fc2 has {w[2].shape[0]} outputs, expected 9 (policy) or 1 (value)")
    return k, tuple(w)


def load_weights(path, kind=None):
    ext = os.path.splitext(path)[1].lower()
    if ext == ".onnx":
        return load_onnx(path, kind)
    if ext == ".model":
        return load_go_model(path, kind)
    if ext in (".pt", ".pth"):
        return load_pt(path, kind)
    raise LoadError(f"{path}: unknown source type '{ext}' (expected .onnx, .model or .pt)")


def net_from_weights(kind, weights):
    import torch
    w1, b1, w2, b2 = weights
    net = make_net(kind, w1.shape[0])
    with torch.no_grad():
        net.fc1.weight.copy_(torch.tensor(np.asarray(w1, dtype=np.float32)))
        net.fc1.bias.copy_(torch.tensor(np.asarray(b1, dtype=np.float32)))
        net.fc2.weight.copy_(torch.tensor(np.asarray(w2, dtype=np.float32)))
        net.fc2.bias.copy_(torch.tensor(np.asarray(b2, dtype=np.float32)))
    return net.eval()


def numpy_forward(kind, weights, x):
    """float64 reference forward pass."""
    w1, b1, w2, b2 = (np.asarray(a, dtype=np.float64) for a in weights)
    z = np.maximum(x.astype(np.float64) @ w1.T + b1, 0) @ w2.T + b2
    if kind == "policy":
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)
    return 1.0 / (1.0 + np.exp(-z))


# ---------------------------------------------------------------------------------------------------
# Running our binary
# ---------------------------------------------------------------------------------------------------
def default_bin():
    return os.environ.get("NRPS_BIN", os.path.join(ROOT, "bin", "neural_rps"))


def bin_eval(binary, model, positions_path, engine="ref"):
    """Outputs of `neural_rps info MODEL --eval POSITIONS --engine ENGINE` as a float64 array."""
    r = subprocess.run([binary, "info", model, "--eval", positions_path, "--engine", engine],
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(r.stderr.strip() or f"exit status {r.returncode}")
    return np.loadtxt(r.stdout.splitlines(), dtype=np.float64, ndmin=2)


def export(net, out_path, opset=17, metadata=None):
    """torch.onnx.export with our names and a dynamic batch axis, plus metadata; writes out_path directly."""
    import onnx
    import torch
    dummy = torch.zeros(1, 81)
    torch.onnx.export(net, dummy, out_path, input_names=["input"], output_names=["output"],
                      dynamic_axes={"input": {0: "batch_size"}, "output": {0: "batch_size"}},
                      opset_version=opset, do_constant_folding=True)
    if metadata:
        m = onnx.load(out_path)
        for k, v in metadata.items():
            e = m.metadata_props.add()
            e.key, e.value = k, str(v)
        onnx.save(m, out_path)


def main(argv=None):
    ap = argparse.ArgumentParser(description="Export a neural_rps policy/value network to ONNX with PyTorch.")
    ap.add_argument("source", help=".onnx, .model (original Go JSON) or .pt (state_dict)")
    ap.add_argument("--out", required=True, help="output .onnx (written atomically after all checks)")
    ap.add_argument("--kind", choices=["policy", "value"], help="override policy/value detection")
    ap.add_argument("--opset", type=int, default=17, help="ONNX opset for torch.onnx.export (default 17)")
    ap.add_argument("--encoding", choices=ENCODINGS,
                    help="input encoding of the network (default: the source's metadata, else board)")
    ap.add_argument("--positions", help="file with 81 numbers per line (default: random game positions)")
    ap.add_argument("--n-positions", type=int, default=300, help="random positions to compare on (default 300)")
    ap.add_argument("--seed", type=int, default=1, help="seed for the random positions")
    ap.add_argument("--bin", default=default_bin(), help="neural_rps binary for the ONNX Runtime check")
    ap.add_argument("--tol", type=float, default=1e-5, help="max abs difference allowed (default 1e-5)")
    args = ap.parse_args(argv)
    prog = "export_to_onnx.py"
    try:
        import onnx
        import torch
    except ImportError as e:
        print(f"{prog}: needs python3-torch and python3-onnx: {e}", file=sys.stderr)
        return 1
    try:
        kind, weights = load_weights(args.source, args.kind)
        encoding = args.encoding or source_encoding(args.source)
        x = positions_read(args.positions) if args.positions else \
            random_positions(args.n_positions, args.seed, encoding)
    except (LoadError, ValueError, OSError) as e:
        print(f"{prog}: {e}", file=sys.stderr)
        return 1
    net = net_from_weights(kind, weights)
    with torch.no_grad():
        y_torch = net(torch.tensor(x)).double().numpy()
    out_dir = os.path.dirname(os.path.abspath(args.out))
    with tempfile.TemporaryDirectory(dir=out_dir, prefix=".export_") as td:
        tmp_model = os.path.join(td, "model.onnx")
        meta = {"kind": kind, "hidden_size": weights[0].shape[0], "source": os.path.basename(args.source),
                "input_encoding": encoding,
                "producer_note": f"torch {torch.__version__} export_to_onnx.py"}
        try:
            export(net, tmp_model, args.opset, meta)
            onnx.checker.check_model(onnx.load(tmp_model))
        except Exception as e:  # noqa: BLE001
            print(f"{prog}: export/check failed: {e}".replace("\n", " "), file=sys.stderr)
            return 1
        report = [f"onnx.checker ok (opset {args.opset})"]
        if os.path.exists(args.bin):
            pos_path = os.path.join(td, "positions.txt")
            positions_write(pos_path, x)
            try:
                for engine in ("ort", "ref"):
                    y = bin_eval(args.bin, tmp_model, pos_path, engine)
                    d = float(np.max(np.abs(y - y_torch)))
                    label = "ONNX Runtime" if engine == "ort" else "neural_rps reference"
                    report.append(f"max |torch - {label}| = {d:.3g}")
                    if not d <= args.tol:
                        print(f"{prog}: {label} differs from PyTorch by {d:.3g} > {args.tol:g}", file=sys.stderr)
                        return 1
            except RuntimeError as e:
                print(f"{prog}: {e}", file=sys.stderr)
                return 1
        else:
            report.append(f"ONNX Runtime check skipped: {args.bin} not built")
        os.replace(tmp_model, args.out)
    print(f"wrote {args.out}: {kind} 81-{weights[0].shape[0]}-{weights[2].shape[0]}, {encoding} encoding, "
          f"{len(x)} positions; "
          + "; ".join(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
