#!/usr/bin/python3
"""export_to_onnx.py - the PyTorch export path for neural_rps networks.

A network of the family (DESIGN.md sections 2 and 2b): a list of Linear layers, each followed by ReLU,
LeakyReLU, Tanh, Sigmoid or nothing, and either one head (81 -> ... -> 9 policy or -> 1 value, ending in
Softmax, LogSoftmax, Sigmoid, Tanh or nothing) or two heads after a shared trunk (policy -> 9 Softmax and
value -> 1 Sigmoid), 1 to 16 layers in all. Loads it from one of
    *.onnx       an ONNX network of the family (ours or a PyTorch export: Gemm or MatMul[+Add], the
                 activations above, Identity/Flatten/Dropout/Reshape no-ops; one output or two heads)
    *.model      an original Go project .model file (single-line JSON): 81 -> H -> ReLU -> 9 / 1
    *.pt, *.pth  a PyTorch state_dict with the key names PyTorch gives them: one nn.Sequential
                 (0.weight, 2.weight, ...; or fc1.weight, fc2.weight, ...; any common prefix) or a two-headed
                 module (trunk.0.weight ..., policy.0.weight ..., value.0.weight ...; the group names
                 containing "policy" and "value" are the heads, a third group is the trunk). A state_dict has
                 no activations: hidden layers get --act (default relu, --alpha for leaky_relu), a one-head
                 net's last layer --final (default softmax for a policy, sigmoid for a value). A whole pickled
                 nn.Sequential (or a module with trunk/policy/value Sequentials) brings its own activations.
rebuilds it as a PyTorch module, exports with torch.onnx.export (input 'input'; output 'output', or
'policy' and 'value' for two heads; dynamic batch axis 'batch_size'; --opset, default 17), adds metadata
(architecture, heads, kind, hidden_size for 2-layer nets, source, input_encoding), runs onnx.checker, and
compares the exported file with PyTorch on real game positions (random play following the rules, encoded as
the network expects; or --positions FILE with 81 numbers per line). Anything it cannot map is one line on
stderr and exit status 1.

Input encoding (src/game/game.h): "board" is DESIGN.md section 2 exactly (the original's models); "hands"
adds both hands in the spare b+8 slots (our trained models). It is taken from the source ONNX file's
"input_encoding" metadata (board when absent, and for .model files), or from --encoding, and written to the
output's metadata so that neural_rps feeds the exported file the same inputs. The ONNX Runtime Python package
is not available here, so the comparison runs ONNX Runtime through our binary: `neural_rps info OUT --eval
POSITIONS --engine ort|ref` (every head's outputs, for any network of the family). The file is written
atomically (temp + rename) and only when every check passed.

Usage: scripts/export_to_onnx.py SOURCE --out OUT.onnx [--kind policy|value] [--opset 17] [--encoding board|hands]
           [--act relu|leaky_relu|tanh|sigmoid|none] [--alpha 0.01] [--final softmax|logsoftmax|sigmoid|tanh|none]
           [--positions FILE | --n-positions 300] [--seed 1] [--bin bin/neural_rps]
           [--tol 1e-5]
Exit status 0 on success, 1 on a failed check or bad input (one line on stderr), 2 on usage errors.
Also importable: the tests use the game, encoding, loading and forward helpers below.
"""
import argparse
import json
import os
import random
import re
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
# Networks as specs: {"in": 81, "trunk": [layer, ...], "heads": [{"name", "kind", "layers": [layer, ...]}]},
# layer = {"w": [out][in] float64, "b": [out], "act": ACTS[i], "alpha": float}.
# ---------------------------------------------------------------------------------------------------
ACTS = ("none", "relu", "leaky_relu", "tanh", "sigmoid", "softmax", "logsoftmax")
HIDDEN_ACTS = ("none", "relu", "leaky_relu", "tanh", "sigmoid")
FINAL_ACTS = ("none", "softmax", "logsoftmax", "sigmoid", "tanh")
MAX_LAYERS = 16


