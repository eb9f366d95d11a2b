/* agent.c - agent specs, construction and move choice (see agent.h). */
#include "search/agent.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend/backend.h"
#include "search/agent_solver.h"
#include "search/bestresponse.h"
#include "search/eval_basic.h"
#include "search/eval_incremental.h"
#include "search/eval_net.h"
#include "search/eval_service.h"

struct agent {
    agent_spec spec;
    nrps_rng rng;
    mcts *search;
    /* one evaluator per search thread (threads=N; AGENT_NET has one): */
    int n_eval;
    eval_rollout *rollout[MCTS_MAX_THREADS]; /* AGENT_MCTS */
    eval_net *net[MCTS_MAX_THREADS];         /* AGENT_MCTS_NET, AGENT_NET */
    eval_incr *incr[MCTS_MAX_THREADS];       /* AGENT_MCTS_NET with eval=incremental (then net is NULL) */
    const mcts_evaluator *evs[MCTS_MAX_THREADS];
    eval_service *svc;                       /* service=1: net[0] behind one batching service for every thread */
    agent_solver *solver;
    rps_br *br;          /* AGENT_BESTRESPONSE */
    mcts_result last;
    int have_last;
};

const char *agent_kind_name(agent_kind k) {
    switch (k) {
    case AGENT_RANDOM: return "random";
    case AGENT_GREEDY: return "greedy";
    case AGENT_MCTS: return "mcts";
    case AGENT_MCTS_NET: return "mcts-net";
    case AGENT_NET: return "net";
    case AGENT_SOLVER: return "solver";
    case AGENT_BESTRESPONSE: return "bestresponse";
    }
    return "?";
}

static nrps_status spec_error(const char *text, const char *msg, const char *detail) {
    nrps_set_error("agent spec '%s': %s%s%s", text, msg, detail ? detail : "", detail ? "'" : "");
    return NRPS_ERR_ARG;
}

#define SPEC_EXPECTED                                                                                         \
    "expected random, greedy, solver, bestresponse, net[,policy=FILE], mcts[:PLAYOUTS[:CPUCT]][,key=value...] or "         \
    "mcts-net[:PLAYOUTS][,key=value...]"

static int set_path(char *dst, size_t cap, const char *v) {
    size_t n = strlen(v);
    if (n == 0 || n >= cap) return 0;
    memcpy(dst, v, n + 1);
    return 1;
}

/* The numeric MCTS keys: one table gives each its type, bounds, field and the words of its error. */
typedef struct {
    const char *key;
    int is_int;
    double lo, hi;
    size_t offset; /* of the int or double field in mcts_config */
    const char *expect;
} mcts_key;

static const mcts_key MCTS_KEYS[] = {
    {"cpuct", 0, 1e-6, 1e6, offsetof(mcts_config, c_puct), "a number > 0"},
    {"batch", 1, 1, 4096, offsetof(mcts_config, batch), "an integer in [1, 4096]"},
    {"vloss", 0, 0, 1e6, offsetof(mcts_config, virtual_loss), "a number >= 0"},
    {"reuse", 1, 0, 1, offsetof(mcts_config, reuse_tree), "0 or 1"},
    {"noise", 0, 0, 1, offsetof(mcts_config, dirichlet_weight), "a weight in [0, 1]"},
    {"alpha", 0, 1e-6, 1e6, offsetof(mcts_config, dirichlet_alpha), "a number > 0"},
    {"temp", 0, 0, 1e6, offsetof(mcts_config, temperature), "a number >= 0"},
    {"tplies", 1, -1, 1000, offsetof(mcts_config, temperature_plies), "an integer in [-1, 1000]"},
    {"threads", 1, 1, MCTS_MAX_THREADS, offsetof(mcts_config, threads), "an integer in [1, 64]"},
};

