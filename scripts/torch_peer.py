#!/usr/bin/env python3
"""torch_peer.py - the PyTorch peers of `neural_rps benchmark --peers torch` (docs/benchmark.md).

Usage: torch_peer.py MANIFEST.json

Loads each ONNX model of the manifest into torch modules (nn.Linear layers with the file's weights, read with
the onnx package; the dense layer-list family of src/nn/net.h: Gemm or MatMul(+Add), Relu/LeakyRelu/Tanh/Sigmoid,
Softmax/LogSoftmax heads, one or two heads) and times two peers per model and batch size on the inputs the
benchmark wrote: `torch-eager` (the module, called under torch.inference_mode()) and `torch-script`
(torch.jit.freeze(torch.jit.trace(module)), called the same way). The timing loop is the C harness's
(src/bench/bench.c): one first call timed alone, warm-up (fixed count, or 50-call windows until two medians agree
within 3%, at least 100 calls, at most 20000 calls / 5 s), then --iterations calls or --duration seconds, each
timed alone with time.perf_counter_ns; statistics as src/bench/stats.c computes them. After timing, one more call's
outputs are compared with the reference outputs (the plain-C reference forward) by the rule of src/bench/bench.c
bench_compare: every |got - ref| <= atol + rtol*|ref| and every row's argmax agrees.

The manifest (written by src/bench/run_peers.c):
  {"threads": 1, "atol": 1e-4, "rtol": 1e-3,
   "loop": {"warmup": -1, "iterations": 1000, "duration_s": 0, "window": 50, "warmup_min": 100,
            "warmup_max_calls": 20000, "settle_tol": 0.03, "warmup_max_s": 5.0},
   "models": [{"label": "policy", "path": "models/rps_policy.onnx", "sha256": "...", "batches": [1, 64],
               "input_name": "input", "input": "DIR/in-0.npy",  # float32 [max batch, width]: batch b = first b rows
               "references": ["DIR/ref-0-0.npy", ...] or null}]}  # per graph output, [max batch, width], sliced alike

Prints one JSON object on standard output and exits 0:
  {"schema": "neural_rps.torch_peer", "schema_version": 1, "available": true, "reason": null,
   "torch_version": "1.13.0", "rows": [...]}
Each row is a `results[]` row of docs/benchmark-json.md (same keys and units, backend torch-eager / torch-script),
plus "model_sha256" (as given); a model the script cannot build gives one row per backend with "skipped": "<why>"
and no numbers. When torch, onnx or numpy cannot be imported: "available": false, "reason": "<why>", no rows.
A bad manifest or command line: one line on standard error, exit 2; anything else that fails: one line, exit 1.
"""
import json
import os
import sys
import time

SCHEMA = "neural_rps.torch_peer"
BACKENDS = ("torch-eager", "torch-script")


class Unsupported(Exception):
    """The model is outside what this script builds (the reason is the message)."""


def fail(msg, rc=1):
    sys.stderr.write(f"torch_peer.py: {msg}\n")
    sys.exit(rc)


# ---- statistics (src/bench/stats.c) ----

def percentile_sorted(s, q):
    n = len(s)
    if n <= 1 or q <= 0:
        return s[0]
    if q >= 100:
        return s[-1]
    h = (n - 1) * q / 100.0
    lo = int(h)
    if lo >= n - 1:
        return s[-1]
    return s[lo] + (h - lo) * (s[lo + 1] - s[lo])


def median(x):
    return percentile_sorted(sorted(x), 50.0)