class LoadError(Exception):
    pass


def layer(w, b=None, act="none", alpha=0.01):
    w = np.asarray(w, dtype=np.float64)
    b = np.zeros(w.shape[0]) if b is None else np.asarray(b, dtype=np.float64).reshape(-1)
    return {"w": w, "b": b, "act": act, "alpha": float(alpha) if act == "leaky_relu" else 0.0}


def spec_one_head(layers, kind, name="output"):
    return {"in": layers[0]["w"].shape[1], "trunk": [], "heads": [{"name": name, "kind": kind, "layers": layers}]}


def spec_layers(spec):
    return spec["trunk"] + [l for h in spec["heads"] for l in h["layers"]]


def spec_describe(spec):
    """The widths as nn_arch_describe writes them: "81-128-9", "81-64 -> policy:32-9 | value:1"."""
    widths = lambda ls: "-".join(str(l["w"].shape[0]) for l in ls)
    if len(spec["heads"]) == 1:
        return f"{spec['in']}-{widths(spec['heads'][0]['layers'])}"
    trunk = f"{spec['in']}" + (f"-{widths(spec['trunk'])}" if spec["trunk"] else "")
    return trunk + " -> " + " | ".join(f"{h['name']}:{widths(h['layers'])}" for h in spec["heads"])


def spec_is_original(spec):
    """The 2-layer one-head nets `neural_rps info` reads today (Relu/Tanh/Sigmoid hidden layer)."""
    return (len(spec["heads"]) == 1 and len(spec["heads"][0]["layers"]) == 2 and
            spec["heads"][0]["layers"][0]["act"] in ("relu", "tanh", "sigmoid"))


def spec_check(spec, path):
    """The family and the game: 81 inputs, chained widths, 1-16 layers, policy -> 9 / value -> 1."""
    ls = spec_layers(spec)
    if not 1 <= len(ls) <= MAX_LAYERS:
        raise LoadError(f"{path}: {len(ls)} linear layers (supported: 1 to {MAX_LAYERS})")
    if spec["in"] != 81:
        raise LoadError(f"{path}: the first layer takes {spec['in']} inputs, expected 81 (the game's encoding)")
    width, n = spec["in"], 0
    for part in [spec["trunk"]] + [h["layers"] for h in spec["heads"]]:
        w_in = width
        for l in part:
            n += 1
            if l["w"].ndim != 2 or l["w"].shape[1] != w_in or l["b"].shape != (l["w"].shape[0],):
                raise LoadError(f"{path}: layer {n} has weight {tuple(l['w'].shape)} and bias {tuple(l['b'].shape)}, "
                                f"expected [out, {w_in}] and [out]")
            w_in = l["w"].shape[0]
        if part is spec["trunk"]:
            width = w_in
    for part in [spec["trunk"]] + [h["layers"][:-1] for h in spec["heads"]]:
        for l in part:
            if l["act"] not in HIDDEN_ACTS:
                raise LoadError(f"{path}: {l['act']} on a hidden layer (supported: {', '.join(HIDDEN_ACTS)})")
    for h in spec["heads"]:
        out, act = h["layers"][-1]["w"].shape[0], h["layers"][-1]["act"]
        if act not in FINAL_ACTS:
            raise LoadError(f"{path}: head '{h['name']}' ends in {act} (supported: {', '.join(FINAL_ACTS)})")
        if h["kind"] not in ("policy", "value") or out != (9 if h["kind"] == "policy" else 1):
            raise LoadError(f"{path}: head '{h['name']}' has {out} outputs: not a {h['kind']} head "
                            "(a policy has 9, a value 1)")
    if len(spec["heads"]) == 2 and sorted(h["kind"] for h in spec["heads"]) != ["policy", "value"]:
        raise LoadError(f"{path}: two heads must be a policy and a value head")