/* Sets MCTS key k to v in m, or returns a spec error naming the key and what it expects. */
static nrps_status mcts_key_set(const char *text, const char *k, const char *v, mcts_config *m) {
    for (size_t i = 0; i < sizeof MCTS_KEYS / sizeof MCTS_KEYS[0]; i++) {
        const mcts_key *e = &MCTS_KEYS[i];
        if (strcmp(k, e->key)) continue;
        long lv;
        double dv;
        char msg[96];
        snprintf(msg, sizeof msg, "%s= expects %s, got '", e->key, e->expect);
        if (e->is_int ? !nrps_parse_long(v, (long)e->lo, (long)e->hi, &lv) : !nrps_parse_double(v, e->lo, e->hi, &dv))
            return spec_error(text, msg, v);
        if (e->is_int) *(int *)((char *)m + e->offset) = (int)lv;
        else *(double *)((char *)m + e->offset) = dv;
        if (!strcmp(k, "temp") && m->temperature_plies == 0) m->temperature_plies = -1; /* temp alone: every ply */
        return NRPS_OK;
    }
    return spec_error(text,
                      "unknown option (expected cpuct, batch, vloss, reuse, noise, alpha, temp, tplies, threads, policy, value, "
                      "nets, net, backend, eval, service or wait): '",
                      k);
}

