#!/usr/bin/env python3
"""test_bench_cpu.py - scripts/bench_cpu.py's table and target lines on hand-made JSON reports: every ratio,
%peak and 2-thread scaling is taken at the p50 latency (not at the mean a stalled call moves), missing rows and
peers are reported as such, the inside-search target reads the 1-thread batch-1 incremental row of the default
nets (the two-headed net's is printed as info), and rounds are merged by their medians (median_rounds).
Prints `RESULT bench_cpu: N passed, N failed, N skipped`."""
import contextlib
import io
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
import bench_cpu  # noqa: E402

passed = failed = 0


def check(name, cond):
    global passed, failed
    if cond:
        passed += 1
        print(f"  ok {name}")
    else:
        failed += 1
        print(f"  not ok {name}")


def row(backend, model, batch, p50, mean, threads=1):
    return {"backend": backend, "model": model, "batch_size": batch, "concurrency": 1, "threads": threads,
            "latency_us": {"p50": p50, "mean": mean}, "samples_per_s": batch * 1e6 / mean}


ENV = {"models": {"policy": {"flops_per_sample": 1000}},
       "cpu_peak_gflops_per_core": [{"isa": "test", "gflops": 100.0}]}


def lines(fn, *args):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        fn(*args)
    return out.getvalue().splitlines()


def target(ls, text):
    """The target line containing text, split into (met/MISSED, value)."""
    for ln in ls:
        if text in ln:
            f = ln.split()
            return f[0], f[1]
    return None


def rounds_ok():
    """median_rounds: each row's p50 and each search rate is the median over the rounds that have it (a row only in
    the first round keeps its value), the per-round values are kept, the FMA peak is the best round's; the table's
    spread line names the widest native-cpu row."""
    env = lambda g: {"models": ENV["models"], "cpu_peak_gflops_per_core": [{"isa": "test", "gflops": g}]}
    srch = lambda v: [{"backend": "native-cpu", "eval": "incremental", "batch_size": 1, "threads": 1,
                       "nets": "policy+value", "playouts_per_s": v}]
    rounds = [{"environment": env(90.0), "search": srch(1.0e6),
               "results": [row("native-cpu", "policy", 1024, 10.0, 10.0), row("torch-eager", "policy", 1, 7.0, 7.0)]},
              {"environment": env(100.0), "search": srch(3.0e6),
               "results": [row("native-cpu", "policy", 1024, 30.0, 30.0)]},
              {"environment": env(95.0), "search": srch(2.0e6),
               "results": [row("native-cpu", "policy", 1024, 12.0, 99.0)]}]
    m = bench_cpu.median_rounds(rounds)
    nat = bench_cpu.find_row(m["results"], "native-cpu", "policy", 1024)
    check("median of the round p50s: 12 of 10, 30, 12", nat["latency_us"]["p50"] == 12.0
          and nat["p50_rounds"] == [10.0, 30.0, 12.0])
    check("a first-round-only row keeps its p50", bench_cpu.find_row(m["results"], "torch-eager", "policy", 1)
          ["latency_us"]["p50"] == 7.0)
    check("median inside-search rate", m["search"][0]["playouts_per_s"] == 2.0e6)
    check("best round's FMA peak", m["environment"]["cpu_peak_gflops_per_core"][0]["gflops"] == 100.0)
    for k, g in enumerate((120.0, 190.0, 180.0)):
        rounds[k]["environment"]["cpu_peak_gflops_all_threads"] = {"threads": 2, "gflops": g}
    m = bench_cpu.median_rounds(rounds)
    check("median round's all-threads FMA total", m["environment"]["cpu_peak_gflops_all_threads"]["gflops"] == 180.0)
    check("rounds leave the inputs unchanged", rounds[0]["results"][0]["latency_us"]["p50"] == 10.0)
    sp = bench_cpu.spread_line(m, {"results": []})
    check("spread line: (30 - 10) / 12 = 167%, batch 1024", "largest 167% (policy batch 1024, 1 thread)" in sp
          and sp.startswith("3 rounds"))