def act_np(z, act, alpha):
    if act == "relu":
        return np.maximum(z, 0)
    if act == "leaky_relu":
        return np.where(z > 0, z, alpha * z)
    if act == "tanh":
        return np.tanh(z)
    if act == "sigmoid":
        return 1.0 / (1.0 + np.exp(-z))
    if act in ("softmax", "logsoftmax"):
        e = z - z.max(axis=1, keepdims=True)
        ls = e - np.log(np.exp(e).sum(axis=1, keepdims=True))
        return ls if act == "logsoftmax" else np.exp(ls)
    return z


def spec_forward(spec, x):
    """float64 reference forward: one array [batch][width] per head, in head order."""
    def run(ls, v):
        for l in ls:
            v = act_np(v @ l["w"].T + l["b"], l["act"], l["alpha"])
        return v
    t = run(spec["trunk"], np.asarray(x, dtype=np.float64))
    return [run(h["layers"], t) for h in spec["heads"]]


def numpy_forward(kind, weights, x):
    """float64 forward of the original's 81 -> H -> ReLU -> 9 softmax / 1 sigmoid from (w1, b1, w2, b2)."""
    return spec_forward(spec_from_weights(kind, weights), x)[0]


def spec_from_weights(kind, weights):
    w1, b1, w2, b2 = weights
    return spec_one_head([layer(w1, b1, "relu"), layer(w2, b2, "softmax" if kind == "policy" else "sigmoid")], kind)


# ---------------------------------------------------------------------------------------------------
# Sources
# ---------------------------------------------------------------------------------------------------
def load_go_model(path, kind=None):
    """Weights (w1, b1, w2, b2) from an original Go .model (JSON). Minimal validation: the C importer is the
    strict one."""
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


ONNX_ACTS = {"Relu": "relu", "LeakyRelu": "leaky_relu", "Tanh": "tanh", "Sigmoid": "sigmoid",
             "Softmax": "softmax", "LogSoftmax": "logsoftmax"}
ONNX_NOOPS = ("Identity", "Flatten", "Dropout", "Reshape")