nrps_status agent_spec_parse(const char *text, agent_spec *out) {
    memset(out, 0, sizeof *out);
    if (!text || !*text) return spec_error(text ? text : "", SPEC_EXPECTED, NULL);
    if (strlen(text) >= sizeof out->text) return spec_error("...", "spec too long (max 255 characters)", NULL);
    strcpy(out->text, text);
    out->mcts = mcts_config_default();
    strcpy(out->policy_path, AGENT_DEFAULT_POLICY);
    strcpy(out->value_path, AGENT_DEFAULT_VALUE);
    char buf[256];
    strcpy(buf, text);
    char *save = NULL;
    char *head = strtok_r(buf, ",", &save);
    if (!head) return spec_error(text, SPEC_EXPECTED, NULL);
    /* head: NAME[:PLAYOUTS[:CPUCT]] */
    char *colon = strchr(head, ':');
    char *args = NULL;
    if (colon) {
        *colon = 0;
        args = colon + 1;
    }
    if (!strcmp(head, "random")) out->kind = AGENT_RANDOM;
    else if (!strcmp(head, "greedy")) out->kind = AGENT_GREEDY;
    else if (!strcmp(head, "mcts")) out->kind = AGENT_MCTS;
    else if (!strcmp(head, "mcts-net")) out->kind = AGENT_MCTS_NET;
    else if (!strcmp(head, "net")) out->kind = AGENT_NET;
    else if (!strcmp(head, "solver")) out->kind = AGENT_SOLVER;
    else if (!strcmp(head, "bestresponse")) out->kind = AGENT_BESTRESPONSE;
    else return spec_error(text, SPEC_EXPECTED, NULL);
    int is_mcts = out->kind == AGENT_MCTS || out->kind == AGENT_MCTS_NET;
    if (args) {
        if (!is_mcts) return spec_error(text, "only mcts and mcts-net take ':PLAYOUTS', got ':", args);
        char *c2 = strchr(args, ':');
        if (c2) *c2 = 0;
        long po;
        if (!nrps_parse_long(args, 1, 10000000, &po))
            return spec_error(text, "PLAYOUTS must be an integer in [1, 10000000], got '", args);
        out->mcts.playouts = (int)po;
        if (c2) {
            if (out->kind != AGENT_MCTS) return spec_error(text, "only mcts takes ':CPUCT', got ':", c2 + 1);
            if (!nrps_parse_double(c2 + 1, 1e-6, 1e6, &out->mcts.c_puct))
                return spec_error(text, "CPUCT must be a number > 0, got '", c2 + 1);
        }
    }
    int file_keys = 0; /* bit 0: policy/value given, bit 1: net given, bit 2: nets given */
    for (char *kv; (kv = strtok_r(NULL, ",", &save));) {
        char *eq = strchr(kv, '=');
        if (!eq) return spec_error(text, "options must be key=value, got '", kv);
        *eq = 0;
        const char *k = kv, *v = eq + 1;
        int is_net_key = !strcmp(k, "policy") || !strcmp(k, "value") || !strcmp(k, "nets") || !strcmp(k, "net") ||
                         !strcmp(k, "backend") || !strcmp(k, "eval") || !strcmp(k, "service") || !strcmp(k, "wait");
        if (is_net_key) {
            if (out->kind == AGENT_MCTS) out->kind = AGENT_MCTS_NET;
            if (out->kind != AGENT_MCTS_NET && out->kind != AGENT_NET)
                return spec_error(text, "only mcts, mcts-net and net take network files, got '", k);
            if (!strcmp(k, "service") || !strcmp(k, "wait")) {
                long lv;
                int is_wait = !strcmp(k, "wait");
                if (out->kind != AGENT_MCTS_NET) return spec_error(text, "only mcts-net takes service= and wait=, got '", k);
                if (!nrps_parse_long(v, 0, is_wait ? EVAL_SERVICE_MAX_US : 1, &lv))
                    return spec_error(text, is_wait ? "wait= expects microseconds in [0, 1000000], got '"
                                                    : "service= expects 0 or 1, got '", v);
                if (is_wait) out->service_wait_us = (int)lv;
                else out->service = (int)lv;
                continue;
            }
            if (!strcmp(k, "eval")) {
                if (out->kind != AGENT_MCTS_NET) return spec_error(text, "only mcts-net takes eval=, got '", k);
                if (strcmp(v, "full") && strcmp(v, "incremental"))
                    return spec_error(text, "eval= expects full or incremental, got '", v);
                out->incremental = !strcmp(v, "incremental");
                continue;
            }
            if (!strcmp(k, "backend")) {
                if (!be_name_known(v) || strlen(v) >= sizeof out->backend) {
                    char names[256];
                    be_registry_names(names, sizeof names);
                    char msg[400];
                    snprintf(msg, sizeof msg, "backend= expects one of %s, got '", names);
                    return spec_error(text, msg, v);
                }
                snprintf(out->backend, sizeof out->backend, "%s", v);
                continue;
            }
            if (!strcmp(k, "net")) {
                if (!set_path(out->net_path, sizeof out->net_path, v))
                    return spec_error(text, "net= expects a file name, got '", v);
            } else if (!strcmp(k, "policy")) {
                if (!set_path(out->policy_path, sizeof out->policy_path, v))
                    return spec_error(text, "policy= expects a file name, got '", v);
            } else if (!strcmp(k, "value")) {
                if (out->kind == AGENT_NET) return spec_error(text, "net uses only a policy network, got '", k);
                if (!set_path(out->value_path, sizeof out->value_path, v))
                    return spec_error(text, "value= expects a file name, got '", v);
            } else {
                if (!*v || strlen(v) + 20 >= sizeof out->policy_path)
                    return spec_error(text, "nets= expects a folder, got '", v);
                agent_spec_set_nets(out, v, NULL);
            }
            file_keys |= !strcmp(k, "net") ? 2 : !strcmp(k, "nets") ? 4 : 1;
            continue;
        }
        if (!is_mcts) return spec_error(text, "unknown option for this agent: '", k);
        nrps_status st = mcts_key_set(text, k, v, &out->mcts);
        if (st != NRPS_OK) return st;
    }
    /* nets=DIR may resolve to DIR/rps_net.onnx (a two-headed run): that is one network too */
    if (((file_keys & 2) && (file_keys & 5)) || (out->net_path[0] && (file_keys & 1)))
        return spec_error(text, "net= (one two-headed file) excludes policy=, value= and nets=", NULL);
    if (out->incremental && out->service)
        return spec_error(text, "service=1 needs eval=full (the service's clients evaluate whole positions)", NULL);
    if (out->incremental && out->backend[0] && strcmp(out->backend, "native-cpu"))
        return spec_error(text, "eval=incremental needs backend=native-cpu, got '", out->backend);
    if (is_mcts && mcts_config_check(&out->mcts) != NRPS_OK) {
        char msg[256];
        snprintf(msg, sizeof msg, "%s", nrps_last_error());
        return spec_error(text, msg, NULL);
    }
    return NRPS_OK;
}

void agent_spec_set_nets(agent_spec *spec, const char *dir, const char *backend) {
    snprintf(spec->policy_path, sizeof spec->policy_path, "%s/rps_policy.onnx", dir);
    snprintf(spec->value_path, sizeof spec->value_path, "%s/rps_value.onnx", dir);
    char net[sizeof spec->net_path + 16];
    snprintf(net, sizeof net, "%s/rps_net.onnx", dir);
    spec->net_path[0] = 0;
    if (access(spec->policy_path, F_OK) != 0 && access(net, F_OK) == 0 && strlen(net) < sizeof spec->net_path)
        memcpy(spec->net_path, net, strlen(net) + 1);
    if (backend && *backend) snprintf(spec->backend, sizeof spec->backend, "%s", backend);
}