def stats(samples):
    """latency_us, cv, mad_us, median_halves_diff, unstable of samples (microseconds, in the order taken)."""
    n = len(samples)
    s = sorted(samples)
    mean = sum(s) / n
    stdev = (sum((v - mean) ** 2 for v in s) / (n - 1)) ** 0.5 if n > 1 else 0.0
    p50 = percentile_sorted(s, 50)
    lat = {"mean": mean, "min": s[0], "p10": percentile_sorted(s, 10), "p50": p50, "p90": percentile_sorted(s, 90),
           "p99": percentile_sorted(s, 99), "p999": percentile_sorted(s, 99.9), "max": s[-1], "stdev": stdev}
    halves = 0.0
    if n >= 2:
        a, b = median(samples[:n // 2]), median(samples[n // 2:])
        halves = abs(a - b) / (0.5 * (a + b)) if a + b > 0 else 0.0
    return {"latency_us": lat, "cv": stdev / mean if mean > 0 else 0.0, "mad_us": median([abs(v - p50) for v in samples]),
            "median_halves_diff": halves, "unstable": n >= 20 and halves > 0.05,
            "spread": (lat["p99"] - p50) / p50 if p50 > 0 else 0.0}


# ---- the timing loop (src/bench/bench.c bench_time_backend) ----

def call_us(f, x):
    t0 = time.perf_counter_ns()
    f(x)
    return (time.perf_counter_ns() - t0) * 1e-3


def warm_up(f, x, loop):
    """Untimed calls: (calls, "fixed" | "settled" | "capped", seconds)."""
    w0 = time.perf_counter()
    if loop["warmup"] >= 0:
        for _ in range(loop["warmup"]):
            f(x)
        return loop["warmup"], "fixed", time.perf_counter() - w0
    calls, prev, window = 0, -1.0, max(1, loop["window"])
    while True:
        med = median([call_us(f, x) for _ in range(window)])
        calls += window
        if prev > 0 and abs(med - prev) <= loop["settle_tol"] * prev and calls >= loop["warmup_min"]:
            return calls, "settled", time.perf_counter() - w0
        prev = med
        if calls >= loop["warmup_min"] and (calls >= loop["warmup_max_calls"] or
                                            time.perf_counter() - w0 >= loop["warmup_max_s"]):
            return calls, "capped", time.perf_counter() - w0


def time_calls(f, x, loop):
    """The first call, the warm-up and the timed calls: the row's timing fields."""
    first = call_us(f, x)
    calls, result, _ = warm_up(f, x, loop)
    samples = []
    c0, t0 = time.process_time_ns(), time.perf_counter()
    if loop["duration_s"] > 0:
        end = t0 + loop["duration_s"]
        while not samples or time.perf_counter() < end:
            samples.append(call_us(f, x))
    else:
        for _ in range(max(1, loop["iterations"])):
            samples.append(call_us(f, x))
    total = time.perf_counter() - t0
    cpu = (time.process_time_ns() - c0) * 1e-3 / len(samples)
    row = {"first_call_us": first, "warmup_calls": calls, "warmup_result": result, "iterations": len(samples),
           "total_s": total, "cpu_time_per_call_us": cpu}
    row.update(stats(samples))
    return row


# ---- validation (src/bench/bench.c bench_compare) ----

def compare(np, got, ref, atol, rtol):
    """got, ref: float32 [rows, cols] arrays. Returns the counts bench_compare keeps."""
    g, x = got.astype(np.float64), ref.astype(np.float64)
    fin = np.isfinite(g) & np.isfinite(x)
    same_nonfinite = ~fin & ((g == x) | (np.isnan(g) & np.isnan(x)))
    bad_nf = ~fin & ~same_nonfinite
    nf_got = int(np.sum(bad_nf & np.isfinite(x)))
    nf_ref = int(np.sum(bad_nf & ~np.isfinite(x)))
    d = np.where(fin, np.abs(g - x), 0.0)
    rel = d / np.maximum(np.abs(x), 1e-6)
    out_of_tol = int(np.sum(fin & (d > atol + rtol * np.abs(x))))
    v = {"max_abs": float(d.max()) if d.size else 0.0, "max_rel": float(np.where(fin, rel, 0).max()) if d.size else 0.0,
         "top1_agree": 0, "top1_rows": 0, "out_of_tol": out_of_tol, "nonfinite": nf_got + nf_ref}
    if g.shape[1] > 1:
        for r in range(g.shape[0]):
            gr, xr = g[r], x[r]
            nan_row = bool(np.any(np.isnan(gr) & np.isfinite(xr)))
            ag = int(np.nanargmax(gr)) if not np.all(np.isnan(gr)) else -1
            ar = int(np.nanargmax(xr)) if not np.all(np.isnan(xr)) else -1
            v["top1_rows"] += 1
            if not nan_row and ag >= 0 and ar >= 0 and (ag == ar or xr[ag] == xr[ar] or
                                                        abs(xr[ag] - xr[ar]) <= atol + rtol * abs(xr[ar])):
                v["top1_agree"] += 1
            elif ag < 0 and ar < 0:
                v["top1_agree"] += 1
    return v


def validation(np, outs, refs, batch, atol, rtol):
    """The row's validation object: every output against its reference's first batch rows."""
    tot = {"max_abs": 0.0, "max_rel": 0.0, "top1_agree": 0, "top1_rows": 0, "out_of_tol": 0, "nonfinite": 0}
    size_mismatch = 0
    reasons = []
    for got, ref in zip(outs, refs):
        ref = ref[:batch]
        if got.shape != ref.shape:
            size_mismatch += max(got.size, ref.size)
            reasons.append(f"the output has {got.size} values, the reference {ref.size}")
            continue
        v = compare(np, got, ref, atol, rtol)
        tot["max_abs"], tot["max_rel"] = max(tot["max_abs"], v["max_abs"]), max(tot["max_rel"], v["max_rel"])
        for k in ("top1_agree", "top1_rows", "out_of_tol", "nonfinite"):
            tot[k] += v[k]
    if len(outs) != len(refs):
        reasons.append(f"{len(outs)} outputs, the reference has {len(refs)}")
    elems = sum(o.size for o in outs)
    if tot["nonfinite"]:
        reasons.append(f"{tot['nonfinite']} of {elems} values non-finite (NaN/Inf) where the reference differs")
    if tot["out_of_tol"]:
        reasons.append(f"{tot['out_of_tol']} of {elems} values beyond tolerance (max abs {tot['max_abs']:.3g})")
    if tot["top1_agree"] != tot["top1_rows"]:
        reasons.append(f"top-1 disagrees in {tot['top1_rows'] - tot['top1_agree']} of {tot['top1_rows']} rows")
    bad = tot["out_of_tol"] + tot["nonfinite"] + size_mismatch
    ok = not reasons
    return {"max_abs_err": tot["max_abs"], "max_rel_err": tot["max_rel"],
            "top1_agree": tot["top1_agree"] if tot["top1_rows"] else None,
            "top1_rows": tot["top1_rows"] if tot["top1_rows"] else None, "atol": atol, "rtol": rtol,
            "bad_values": bad, "nonfinite_values": tot["nonfinite"], "ok": ok,
            "reason": None if ok else "; ".join(reasons)}


# ---- ONNX -> torch modules ----

def attr(node, name, default):
    for a in node.attribute:
        if a.name == name:
            import onnx
            return onnx.helper.get_attribute_value(a)
    return default


class Graph:
    """The ONNX graph as the walk below needs it: constants by name, the nodes reading each tensor."""

    def __init__(self, model, np):
        import onnx.numpy_helper as nph
        g = model.graph
        self.np = np
        self.const = {t.name: nph.to_array(t) for t in g.initializer}
        self.nodes = []
        for n in g.node:
            if n.op_type == "Constant":
                self.const[n.output[0]] = nph.to_array(attr(n, "value", None))
            else:
                self.nodes.append(n)
        self.readers = {}
        for i, n in enumerate(self.nodes):
            for t in n.input:
                if t and t not in self.const:
                    self.readers.setdefault(t, []).append(i)
        self.inputs = [i.name for i in g.input if i.name not in self.const]
        self.outputs = [o.name for o in g.output]
        self.opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 13)

    def weight(self, name, node):
        if name not in self.const:
            raise Unsupported(f"node '{node.name or node.op_type}': {name} is not a constant")
        return self.const[name].astype(self.np.float32)


def linear(torch, w, b):
    """nn.Linear holding w [out, in] and b [out] (None: no bias)."""
    lin = torch.nn.Linear(w.shape[1], w.shape[0], bias=b is not None)
    with torch.no_grad():
        lin.weight.copy_(torch.from_numpy(w.copy()))
        if b is not None:
            lin.bias.copy_(torch.from_numpy(b.reshape(-1).copy()))
    return lin


def gemm_layer(torch, g, n):
    if attr(n, "alpha", 1.0) != 1.0 or attr(n, "beta", 1.0) != 1.0 or attr(n, "transA", 0):
        raise Unsupported(f"Gemm node '{n.name}' with alpha/beta != 1 or transA")
    w = g.weight(n.input[1], n)
    w = w if attr(n, "transB", 0) else w.T
    b = g.weight(n.input[2], n) if len(n.input) > 2 and n.input[2] else None
    return linear(torch, w, b)


def activation(torch, g, n):
    """The torch module of an element-wise or softmax node, or None when n is not one."""
    nn = torch.nn
    op = n.op_type
    if op in ("Softmax", "LogSoftmax"):
        axis = attr(n, "axis", -1 if g.opset >= 13 else 1)
        if axis not in (1, -1):
            raise Unsupported(f"{op} over axis {axis} (node '{n.name}')")
        return nn.Softmax(dim=1) if op == "Softmax" else nn.LogSoftmax(dim=1)
    simple = {"Relu": nn.ReLU, "Tanh": nn.Tanh, "Sigmoid": nn.Sigmoid, "Identity": nn.Identity}
    if op in simple:
        return simple[op]()
    if op == "LeakyRelu":
        return nn.LeakyReLU(attr(n, "alpha", 0.01))
    return None


def chain(torch, g, t, layers):
    """Follows tensor t while exactly one node reads it, appending torch modules to layers. Returns the tensor where
    the chain stops (a graph output, or a tensor read by several nodes)."""
    while True:
        rd = g.readers.get(t, [])
        if len(rd) != 1 or (t in g.outputs and rd):
            if t in g.outputs and rd:
                raise Unsupported(f"tensor '{t}' is a graph output and also read by a node")
            return t
        n = g.nodes[rd[0]]
        op = n.op_type
        if op == "Gemm":
            layers.append(gemm_layer(torch, g, n))
        elif op == "MatMul":
            w = g.weight(n.input[1], n).T
            nxt = g.readers.get(n.output[0], [])
            add = g.nodes[nxt[0]] if len(nxt) == 1 and g.nodes[nxt[0]].op_type == "Add" else None
            bias = None
            if add is not None:
                other = [x for x in add.input if x != n.output[0]]
                if len(other) == 1 and other[0] in g.const:
                    bias = g.weight(other[0], add)
                else:
                    add = None
            layers.append(linear(torch, w, bias))
            if add is not None:
                t = add.output[0]
                continue
        elif op in ("Flatten", "Reshape") and not layers:
            pass  # [batch, n] stays [batch, n]: the input is handed over as a 2-D matrix
        else:
            m = activation(torch, g, n)
            if m is None:
                raise Unsupported(f"unsupported operator '{op}' (node '{n.name}')")
            layers.append(m)
        t = n.output[0]


class Net:
    """Factory for the module: a trunk and one or two heads, outputs in the graph's order."""

    @staticmethod
    def build(torch, model, np):
        g = Graph(model, np)
        if len(g.inputs) != 1:
            raise Unsupported(f"{len(g.inputs)} graph inputs (the family has one)")
        trunk = []
        t = chain(torch, g, g.inputs[0], trunk)
        heads = {}
        if t in g.outputs:
            heads[t] = []
        else:
            rd = g.readers.get(t, [])
            if len(rd) != 2 or len(g.outputs) != 2:
                raise Unsupported(f"tensor '{t}' read by {len(rd)} nodes (the family splits into two heads at most)")
            for i in rd:
                layers = []
                n = g.nodes[i]
                fake = f"__head{i}"  # start the head's chain at the node that reads the split tensor
                g.readers[fake] = [i]
                n.input[list(n.input).index(t)] = fake
                end = chain(torch, g, fake, layers)
                if end not in g.outputs:
                    raise Unsupported(f"head ending at tensor '{end}' that is not a graph output")
                heads[end] = layers
        if sorted(heads) != sorted(g.outputs):
            raise Unsupported("the graph's outputs are not the ends of its heads")
        return Module(torch, trunk, [heads[o] for o in g.outputs]), g.outputs


def Module(torch, trunk, heads):
    nn = torch.nn

    class OneHead(nn.Module):
        def __init__(self):
            super().__init__()
            self.trunk = nn.Sequential(*trunk, *heads[0])

        def forward(self, x):
            return self.trunk(x)

    class TwoHeads(nn.Module):
        def __init__(self):
            super().__init__()
            self.trunk = nn.Sequential(*trunk)
            self.a, self.b = nn.Sequential(*heads[0]), nn.Sequential(*heads[1])

        def forward(self, x):
            t = self.trunk(x)
            return self.a(t), self.b(t)

    return (OneHead() if len(heads) == 1 else TwoHeads()).eval()


# ---- one model ----

def skipped_rows(m, why):
    return [{"backend": b, "model": m["label"], "model_path": m["path"], "model_sha256": m["sha256"], "skipped": why}
            for b in BACKENDS]


def provider(torch):
    return f"PyTorch {torch.__version__} (Debian python3-torch, CPU, generic BLAS)"


def peers(torch, module, example):
    """[(backend, callable, creation ms beyond the module's, what a call covers)] for the eager module and the frozen
    TorchScript."""
    t0 = time.perf_counter()
    with torch.no_grad():
        scripted = torch.jit.freeze(torch.jit.trace(module, example))
    ms = (time.perf_counter() - t0) * 1e3
    return [("torch-eager", module, 0.0, "torch.nn module under torch.inference_mode(); Python call overhead included"),
            ("torch-script", scripted, ms, "torch.jit.trace + torch.jit.freeze, under torch.inference_mode(); Python "
                                           "call overhead included")]


def outputs_of(y):
    return list(y) if isinstance(y, tuple) else [y]


def run_model(torch, onnx, np, m, man):
    """The rows of one manifest model."""
    t0 = time.perf_counter()
    try:
        module, out_names = Net.build(torch, onnx.load(m["path"]), np)
    except Unsupported as e:
        return skipped_rows(m, f"outside what torch_peer.py builds: {e}")
    create_ms = (time.perf_counter() - t0) * 1e3
    pool = np.load(m["input"])
    if pool.dtype != np.float32 or pool.ndim != 2:
        raise ValueError(f"{m['input']}: expected a float32 matrix, got {pool.dtype} {pool.shape}")
    refs = [np.load(r) for r in m["references"]] if m.get("references") else None
    example = torch.from_numpy(pool[:2].copy())
    rows = []
    kinds = peers(torch, module, example)
    for b in m["batches"]:
        x = torch.from_numpy(pool[:b].copy())
        for name, f, extra_ms, covers in kinds:
            with torch.inference_mode():
                tm = time_calls(f, x, man["loop"])
                outs = [o.numpy().copy() for o in outputs_of(f(x))]
            rows.append(row(torch, np, m, (name, b, create_ms + extra_ms, covers, pool.shape[1]), out_names, outs, tm,
                            refs, man))
    return rows


def row(torch, np, m, what, out_names, outs, tm, refs, man):
    """A results[] row (docs/benchmark-json.md); what = (backend, batch, creation ms, timing covers, input width)."""
    name, batch, ms, covers, width = what
    lat = tm["latency_us"]
    r = {"backend": name, "model": m["label"], "model_path": m["path"], "model_sha256": m["sha256"],
         "batch_size": batch, "concurrency": 1, "provider": provider(torch), "device": "CPU", "timing_covers": covers,
         "threads": torch.get_num_threads(), "input_name": m.get("input_name", "input"), "output_name": out_names[0],
         "input_size": int(width), "output_size": int(outs[0].shape[1]),
         "outputs": [{"name": n, "width": int(o.shape[1])} for n, o in zip(out_names, outs)],
         "session_create_ms": ms}
    r.update(tm)
    r["preempted"] = tm["cpu_time_per_call_us"] > 0 and lat["mean"] > 1.3 * tm["cpu_time_per_call_us"]
    r["per_sample_us"] = lat["mean"] / batch
    r["samples_per_s"] = batch * 1e6 / lat["mean"] if lat["mean"] > 0 else 0.0
    r["validation"] = validation(np, outs, refs, batch, man["atol"], man["rtol"]) if refs else None
    r["interrupted"] = False
    return r


def load_manifest(path):
    try:
        with open(path) as f:
            man = json.load(f)
        loop = man["loop"]
        for k in ("warmup", "iterations", "window", "warmup_min", "warmup_max_calls"):
            loop[k] = int(loop[k])
        for k in ("duration_s", "settle_tol", "warmup_max_s"):
            loop[k] = float(loop[k])
        man["threads"], man["atol"], man["rtol"] = int(man["threads"]), float(man["atol"]), float(man["rtol"])
        for m in man["models"]:
            for k in ("label", "path", "sha256"):
                if not isinstance(m[k], str):
                    raise TypeError(f"models[].{k} is not a string")
            m["batches"] = [int(b) for b in m["batches"]]
        return man
    except (OSError, ValueError, KeyError, TypeError) as e:
        fail(f"{path}: bad manifest: {type(e).__name__}: {e}", 2)


def main(argv):
    if len(argv) != 2 or argv[1].startswith("-"):
        fail("usage: torch_peer.py MANIFEST.json (see the top of the script)", 2)
    man = load_manifest(argv[1])
    out = {"schema": SCHEMA, "schema_version": 1, "available": False, "reason": None, "torch_version": None,
           "rows": []}
    mods = {}
    for name in ("numpy", "onnx", "torch"):
        try:
            mods[name] = __import__(name)
        except Exception as e:  # noqa: BLE001 - any import failure means the peers cannot run here
            out["reason"] = f"cannot import {name}: {type(e).__name__}: {e}"
            print(json.dumps(out))
            return 0
    np, onnx, torch = mods["numpy"], mods["onnx"], mods["torch"]
    import onnx.numpy_helper  # noqa: F401 - Graph reads the initializers with it
    torch.set_num_threads(man["threads"])
    torch.set_num_interop_threads(1)
    out["available"], out["torch_version"] = True, torch.__version__
    for m in man["models"]:
        try:
            out["rows"] += run_model(torch, onnx, np, m, man)
        except (OSError, ValueError, RuntimeError) as e:
            fail(f"{m['path']}: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}")
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