class OnnxGraph:
    """An ONNX graph followed from its input: constants, consumers, and the walk (C reader: src/onnx/onnx_net.c)."""

    def __init__(self, path):
        import onnx
        from onnx import numpy_helper
        self.onnx, self.path = onnx, path
        try:
            self.m = onnx.load(path)
        except Exception as e:  # noqa: BLE001 - onnx raises various protobuf errors
            raise LoadError(f"{path}: not a readable ONNX file: {e}")
        g = self.m.graph
        self.consts = {t.name: numpy_helper.to_array(t) for t in g.initializer}
        for n in g.node:
            if n.op_type == "Constant":
                for a in n.attribute:
                    if a.name == "value":
                        self.consts[n.output[0]] = numpy_helper.to_array(a.t)
        self.consumers = {}
        for n in g.node:
            for v in dict.fromkeys(n.input):
                if v:
                    self.consumers.setdefault(v, []).append(n)
        self.outputs = [o.name for o in g.output]
        self.visited = set()

    def attrs(self, n):
        return {a.name: self.onnx.helper.get_attribute_value(a) for a in n.attribute}

    def linear(self, n, value):
        """(layer, value after it) for a Gemm, or a MatMul with the Add of a constant that follows it."""
        at = self.attrs(n)
        if n.input[0] != value or len(n.input) < 2 or n.input[1] not in self.consts:
            raise LoadError(f"{self.path}: {n.op_type} (node '{n.name}') is not input @ constant weight")
        if n.op_type == "Gemm":
            if at.get("transA", 0):
                raise LoadError(f"{self.path}: Gemm with transA=1 (node '{n.name}') is not supported")
            w = self.consts[n.input[1]].astype(np.float64) * at.get("alpha", 1.0)
            w = w if at.get("transB", 0) else w.T
            b = np.zeros(w.shape[0])
            if len(n.input) > 2 and n.input[2]:
                b = np.broadcast_to(self.consts[n.input[2]].astype(np.float64).reshape(-1) * at.get("beta", 1.0),
                                    (w.shape[0],)).copy()
            return layer(w, b), n.output[0]
        w, b, out = self.consts[n.input[1]].astype(np.float64).T, None, n.output[0]
        cons = self.consumers.get(out, [])
        if len(cons) == 1 and cons[0].op_type == "Add" and out not in self.outputs:
            add = cons[0]
            other = [v for v in add.input if v != out]
            if len(other) != 1 or other[0] not in self.consts:
                raise LoadError(f"{self.path}: Add (node '{add.name}') after a MatMul is not a constant bias")
            b = np.broadcast_to(self.consts[other[0]].astype(np.float64).reshape(-1), (w.shape[0],)).copy()
            self.visited.add(id(add))
            out = add.output[0]
        return layer(w, b), out

    def walk(self, value, node=None):
        """Layers from value until a graph output ("output", name) or a fork ("fork", value)."""
        layers = []
        while True:
            if node is None:
                cons = self.consumers.get(value, [])
                if value in self.outputs:
                    if cons:
                        raise LoadError(f"{self.path}: graph output '{value}' is also read by node '{cons[0].name}'")
                    return layers, ("output", value)
                if not cons:
                    raise LoadError(f"{self.path}: the path from the input ends at '{value}', not at a graph output")
                if len(cons) > 1:
                    return layers, ("fork", value)
                node = cons[0]
            if id(node) in self.visited:
                raise LoadError(f"{self.path}: node '{node.name}' is reached twice: the graph has a cycle")
            self.visited.add(id(node))
            op = node.op_type
            if op in ("Gemm", "MatMul"):
                l, value = self.linear(node, value)
                layers.append(l)
                l["act"] = None
            elif op in ONNX_ACTS:
                if not layers or layers[-1]["act"] is not None:
                    raise LoadError(f"{self.path}: {op} (node '{node.name}') does not follow a Linear layer")
                layers[-1]["act"] = ONNX_ACTS[op]
                layers[-1]["alpha"] = float(self.attrs(node).get("alpha", 0.01)) if op == "LeakyRelu" else 0.0
                if op in ("Softmax", "LogSoftmax") and self.attrs(node).get("axis", 1) not in (1, -1):
                    raise LoadError(f"{self.path}: {op} (node '{node.name}') is not over the features (axis 1)")
                value = node.output[0]
            elif op in ONNX_NOOPS:
                value = node.output[0]
            else:
                raise LoadError(f"{self.path}: operator '{op}' (node '{node.name}') is not a Linear layer, an "
                                "activation or a no-op (Gemm, MatMul+Add, Relu, LeakyRelu, Tanh, Sigmoid, Softmax, "
                                "LogSoftmax, Identity, Flatten, Dropout, Reshape)")
            node = None


def head_kind(name, width, meta_heads):
    if name in meta_heads:
        return meta_heads[name]
    low = name.lower()
    if "policy" in low and "value" not in low:
        return "policy"
    if "value" in low and "policy" not in low:
        return "value"
    return "policy" if width == 9 else "value" if width == 1 else None