/* Mixes a seed with a stream id so the agent's rng and its evaluator's rng differ. */
static uint64_t mix64(uint64_t x) {
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

/* The network evaluator of search thread t (or of the net agent): eval_net_open or eval_incr_open on spec's files. */
static nrps_status open_net_eval(agent *a, int t) {
    const agent_spec *spec = &a->spec;
    eval_net_spec es = {.backend = spec->backend[0] ? spec->backend : NULL, .opt = be_options_default()};
    if (spec->net_path[0]) es.net_path = spec->net_path;
    else es.policy_path = spec->policy_path;
    if (!spec->net_path[0] && spec->kind == AGENT_MCTS_NET) es.value_path = spec->value_path;
    if (spec->incremental) {
        if (!(a->incr[t] = eval_incr_open(&es, spec->mcts.batch, eval_incr_slots_for(spec->mcts.playouts))))
            return NRPS_ERR_ARG;
        a->evs[t] = eval_incr_evaluator(a->incr[t]);
    } else {
        int max_batch = spec->kind == AGENT_NET ? 1 : spec->mcts.batch * (spec->service ? spec->mcts.threads : 1);
        if (!(a->net[t] = eval_net_open(&es, max_batch))) return NRPS_ERR_ARG;
        a->evs[t] = eval_net_evaluator(a->net[t]);
    }
    return NRPS_OK;
}

/* service=1: one batching service over evaluator 0 (batches of up to threads x batch), its client for every
 * thread. */
static nrps_status open_service(agent *a) {
    eval_service_config sc = eval_service_config_default();
    sc.max_batch = a->spec.mcts.batch * a->spec.mcts.threads;
    sc.wait_us = a->spec.service_wait_us;
    if (!(a->svc = eval_service_create(a->evs[0], &sc))) return NRPS_ERR_ARG;
    for (int t = 0; t < a->n_eval; t++) a->evs[t] = eval_service_evaluator(a->svc);
    return NRPS_OK;
}

agent *agent_create(const agent_spec *spec, uint64_t seed) {
    agent *a = calloc(1, sizeof *a);
    if (!a) {
        nrps_set_error("agent %s: out of memory", spec->text);
        return NULL;
    }
    a->spec = *spec;
    int is_mcts = spec->kind == AGENT_MCTS || spec->kind == AGENT_MCTS_NET;
    a->n_eval = is_mcts ? spec->mcts.threads : 1;
    switch (spec->kind) {
    case AGENT_MCTS:
        for (int t = 0; t < a->n_eval; t++) {
            if (!(a->rollout[t] = eval_rollout_create(0, spec->mcts.batch))) goto fail;
            a->evs[t] = eval_rollout_evaluator(a->rollout[t]);
        }
        break;
    case AGENT_MCTS_NET:
    case AGENT_NET:
        if (spec->service) {
            if (open_net_eval(a, 0) != NRPS_OK || open_service(a) != NRPS_OK) goto fail;
            break;
        }
        for (int t = 0; t < a->n_eval; t++)
            if (open_net_eval(a, t) != NRPS_OK) goto fail;
        break;
    case AGENT_SOLVER:
        if (!(a->solver = agent_solver_create())) goto fail;
        break;
    case AGENT_BESTRESPONSE:
        if (!(a->br = rps_br_create(20))) goto fail; /* 16 MiB, kept across games (keys are whole positions) */
        break;
    default:
        break;
    }
    if (is_mcts && !(a->search = mcts_create(&spec->mcts))) goto fail;
    agent_new_game(a, seed);
    return a;
fail:
    agent_destroy(a);
    return NULL;
}

void agent_destroy(agent *a) {
    if (!a) return;
    mcts_destroy(a->search);
    eval_service_destroy(a->svc); /* before the evaluator it calls */
    for (int t = 0; t < a->n_eval; t++) {
        eval_rollout_destroy(a->rollout[t]);
        eval_net_destroy(a->net[t]);
        eval_incr_destroy(a->incr[t]);
    }
    agent_solver_destroy(a->solver);
    rps_br_destroy(a->br);
    free(a);
}

void agent_new_game(agent *a, uint64_t seed) {
    nrps_rng_seed(&a->rng, mix64(seed));
    for (int t = 0; t < a->n_eval; t++)
        if (a->rollout[t]) eval_rollout_reseed(a->rollout[t], mix64(seed ^ (0x5bd1e995u + (uint64_t)t)));
    if (a->search) mcts_reset(a->search);
    a->have_last = 0;
}

const mcts_result *agent_last_search(const agent *a) { return a->have_last ? &a->last : NULL; }
const agent_spec *agent_get_spec(const agent *a) { return &a->spec; }

int agent_captures(const rps_state *s, int type, int pos) {
    static const int dr[4] = {-1, 0, 1, 0}, dc[4] = {0, 1, 0, -1};
    int r = pos / 3, c = pos % 3, opp = 3 - s->to_move, n = 0;
    for (int d = 0; d < 4; d++) {
        int rr = r + dr[d], cc = c + dc[d];
        if (rr < 0 || rr > 2 || cc < 0 || cc > 2) continue;
        const rps_cell *x = &s->board[rr * 3 + cc];
        if (x->owner == opp && rps_type_beats(type, x->type)) n++;
    }
    return n;
}

/* Moves merged by type: one per (distinct type, empty position), first hand index of that type. */
static int typed_moves(const rps_state *s, rps_move *out) { return rps_state_distinct_moves(s, out); }

static nrps_status pick_greedy(agent *a, const rps_state *s, rps_move *out) {
    rps_move mv[MCTS_MAX_CHILDREN], best[MCTS_MAX_CHILDREN];
    int n = typed_moves(s, mv), nb = 0, bc = -1;
    for (int i = 0; i < n; i++) {
        int c = agent_captures(s, s->hand[s->to_move][mv[i].card], mv[i].pos);
        if (c > bc) {
            bc = c;
            nb = 0;
        }
        if (c == bc) best[nb++] = mv[i];
    }
    *out = best[nrps_rng_below(&a->rng, (uint32_t)nb)];
    return NRPS_OK;
}

static nrps_status pick_net(agent *a, const rps_state *s, rps_move *out) {
    float y[RPS_POLICY_SIZE], value;
    nrps_status st = eval_net_one(a->net[0], s, y, &value);
    if (st != NRPS_OK) return st;
    int bp = -1;
    for (int p = 0; p < RPS_CELLS; p++) {
        if (s->board[p].owner != RPS_NONE) continue;
        if (bp < 0 || (y[p] > y[bp]) || (!(y[bp] == y[bp]) && y[p] == y[p])) bp = p;
    }
    int me = s->to_move, bc = -1, bi = 0;
    for (int i = 0; i < s->hand_len[me]; i++) {
        int c = agent_captures(s, s->hand[me][i], bp);
        if (c > bc) {
            bc = c;
            bi = i;
        }
    }
    out->card = (int8_t)bi;
    out->pos = (int8_t)bp;
    return NRPS_OK;
}

nrps_status agent_select_move(agent *a, const rps_state *s, rps_move *out) {
    if (rps_state_is_over(s)) {
        nrps_set_error("agent %s: the game is over", a->spec.text);
        return NRPS_ERR_ARG;
    }
    switch (a->spec.kind) {
    case AGENT_RANDOM: {
        rps_move mv[RPS_MAX_MOVES];
        int n = rps_state_legal_moves(s, mv);
        *out = mv[nrps_rng_below(&a->rng, (uint32_t)n)];
        return NRPS_OK;
    }
    case AGENT_GREEDY: return pick_greedy(a, s, out);
    case AGENT_NET: return pick_net(a, s, out);
    case AGENT_SOLVER: return agent_solver_pick(a->solver, s, &a->rng, out);
    case AGENT_BESTRESPONSE: {
        rps_move best[RPS_NTYPES * RPS_CELLS];
        int n = rps_br_best_moves(a->br, s, best);
        if (n < 1) return NRPS_ERR_ARG;
        *out = best[nrps_rng_below(&a->rng, (uint32_t)n)];
        return NRPS_OK;
    }
    case AGENT_MCTS:
    case AGENT_MCTS_NET: {
        nrps_status st = mcts_search_run_each(a->search, s, a->evs, &a->rng, &a->last);
        if (st != NRPS_OK) return st;
        a->have_last = 1;
        *out = a->last.move;
        return NRPS_OK;
    }
    }
    return NRPS_ERR_ARG;
}
