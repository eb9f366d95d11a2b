#!/usr/bin/env python3
"""test_nn_torch.py - our backward pass + AdamW against PyTorch.

Runs `test_nn --dump-adam KIND` (the C test binary prints a small fixed problem: initial parameters,
inputs, targets, and the parameters + loss after each of 5 AdamW steps), replays the same steps with
torch.optim.AdamW on the same initial weights (float64, so that the reference adds no rounding of its
own; float32 is reported too) and compares every parameter after every step.
Finds the C test binary next to NRPS_BIN (bin/neural_rps -> build/tests/test_nn,
build-asan/neural_rps -> build-asan/tests/test_nn) or via NRPS_TEST_NN.
Prints `RESULT nn_torch: N passed, N failed, N skipped`."""
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
passed = failed = skipped = 0


def ok(name):
    global passed
    passed += 1
    print(f"  ok {name}")


def bad(name):
    global failed
    failed += 1
    print(f"  not ok {name}")


def find_test_nn():
    if os.environ.get("NRPS_TEST_NN"):
        return os.environ["NRPS_TEST_NN"]
    nbin = os.path.abspath(os.environ.get("NRPS_BIN", os.path.join(ROOT, "bin", "neural_rps")))
    d = os.path.dirname(nbin)
    for cand in (os.path.join(d, "tests", "test_nn"), os.path.join(d, "..", "build", "tests", "test_nn")):
        if os.path.exists(cand):
            return cand
    return None


def replay(d, dtype):
    import torch
    torch.manual_seed(0)
    H, O, N = d["hidden"], d["out"], d["n"]
    p = torch.tensor(d["init"], dtype=dtype)
    w1n, b1n, w2n = H * 81, H, O * H
    l1, l2 = torch.nn.Linear(81, H).to(dtype), torch.nn.Linear(H, O).to(dtype)
    with torch.no_grad():
        l1.weight.copy_(p[:w1n].view(H, 81))
        l1.bias.copy_(p[w1n:w1n + b1n])
        l2.weight.copy_(p[w1n + b1n:w1n + b1n + w2n].view(O, H))
        l2.bias.copy_(p[w1n + b1n + w2n:])
    x = torch.tensor(d["x"], dtype=dtype).view(N, 81)
    t = torch.tensor(d["t"], dtype=dtype).view(N, O)
    params = [l1.weight, l1.bias, l2.weight, l2.bias]
    opt = torch.optim.AdamW(params, lr=d["lr"], betas=(d["beta1"], d["beta2"]), eps=d["eps"],
                            weight_decay=d["weight_decay"])
    out = []
    for _ in d["steps"]:
        opt.zero_grad()
        z = l2(torch.relu(l1(x)))
        if d["kind"] == "policy":
            loss = -(t * torch.log_softmax(z, dim=1)).sum(1).mean()
        elif d["kind"] == "value-mse":
            loss = ((torch.sigmoid(z) - t) ** 2).sum(1).mean()
        else:
            loss = torch.nn.functional.binary_cross_entropy_with_logits(z, t, reduction="none").sum(1).mean()
        loss.backward()
        opt.step()
        flat = torch.cat([q.detach().reshape(-1) for q in params])
        out.append((loss.item(), flat.double().numpy()))
    return out


def main():
    global skipped
    try:
        import numpy as np
        import torch  # noqa: F401
    except ImportError as e:
        print(f"  SKIP torch/numpy not available: {e}")
        print("RESULT nn_torch: 0 passed, 0 failed, 1 skipped")
        return 0
    exe = find_test_nn()
    if not exe:
        bad("test_nn binary not found next to NRPS_BIN (build it with make)")
        print(f"RESULT nn_torch: {passed} passed, {failed} failed, {skipped} skipped")
        return 1
    for kind in ("policy", "value-mse", "value-bce"):
        r = subprocess.run([exe, "--dump-adam", kind], capture_output=True, text=True)
        if r.returncode != 0:
            bad(f"{kind}: test_nn --dump-adam failed: {r.stderr.strip()[:200]}")
            continue
        d = json.loads(r.stdout)
        ref64 = replay(d, torch.float64)
        ref32 = replay(d, torch.float32)
        worst_p = worst_l = worst32 = 0.0
        for s, step in enumerate(d["steps"]):
            ours = np.array(step["params"], dtype=np.float64)
            worst_p = max(worst_p, float(np.max(np.abs(ours - ref64[s][1]))))
            worst_l = max(worst_l, abs(step["loss"] - ref64[s][0]) / max(1e-12, abs(ref64[s][0])))
            worst32 = max(worst32, float(np.max(np.abs(ours - ref32[s][1]))))
        moved = float(np.max(np.abs(np.array(d["steps"][-1]["params"]) - np.array(d["init"]))))
        print(f"  {kind}: {len(d['steps'])} AdamW steps, params moved up to {moved:.3g}; max |ours - torch64| "
              f"{worst_p:.3g}, loss rel diff {worst_l:.3g}; max |ours - torch32| {worst32:.3g}")
        if worst_p <= 1e-6 and worst_l <= 1e-6 and moved > 1e-2:
            ok(f"{kind}: AdamW steps match torch.optim.AdamW")
        else:
            bad(f"{kind}: AdamW steps differ from torch.optim.AdamW")
    print(f"RESULT nn_torch: {passed} passed, {failed} failed, {skipped} skipped")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