def load_onnx(path, kind=None):
    """A spec from an ONNX network of the family (one output, or a fork into two heads)."""
    g = OnnxGraph(path)
    inputs = [i.name for i in g.m.graph.input if i.name not in g.consts]
    if len(inputs) != 1:
        raise LoadError(f"{path}: {len(inputs)} graph inputs, expected one [batch, 81] input")
    trunk, end = g.walk(inputs[0])
    meta = {p.key: p.value for p in g.m.metadata_props}
    meta_heads = dict(e.rsplit("=", 1) for e in meta.get("heads", "").split(", ") if "=" in e)
    if end[0] == "output":
        heads = [(end[1], trunk)]
        trunk = []
    else:
        heads = []
        for node in g.consumers[end[1]]:
            ls, e = g.walk(end[1], node)
            if e[0] != "output":
                raise LoadError(f"{path}: a second fork at '{e[1]}' (supported: one fork after the trunk)")
            heads.append((e[1], ls))
        if len(heads) != 2:
            raise LoadError(f"{path}: '{end[1]}' is read by {len(heads)} nodes (supported: a fork into two heads)")
    for _, ls in [("trunk", trunk)] + heads:
        for l in ls:
            l["act"] = l["act"] or "none"
    if any(not ls for _, ls in heads):
        raise LoadError(f"{path}: a head without a Linear layer of its own")
    spec = {"in": (trunk or heads[0][1])[0]["w"].shape[1], "trunk": trunk, "heads": []}
    for name, ls in heads:
        k = kind if kind and len(heads) == 1 else head_kind(name, ls[-1]["w"].shape[0], meta_heads)
        if len(heads) == 1 and meta.get("kind") in ("policy", "value") and not kind:
            k = meta["kind"]
        spec["heads"].append({"name": "output" if len(heads) == 1 else k, "kind": k, "layers": ls})
    spec["heads"].sort(key=lambda h: h["kind"] != "policy")
    return spec


def layers_from_modules(mods, path, where):
    """Layers from a sequence of torch modules (Linear + activations + no-ops)."""
    import torch.nn as nn
    out = []
    for mod in mods:
        if isinstance(mod, nn.Linear):
            out.append(layer(mod.weight.detach().double().numpy(),
                             None if mod.bias is None else mod.bias.detach().double().numpy(), None))
            continue
        acts = ((nn.ReLU, "relu"), (nn.LeakyReLU, "leaky_relu"), (nn.Tanh, "tanh"), (nn.Sigmoid, "sigmoid"),
                (nn.Softmax, "softmax"), (nn.LogSoftmax, "logsoftmax"))
        act = next((a for cls, a in acts if isinstance(mod, cls)), None)
        if act and out and out[-1]["act"] is None:
            if act in ("softmax", "logsoftmax") and mod.dim not in (1, -1):
                raise LoadError(f"{path}: {where}: {type(mod).__name__}(dim={mod.dim}) is not over the features")
            out[-1]["act"] = act
            out[-1]["alpha"] = float(mod.negative_slope) if act == "leaky_relu" else 0.0
        elif not isinstance(mod, (nn.Identity, nn.Dropout, nn.Flatten)):
            raise LoadError(f"{path}: {where}: {type(mod).__name__} is not a Linear layer followed by at most one "
                            "supported activation (ReLU, LeakyReLU, Tanh, Sigmoid, Softmax, LogSoftmax)")
    for l in out:
        l["act"] = l["act"] or "none"
    return out


def spec_from_module(mod, path, kind):
    """A spec from a whole nn.Sequential or a module with trunk (optional) / policy / value parts; None when the
    module is neither (its state_dict is mapped instead)."""
    import torch.nn as nn
    seq = lambda m: list(m) if isinstance(m, nn.Sequential) else [m]
    if isinstance(mod, nn.Sequential):
        ls = layers_from_modules(seq(mod), path, "Sequential")
        return spec_one_head(ls, kind or one_head_kind(ls, path)) if ls else None
    if hasattr(mod, "policy") and hasattr(mod, "value"):
        trunk = layers_from_modules(seq(mod.trunk), path, "trunk") if getattr(mod, "trunk", None) is not None else []
        heads = [{"name": k, "kind": k, "layers": layers_from_modules(seq(getattr(mod, k)), path, k)}
                 for k in ("policy", "value")]
        return {"in": (trunk or heads[0]["layers"])[0]["w"].shape[1], "trunk": trunk, "heads": heads}
    return None


def one_head_kind(layers, path):
    out = layers[-1]["w"].shape[0]
    if out not in (9, 1):
        raise LoadError(f"{path}: the last layer has {out} outputs, expected 9 (policy) or 1 (value): pass --kind")
    return "policy" if out == 9 else "value"