def main():
    # native-cpu: p50 10 us at batch 1024 (102.4 M samples/s -> 102.4 GFLOP/s = 102% of 100) but a mean of 40 us;
    # ort-cpu: p50 20 us (2x slower at p50) with a mean of 20 us: at the mean native would look 2x slower.
    r1 = [row("native-cpu", "policy", b, 10.0, 40.0) for b in (256, 1024, 4096)]
    r1 += [row("ort-cpu", "policy", b, 20.0, 20.0) for b in (256, 1024, 4096)]
    r1 += [row("native-cpu", "policy", 1, 0.5, 0.5), row("ort-cpu", "policy", 1, 10.0, 10.0),
           row("torch-eager", "policy", 1, 6.0, 6.0), row("torch-script", "policy", 1, 3.0, 3.0),
           row("xnnpack-cpu", "policy", 1, 0.4, 0.4)]
    r2 = [row("native-cpu", "policy", b, 6.0, 60.0, 2) for b in (1024, 4096)]
    one = {"environment": ENV, "results": r1,
           "search": [{"eval": "incremental", "batch_size": 1, "threads": 1, "nets": "policy+value",
                       "playouts_per_s": 1.6e6},
                      {"eval": "incremental", "batch_size": 1, "threads": 2, "nets": "policy+value",
                       "playouts_per_s": 0.1e6}]}
    two = {"results": r2}
    t = lines(bench_cpu.targets, one, two, ["policy"])
    check("batch 1 vs ort at p50: 0.05x met", target(t, "policy batch 1: native-cpu p50") == ("met", "0.05x"))
    check("vs ort samples/s at p50, not the mean: 2x met",
          target(t, "policy batch 1024, 1 thread: native-cpu >= 1.25") == ("met", "2x"))
    check("%peak at p50: 102% met", target(t, "batch 1024, 1 thread: native-cpu >= 80%") == ("met", "102%"))
    check("2 threads over 1 at p50: 1.67x missed", target(t, "batch 1024: 2 threads") == ("MISSED", "1.67x"))
    check("xnnpack faster at batch 1: missed", target(t, "every batch: native-cpu >= xnnpack")[0] == "MISSED")
    check("torch-eager 12x met, torch-script 6x missed",
          target(t, ">= 10 x torch-eager") == ("met", "12x") and target(t, ">= 8 x torch-script") == ("MISSED", "6x"))
    check("inside search from the 1-thread row only", target(t, "inside search") == ("met", "1.6"))
    check("no 'not measured' line when every peer ran", not any("not measured" in ln for ln in t))
    tab = lines(bench_cpu.table, one, two, ["policy"], [1, 1024, 8])
    r1024 = [ln for ln in tab if ln.split()[:2] == ["policy", "1024"]]
    check("table row at batch 1024: vs_ort 2.00x, 102%, 2t/1t 1.67x",
          len(r1024) == 1 and "2.00x" in r1024[0] and "102%" in r1024[0] and r1024[0].endswith("1.67x"))
    check("no table row for a batch native-cpu did not run", not any(ln.split()[:2] == ["policy", "8"] for ln in tab))
    one["results"] = [r for r in r1 if r["backend"] != "torch-script"]
    t = lines(bench_cpu.targets, one, two, ["policy"])
    check("a missing peer is named", any("not measured in this run: torch-script" in ln for ln in t))
    check("its target is not printed", target(t, ">= 8 x torch-script") is None)
    one["search"].append({"eval": "incremental", "batch_size": 1, "threads": 1, "nets": "net",
                          "playouts_per_s": 1.0e6})
    t = lines(bench_cpu.targets, one, two, ["policy"])
    check("inside search of the two-headed net: printed as info, not judged",
          target(t, "inside search (net") == ("info", "1") and target(t, "inside search (policy+value")[0] == "met")
    two["environment"] = dict(ENV, cpu_peak_gflops_all_threads={"threads": 2, "gflops": 150.0})
    t = lines(bench_cpu.targets, one, two, ["policy"])
    check("2-thread targets name the all-threads FMA ceiling of the same run (150 / 100)",
          any("batch 1024: 2 threads" in ln and "2 threads at once: 1.50x one core" in ln for ln in t))
    rounds_ok()
    print(f"RESULT bench_cpu: {passed} passed, {failed} failed, 0 skipped")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
