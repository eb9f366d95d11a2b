#!/usr/bin/env python3
"""test_nn_train_torch.py - the layer-list trainer's backward pass + AdamW (src/nn/nn_train.c) against PyTorch.

Runs `test_nn_train --dump-adam KIND` for 2-layer, 3-layer and two-headed nets (the C test binary prints the
architecture, initial parameters, inputs, per-head targets, and the parameters + losses after each of 5 AdamW
steps), builds the same network from torch.nn.Linear layers, replays the steps with torch.optim.AdamW (float64,
so that the reference adds no rounding of its own; float32 is reported too) and compares every parameter and
loss after every step.
Finds the C test binary next to NRPS_BIN (bin/neural_rps -> build/tests/test_nn_train,
build-asan/neural_rps -> build-asan/tests/test_nn_train) or via NRPS_TEST_NN_TRAIN.
Prints `RESULT nn_train_torch: N passed, N failed, N skipped`."""
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KINDS = ("policy", "value-mse", "value-bce", "deep-tanh", "deep-leaky", "two-heads", "two-heads-deep")
passed = failed = 0


def ok(name):
    global passed
    passed += 1
    print(f"  ok {name}")


def bad(name):
    global failed
    failed += 1
    print(f"  not ok {name}")


def find_binary():
    if os.environ.get("NRPS_TEST_NN_TRAIN"):
        return os.environ["NRPS_TEST_NN_TRAIN"]
    nbin = os.path.abspath(os.environ.get("NRPS_BIN", os.path.join(ROOT, "bin", "neural_rps")))
    d = os.path.dirname(nbin)
    for cand in (os.path.join(d, "tests", "test_nn_train"), os.path.join(d, "..", "build", "tests", "test_nn_train")):
        if os.path.exists(cand):
            return cand
    return None


def layer_inputs(d):
    """Input width and source layer (-1 = the network input) of every layer, as net.h lays them out."""
    firsts = {h["first"] for h in d["heads"]}
    widths, prev = [], []
    for l, _ in enumerate(d["layers"]):
        p = d["trunk"] - 1 if l in firsts else l - 1
        prev.append(p)
        widths.append(d["in"] if p < 0 else d["layers"][p]["out"])
    return widths, prev


def build(d, dtype):
    import torch
    widths, prev = layer_inputs(d)
    p = torch.tensor(d["init"], dtype=dtype)
    mods, off = [], 0
    for l, spec in enumerate(d["layers"]):
        lin = torch.nn.Linear(widths[l], spec["out"]).to(dtype)
        nw = spec["out"] * widths[l]
        with torch.no_grad():
            lin.weight.copy_(p[off:off + nw].view(spec["out"], widths[l]))
            lin.bias.copy_(p[off + nw:off + nw + spec["out"]])
        off += nw + spec["out"]
        mods.append(lin)
    assert off == len(d["init"]), "parameter count"
    return mods, prev


def act(name, alpha, z):
    import torch
    if name == "relu":
        return torch.relu(z)
    if name == "leaky_relu":
        return torch.nn.functional.leaky_relu(z, alpha)
    if name == "tanh":
        return torch.tanh(z)
    if name == "sigmoid":
        return torch.sigmoid(z)
    return z  # none; softmax/logsoftmax are the losses' business


def head_loss(d, spec, z, t):
    import torch
    a = spec["act"]
    if a in ("softmax", "logsoftmax"):
        return -(t * torch.log_softmax(z, dim=1)).sum(1).mean()
    if a == "sigmoid" and d["value_loss"] == "bce":
        return torch.nn.functional.binary_cross_entropy_with_logits(z, t, reduction="none").sum(1).mean()
    return ((act(a, spec["alpha"], z) - t) ** 2).sum(1).mean()


def forward_losses(d, mods, prev, x, ts):
    outs, zs = [], []
    heads_last = {h["first"] + h["count"] - 1 for h in d["heads"]}
    for l, spec in enumerate(d["layers"]):
        z = mods[l](x if prev[l] < 0 else outs[prev[l]])
        zs.append(z)
        outs.append(z if l in heads_last else act(spec["act"], spec["alpha"], z))
    losses = []
    for h, hd in enumerate(d["heads"]):
        last = hd["first"] + hd["count"] - 1
        losses.append(head_loss(d, d["layers"][last], zs[last], ts[h]))
    return losses


def replay(d, dtype):
    import torch
    mods, prev = build(d, dtype)
    n = d["n"]
    x = torch.tensor(d["x"], dtype=dtype).view(n, d["in"])
    ts = []
    for h, hd in enumerate(d["heads"]):
        w = d["layers"][hd["first"] + hd["count"] - 1]["out"]
        ts.append(torch.tensor(d["t"][h]["v"], dtype=dtype).view(n, w))
    params = [q for m in mods for q in (m.weight, m.bias)]
    opt = torch.optim.AdamW(params, lr=d["lr"], betas=(d["beta1"], d["beta2"]), eps=d["eps"],
                            weight_decay=d["weight_decay"])
    out = []
    for _ in d["steps"]:
        opt.zero_grad()
        losses = forward_losses(d, mods, prev, x, ts)
        loss = sum(hd["weight"] * l for hd, l in zip(d["heads"], losses))
        loss.backward()
        opt.step()
        flat = torch.cat([q.detach().reshape(-1) for q in params])
        out.append((loss.item(), [l.item() for l in losses], flat.double().numpy()))
    return out


def compare(kind, d):
    import numpy as np
    import torch
    ref64, ref32 = replay(d, torch.float64), replay(d, torch.float32)
    worst_p = worst_l = worst32 = 0.0
    for s, step in enumerate(d["steps"]):
        ours = np.array(step["params"], dtype=np.float64)
        worst_p = max(worst_p, float(np.max(np.abs(ours - ref64[s][2]))))
        pairs = [(step["loss"], ref64[s][0])] + list(zip(step["head_loss"], ref64[s][1]))
        for a, b in pairs:
            worst_l = max(worst_l, abs(a - b) / max(1e-12, abs(b)))
        worst32 = max(worst32, float(np.max(np.abs(ours - ref32[s][2]))))
    moved = float(np.max(np.abs(np.array(d["steps"][-1]["params"]) - np.array(d["init"]))))
    print(f"  {kind}: {len(d['layers'])} layers, {len(d['heads'])} head(s), {len(d['steps'])} AdamW steps, params "
          f"moved up to {moved:.3g}; max |ours - torch64| {worst_p:.3g}, loss rel diff {worst_l:.3g}; "
          f"max |ours - torch32| {worst32:.3g}")
    if worst_p <= 1e-6 and worst_l <= 1e-6 and moved > 1e-2:
        ok(f"{kind}: AdamW steps match torch.optim.AdamW")
    else:
        bad(f"{kind}: AdamW steps differ from torch.optim.AdamW")


def main():
    try:
        import numpy  # noqa: F401
        import torch  # noqa: F401
    except ImportError as e:
        print(f"  SKIP torch/numpy not available: {e}")
        print("RESULT nn_train_torch: 0 passed, 0 failed, 1 skipped")
        return 0
    exe = find_binary()
    if not exe:
        bad("test_nn_train binary not found next to NRPS_BIN (build it with make)")
    for kind in KINDS if exe else ():
        r = subprocess.run([exe, "--dump-adam", kind], capture_output=True, text=True)
        if r.returncode != 0:
            bad(f"{kind}: test_nn_train --dump-adam failed: {r.stderr.strip()[:200]}")
            continue
        compare(kind, json.loads(r.stdout))
    print(f"RESULT nn_train_torch: {passed} passed, {failed} failed, 0 skipped")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