def state_dict_groups(sd, path):
    """{group: [(weight, bias or None), ...]} in state_dict order; group = the key path before the layer's own
    name ("" for 0.weight or fc1.weight, "trunk" for trunk.0.weight)."""
    layers, groups = {}, {}
    for key, t in sd.items():
        m = re.fullmatch(r"(.+)\.(weight|bias)", key)
        if not m or not hasattr(t, "dim"):
            raise LoadError(f"{path}: state_dict key '{key}' is not a Linear weight or bias (supported: Linear "
                            "layers; activations come from --act/--final)")
        lid, what = m.groups()
        if what == "weight" and t.dim() != 2:
            raise LoadError(f"{path}: '{key}' has shape {tuple(t.shape)}: not a Linear layer (2-D weight)")
        layers.setdefault(lid, {})[what] = t.detach().double().numpy()
    for lid, d in layers.items():
        if "weight" not in d:
            raise LoadError(f"{path}: '{lid}.bias' has no '{lid}.weight'")
        groups.setdefault(lid.rpartition(".")[0], []).append(layer(d["weight"], d.get("bias")))
    return groups


def spec_from_state_dict(sd, path, kind, act, alpha, final):
    groups = state_dict_groups(sd, path)
    if not groups:
        raise LoadError(f"{path}: the state_dict has no Linear layers")
    hidden = lambda ls: [dict(l, act=act, alpha=alpha if act == "leaky_relu" else 0.0) for l in ls]
    if len(groups) == 1:
        ls = hidden(next(iter(groups.values())))
        k = kind or one_head_kind(ls, path)
        ls[-1].update(act=final or ("softmax" if k == "policy" else "sigmoid"), alpha=0.0)
        return spec_one_head(ls, k)
    last = lambda g: g.rpartition(".")[2].lower()
    pol = [g for g in groups if "policy" in last(g)]
    val = [g for g in groups if "value" in last(g)]
    rest = [g for g in groups if g not in pol + val]
    if len(pol) != 1 or len(val) != 1 or len(rest) > 1 or pol == val:
        raise LoadError(f"{path}: cannot map the state_dict's layer groups {sorted(groups)} (supported: one "
                        "Sequential, or trunk/policy/value groups)")
    heads = []
    for name, k, fin in ((pol[0], "policy", "softmax"), (val[0], "value", "sigmoid")):
        ls = hidden(groups[name])
        ls[-1].update(act=fin, alpha=0.0)
        heads.append({"name": k, "kind": k, "layers": ls})
    trunk = hidden(groups[rest[0]]) if rest else []
    return {"in": (trunk or heads[0]["layers"])[0]["w"].shape[1], "trunk": trunk, "heads": heads}


def load_pt(path, kind=None, act="relu", alpha=0.01, final=None):
    import torch
    try:
        obj = torch.load(path, map_location="cpu")
    except Exception as e:  # noqa: BLE001
        raise LoadError(f"{path}: not a readable PyTorch file: {e}".replace("\n", " "))
    if isinstance(obj, torch.nn.Module):
        spec = spec_from_module(obj, path, kind)
        if spec is not None:
            return spec
        obj = obj.state_dict()
    if not isinstance(obj, dict):
        raise LoadError(f"{path}: holds a {type(obj).__name__}, expected a state_dict or an nn.Module")
    return spec_from_state_dict(obj, path, kind, act, alpha, final)


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


def load_spec(path, kind=None, act="relu", alpha=0.01, final=None):
    """The network in path as a checked spec."""
    ext = os.path.splitext(path)[1].lower()
    if ext == ".onnx":
        spec = load_onnx(path, kind)
    elif ext == ".model":
        spec = spec_from_weights(*load_go_model(path, kind))
    elif ext in (".pt", ".pth"):
        spec = load_pt(path, kind, act, alpha, final)
    else:
        raise LoadError(f"{path}: unknown source type '{ext}' (expected .onnx, .model or .pt)")
    if kind and (len(spec["heads"]) != 1 or spec["heads"][0]["kind"] != kind):
        k = spec["heads"][0]["kind"] if len(spec["heads"]) == 1 else "two-headed"
        raise LoadError(f"{path}: is a {k} network, not {kind}")
    spec_check(spec, path)
    return spec


