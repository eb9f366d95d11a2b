/* scenario.c - scenario names and the scenario rows' text and JSON (see scenario.h); run_scenario.c measures them. */
#include "bench/scenario.h"

#include <cjson/cJSON.h>
#include <string.h>

#include "bench/bench.h"
#include "util/textwrap.h"

static const char *const NAMES[] = {"", "single-stream", "multi-stream", "server", "offline"};

const char *bench_scenario_name(bench_scenario s) {
    return s >= BENCH_SCEN_NONE && s <= BENCH_SCEN_OFFLINE ? NAMES[s] : "";
}

bench_scenario bench_scenario_parse(const char *name) {
    for (int s = BENCH_SCEN_SINGLE; s <= BENCH_SCEN_OFFLINE; s++)
        if (name && !strcmp(name, NAMES[s])) return (bench_scenario)s;
    return BENCH_SCEN_NONE;
}

/* The scenario's setting column: the target rate (server), the leaf batch and games at once (the others). */
static void setting(const bench_scenario_row *r, char *buf, size_t len) {
    if (!strcmp(r->lg.scenario, "server")) snprintf(buf, len, "%.0f/s", r->lg.target_rate);
    else if (!strcmp(r->lg.scenario, "offline")) snprintf(buf, len, "%dx b%d", r->threads, r->batch);
    else snprintf(buf, len, "batch %d", r->batch);
}

void bench_report_scenarios_text(FILE *f, const bench_scenario_row *rows, int n) {
    if (n <= 0) return;
    int width = nrps_term_width(f);
    fprintf(f, "\n");
    nrps_wrapf(f, width, 2, "Scenarios (MLPerf LoadGen style; server latency from each query's scheduled arrival to "
                            "its answer; single/multi-stream: per evaluator call inside the search; offline: per "
                            "move)");
    fprintf(f, "%-13s %-12s %-7s %10s %10s %8s %8s %8s %8s %9s %6s\n", "scenario", "backend", "result", "setting",
            "evals/s", "p50_us", "p90_us", "p99_us", "p999_us", "max_us", "batch");
    for (int i = 0; i < n; i++) {
        const bench_scenario_row *r = &rows[i];
        const bench_stats *l = &r->lg.latency_us;
        char set[24];
        setting(r, set, sizeof set);
        fprintf(f, "%-13s %-12.12s %-7s %10s %10.0f %8.1f %8.1f %8.1f %8.1f %9.1f %6.1f\n", r->lg.scenario,
                r->lg.backend, r->lg.valid ? "VALID" : "INVALID", set, r->lg.evals_per_s, l->p50, l->p90, l->p99,
                l->p999, l->max, r->lg.mean_batch);
    }
    for (int i = 0; i < n; i++) {
        const bench_scenario_row *r = &rows[i];
        if (!r->lg.valid) nrps_wrapf(f, width, 6, "  %s %s at %s: INVALID: %s", r->lg.scenario, r->lg.backend,
                                     r->lg.target_rate > 0 ? "the target rate" : "its setting", r->lg.why);
        if (r->games_per_s > 0)
            nrps_wrapf(f, width, 6, "  %s %s: %.1f games/s, %.0f positions/s, %.0f playouts/s (%ld queries in %.2f s)",
                       r->lg.scenario, r->lg.backend, r->games_per_s, r->positions_per_s, r->playouts_per_s,
                       r->lg.queries, r->lg.duration_s);
        if (r->peak)
            nrps_wrapf(f, width, 6, "  peak: %s serves %.0f queries/s VALID at p99 <= %g us (p99 %.1f us, %ld queries in "
                                    "%.2f s, mean batch %.1f)",
                       r->lg.backend, r->lg.evals_per_s, r->lg.latency_bound_us, r->lg.latency_us.p99, r->lg.queries,
                       r->lg.duration_s, r->lg.mean_batch);
        if (!strcmp(r->lg.scenario, "server") && r->lg.queries > 0)
            nrps_wrapf(f, width, 6, "  %s %s at %.0f/s: %ld queries: the sample p99 lies within +-%.2f percentile points "
                                    "of the true p99 with 99%% confidence",
                       r->lg.scenario, r->lg.backend, r->lg.target_rate, r->lg.queries,
                       100 * loadgen_quantile_margin(0.99, 2.576, r->lg.queries));
        if (r->cache_hit_rate >= 0)
            nrps_wrapf(f, width, 6, "  %s %s: NN cache hit rate %.1f%%", r->lg.scenario, r->lg.backend,
                       100 * r->cache_hit_rate);
    }
}

static void add_or_null(cJSON *o, const char *key, int present, double v) {
    if (present) cJSON_AddNumberToObject(o, key, v);
    else cJSON_AddNullToObject(o, key);
}

void bench_scenarios_json(void *root, const bench_scenario_row *rows, int n) {
    cJSON *arr = cJSON_AddArrayToObject(root, "scenarios");
    for (int i = 0; i < n; i++) {
        const bench_scenario_row *r = &rows[i];
        int server = !strcmp(r->lg.scenario, "server");
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "scenario", r->lg.scenario);
        cJSON_AddStringToObject(o, "backend", r->lg.backend);
        cJSON_AddBoolToObject(o, "valid", r->lg.valid);
        if (r->lg.why[0]) cJSON_AddStringToObject(o, "why", r->lg.why);
        else cJSON_AddNullToObject(o, "why");
        add_or_null(o, "target_rate", server, r->lg.target_rate);
        add_or_null(o, "latency_bound_us", server, r->lg.latency_bound_us);
        cJSON_AddNumberToObject(o, "evals_per_s", r->lg.evals_per_s);
        bench_json_latency(o, "latency_us", &r->lg.latency_us);
        cJSON_AddNumberToObject(o, "queries", (double)r->lg.queries);
        cJSON_AddNumberToObject(o, "duration_s", r->lg.duration_s);
        cJSON_AddNumberToObject(o, "mean_batch", r->lg.mean_batch);
        if (server) {
            cJSON_AddBoolToObject(o, "peak", r->peak);
            cJSON_AddNumberToObject(o, "max_batch", r->lg.max_batch);
            cJSON_AddNumberToObject(o, "batch_wait_us", r->lg.wait_us);
            cJSON_AddNumberToObject(o, "busy_share", r->lg.busy_share);
            cJSON_AddNumberToObject(o, "issue_lag_p99_us", r->lg.issue_lag_p99_us);
            if (r->lg.queries > 0) /* LoadGen's binomial rule: the p99's margin at 99% confidence, quantile units */
                cJSON_AddNumberToObject(o, "p99_margin_99pct", loadgen_quantile_margin(0.99, 2.576, r->lg.queries));
            add_or_null(o, "cache_hit_rate", r->cache_hit_rate >= 0, r->cache_hit_rate);
        } else {
            cJSON_AddNumberToObject(o, "threads", r->threads);
            cJSON_AddNumberToObject(o, "batch_size", r->batch);
            cJSON_AddNumberToObject(o, "playouts_per_s", r->playouts_per_s);
            cJSON_AddNumberToObject(o, "games_per_s", r->games_per_s);
            cJSON_AddNumberToObject(o, "positions_per_s", r->positions_per_s);
        }
        cJSON_AddItemToArray(arr, o);
    }
}