def torch_module(spec):
    """The spec as a PyTorch module: trunk Sequential, then one Sequential per head (a tuple for two heads)."""
    import torch
    import torch.nn as nn

    def seq(ls):
        mods = []
        for l in ls:
            lin = nn.Linear(l["w"].shape[1], l["w"].shape[0])
            with torch.no_grad():
                lin.weight.copy_(torch.tensor(l["w"], dtype=torch.float32))
                lin.bias.copy_(torch.tensor(l["b"], dtype=torch.float32))
            mods.append(lin)
            mods += {"relu": [nn.ReLU()], "leaky_relu": [nn.LeakyReLU(l["alpha"])], "tanh": [nn.Tanh()],
                     "sigmoid": [nn.Sigmoid()], "softmax": [nn.Softmax(dim=1)], "logsoftmax": [nn.LogSoftmax(dim=1)],
                     "none": []}[l["act"]]
        return nn.Sequential(*mods)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.trunk = seq(spec["trunk"])
            self.heads = nn.ModuleList([seq(h["layers"]) for h in spec["heads"]])

        def forward(self, x):
            t = self.trunk(x)
            ys = tuple(h(t) for h in self.heads)
            return ys[0] if len(ys) == 1 else ys

    return Net().eval()


def torch_outputs(net, x):
    import torch
    with torch.no_grad():
        y = net(torch.tensor(x))
    return [t.double().numpy() for t in (y if isinstance(y, tuple) else (y,))]


# ---------------------------------------------------------------------------------------------------
# Running our binaries
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


def export(net, out_path, opset=17, metadata=None, output_names=("output",)):
    """torch.onnx.export with our names and a dynamic batch axis, plus metadata; writes out_path directly."""
    import onnx
    import torch
    dummy = torch.zeros(1, 81)
    axes = {n: {0: "batch_size"} for n in ("input",) + tuple(output_names)}
    torch.onnx.export(net, dummy, out_path, input_names=["input"], output_names=list(output_names),
                      dynamic_axes=axes, opset_version=opset, do_constant_folding=True)
    if metadata:
        m = onnx.load(out_path)
        for k, v in metadata.items():
            e = m.metadata_props.add()
            e.key, e.value = k, str(v)
        onnx.save(m, out_path)


def export_metadata(spec, source, encoding):
    import torch
    heads = spec["heads"]
    meta = {"architecture": spec_describe(spec), "heads": ", ".join(f"{h['name']}={h['kind']}" for h in heads),
            "source": os.path.basename(source), "input_encoding": encoding,
            "producer_note": f"torch {torch.__version__} export_to_onnx.py"}
    if len(heads) == 1:
        meta["kind"] = heads[0]["kind"]
        if len(heads[0]["layers"]) == 2:
            meta["hidden_size"] = heads[0]["layers"][0]["w"].shape[0]
    return meta


def compare(args, spec, model, x, y_torch, td):
    """Our reader + reference forward (native-ref) and ONNX Runtime (ort-cpu) on model vs PyTorch's outputs, through
    `neural_rps info --eval` (every head's outputs on one line, in head order): report lines, or raises
    RuntimeError when they differ by more than args.tol."""
    if not os.path.exists(args.bin):
        return [f"ONNX Runtime check skipped: {args.bin} not built"]
    pos_path = os.path.join(td, "positions.txt")
    positions_write(pos_path, x)
    r = subprocess.run([args.bin, "info", model, "--json"], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(r.stderr.strip() or f"exit status {r.returncode}")
    found = [h["output"] for h in json.loads(r.stdout)["heads"]]
    if found != [h["name"] for h in spec["heads"]]:
        raise RuntimeError(f"our reader finds heads {found}, expected {[h['name'] for h in spec['heads']]}")
    want = np.hstack([y.reshape(len(x), -1) for y in y_torch])
    report = []
    for engine, label in (("ort", "ONNX Runtime"), ("ref", "neural_rps reference")):
        got = bin_eval(args.bin, model, pos_path, engine)
        d = float(np.max(np.abs(got - want))) if got.shape == want.shape else float("inf")
        report.append(f"max |torch - {label}| = {d:.3g}")
        if not d <= args.tol:
            raise RuntimeError(f"{label} differs from PyTorch by {d:.3g} > {args.tol:g} (shapes {got.shape}, {want.shape})")
    return report


def parse_args(argv):
    ap = argparse.ArgumentParser(description="Export a neural_rps network to ONNX with PyTorch.")
    ap.add_argument("source", help=".onnx, .model (original Go JSON) or .pt/.pth (state_dict or module)")
    ap.add_argument("--out", required=True, help="output .onnx (written atomically after all checks)")
    ap.add_argument("--kind", choices=["policy", "value"], help="a one-head net's kind (default: from its width)")
    ap.add_argument("--opset", type=int, default=17, help="ONNX opset for torch.onnx.export (default 17)")
    ap.add_argument("--encoding", choices=ENCODINGS,
                    help="input encoding of the network (default: the source's metadata, else board)")
    ap.add_argument("--act", choices=HIDDEN_ACTS, default="relu",
                    help="hidden activation for a state_dict source (default relu)")
    ap.add_argument("--alpha", type=float, default=0.01, help="LeakyReLU slope with --act leaky_relu (0.01)")
    ap.add_argument("--final", choices=FINAL_ACTS,
                    help="a one-head state_dict net's last activation (default softmax for a policy, sigmoid "
                         "for a value)")
    ap.add_argument("--positions", help="file with 81 numbers per line (default: random game positions)")
    ap.add_argument("--n-positions", type=int, default=300, help="random positions to compare on (default 300)")
    ap.add_argument("--seed", type=int, default=1, help="seed for the random positions")
    ap.add_argument("--bin", default=default_bin(), help="neural_rps binary for the ONNX Runtime check")
    ap.add_argument("--tol", type=float, default=1e-5, help="max abs difference allowed (default 1e-5)")
    return ap.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    prog = "export_to_onnx.py"
    try:
        import onnx
        import torch  # noqa: F401
    except ImportError as e:
        print(f"{prog}: needs python3-torch and python3-onnx: {e}", file=sys.stderr)
        return 1
    try:
        spec = load_spec(args.source, args.kind, args.act, args.alpha, args.final)
        encoding = args.encoding or source_encoding(args.source)
        x = positions_read(args.positions) if args.positions else \
            random_positions(args.n_positions, args.seed, encoding)
    except (LoadError, ValueError, OSError) as e:
        print(f"{prog}: {e}".replace("\n", " "), file=sys.stderr)
        return 1
    net = torch_module(spec)
    y_torch = torch_outputs(net, x)
    out_dir = os.path.dirname(os.path.abspath(args.out))
    with tempfile.TemporaryDirectory(dir=out_dir, prefix=".export_") as td:
        tmp_model = os.path.join(td, "model.onnx")
        try:
            export(net, tmp_model, args.opset, export_metadata(spec, args.source, encoding),
                   tuple(h["name"] for h in spec["heads"]))
            onnx.checker.check_model(onnx.load(tmp_model))
        except Exception as e:  # noqa: BLE001
            print(f"{prog}: export/check failed: {e}".replace("\n", " "), file=sys.stderr)
            return 1
        try:
            report = [f"onnx.checker ok (opset {args.opset})"] + compare(args, spec, tmp_model, x, y_torch, td)
        except RuntimeError as e:
            print(f"{prog}: {e}".replace("\n", " "), file=sys.stderr)
            return 1
        os.replace(tmp_model, args.out)
    kinds = "+".join(h["kind"] for h in spec["heads"])
    print(f"wrote {args.out}: {kinds} {spec_describe(spec)}, {encoding} encoding, {len(x)} positions; "
          + "; ".join(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
