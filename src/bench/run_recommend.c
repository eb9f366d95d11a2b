/* run_recommend.c - the `recommended:` configuration per backend (src/bench/recommend.h) from the inside-search rows
 * of the first network set: candidates fastest first, each checked against the 1-thread batch-1 search by solver
 * agreement on fixed self-play positions and by an arena at equal playouts. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench/recommend.h"
#include "bench/run_impl.h"
#include "search/agent.h"
#include "search/arena.h"
#include "search/solver.h"

enum { REC_POSITIONS = 200 };

/* The solver-agreement positions: every position of seeded self-play games (the baseline search with temperature 1
 * on every ply, for variety) and, per position, which distinct moves keep its exact result. */
typedef struct {
    rps_state s[REC_POSITIONS];
    uint32_t keeps[REC_POSITIONS]; /* bit k: distinct move k (rps_state_distinct_moves order) keeps the result */
    int n;
} rec_positions;

/* The agent spec of the series' networks (pm, vm: the models; value == policy for a two-headed one) searching with
 * `threads` threads at leaf batch `batch`. */
static void rec_spec(const run_ctx *c, const bench_search_row *r, int pm, int vm, int threads, int batch,
                     agent_spec *out) {
    memset(out, 0, sizeof *out);
    out->kind = AGENT_MCTS_NET;
    out->mcts = mcts_config_default();
    out->mcts.playouts = r->playouts;
    out->mcts.threads = threads;
    out->mcts.batch = batch;
    out->incremental = !strcmp(r->eval, "incremental");
    out->service = !strcmp(r->eval, "service");
    out->service_wait_us = c->p->batch_wait_us;
    snprintf(out->backend, sizeof out->backend, "%s", r->backend);
    if (pm == vm) snprintf(out->net_path, sizeof out->net_path, "%s", be_model_path(c->m[pm].model));
    else {
        snprintf(out->policy_path, sizeof out->policy_path, "%s", be_model_path(c->m[pm].model));
        snprintf(out->value_path, sizeof out->value_path, "%s", be_model_path(c->m[vm].model));
    }
    snprintf(out->text, sizeof out->text, "mcts-net:%d,threads=%d,batch=%d,backend=%s%s", r->playouts, threads, batch,
             r->backend, out->incremental ? ",eval=incremental" : out->service ? ",service=1" : "");
}

/* Bit mask of the distinct moves of s that keep its exact result. */
static uint32_t result_keeping_moves(rps_solver *sv, const rps_state *s, nrps_status *st) {
    rps_solve_info info;
    uint32_t keeps = 0;
    if ((*st = rps_solver_analyse(sv, s, &info)) != NRPS_OK) return 0;
    for (int k = 0; k < info.n_moves; k++)
        if (info.moves[k].result == info.result) keeps |= 1u << k;
    return keeps;
}

/* Plays self-play games with base (temperature 1) until REC_POSITIONS positions are collected and solves each. */
static nrps_status rec_make_positions(const agent_spec *base, uint64_t seed, rec_positions *out) {
    agent_spec sp = *base;
    sp.mcts.temperature = 1.0, sp.mcts.temperature_plies = -1;
    agent *a = agent_create(&sp, seed);
    rps_solver *sv = rps_solver_create(0);
    nrps_status st = !a ? NRPS_ERR_ARG : !sv ? NRPS_ERR_NOMEM : NRPS_OK; /* agent_create set its error */
    rps_config cfg = rps_config_standard();
    out->n = 0;
    for (uint64_t g = 0; st == NRPS_OK && out->n < REC_POSITIONS; g++) {
        nrps_rng rng;
        nrps_rng_seed(&rng, arena_derive_seed(seed, 0x7ec0, g));
        rps_state s;
        rps_state_deal(&s, &cfg, &rng);
        agent_new_game(a, arena_derive_seed(seed, 0x7ec1, g));
        while (st == NRPS_OK && !rps_state_is_over(&s) && out->n < REC_POSITIONS) {
            out->s[out->n] = s;
            out->keeps[out->n] = result_keeping_moves(sv, &s, &st);
            out->n++;
            rps_move mv;
            if (st == NRPS_OK && (st = agent_select_move(a, &s, &mv)) == NRPS_OK) st = rps_state_apply(&s, mv);
        }
    }
    agent_destroy(a);
    rps_solver_destroy(sv);
    return st;
}

/* Share of the positions where spec's move (a fresh search each, seeded per position) keeps the exact result. */
static nrps_status rec_agreement(const agent_spec *spec, const rec_positions *ps, uint64_t seed, double *out) {
    agent *a = agent_create(spec, seed);
    if (!a) return NRPS_ERR_ARG;
    nrps_status st = NRPS_OK;
    int agree = 0;
    for (int i = 0; i < ps->n && st == NRPS_OK; i++) {
        agent_new_game(a, arena_derive_seed(seed, 0x7ec2, (uint64_t)i));
        rps_move mv, moves[RPS_MAX_MOVES];
        if ((st = agent_select_move(a, &ps->s[i], &mv)) != NRPS_OK) break;
        const rps_state *s = &ps->s[i];
        int n = rps_state_distinct_moves(s, moves), type = s->hand[s->to_move][mv.card];
        for (int k = 0; k < n; k++)
            if (moves[k].pos == mv.pos && s->hand[s->to_move][moves[k].card] == type) agree += (ps->keeps[i] >> k) & 1;
    }
    agent_destroy(a);
    *out = ps->n ? (double)agree / ps->n : 0;
    return st;
}

/* Checks candidate `cand` (speed already set) against the baseline: agreement, then the arena. */
static nrps_status rec_check(const run_ctx *c, const agent_spec *cs, const agent_spec *bs, const rec_positions *ps,
                             const bench_rec_check *base, bench_rec_check *cand) {
    nrps_status st = rec_agreement(cs, ps, c->p->seed, &cand->agreement);
    if (st != NRPS_OK) return st;
    if (!bench_rec_agreement_ok(cand->agreement, base->agreement, ps->n)) {
        snprintf(cand->why, sizeof cand->why, "solver agreement %.1f%% vs %.1f%% at threads=1 batch=1",
                 100 * cand->agreement, 100 * base->agreement);
        return NRPS_OK;
    }
    arena_config ac = {.a = *cs, .b = *bs, .game = rps_config_standard(), .games = c->p->recommend_games,
                       .seed = c->p->seed, .threads = 1};
    arena_result ar;
    if ((st = arena_run(&ac, &ar)) != NRPS_OK) return st;
    cand->games = ar.games, cand->score = ar.score, cand->score_lo = ar.score_lo, cand->score_hi = ar.score_hi;
    arena_result_free(&ar);
    if (cand->score_hi < 0.5)
        snprintf(cand->why, sizeof cand->why, "arena score %.3f [%.3f, %.3f] against threads=1 batch=1", cand->score,
                 cand->score_lo, cand->score_hi);
    return NRPS_OK;
}

/* Whether row r belongs to the series of r0: the same nets, backend and evaluator (a backend's eval=service rows,
 * its threads sharing one service, count with its eval=full ones). */
static int in_series(const bench_search_row *r, const bench_search_row *r0) {
    int eval_ok = !strcmp(r->eval, r0->eval) || (!strcmp(r0->eval, "full") && !strcmp(r->eval, "service"));
    return eval_ok && !strcmp(r->backend, r0->backend) && !strcmp(r->nets, r0->nets);
}

/* The series' rows (of row r0) fastest first, in idx; returns how many. */
static int rec_candidates(const bench_result *res, const bench_search_row *r0, int *idx) {
    int n = 0;
    for (int i = 0; i < res->n_srows; i++) {
        const bench_search_row *r = &res->srows[i];
        if (r->moves < 1 || r->interrupted || !in_series(r, r0)) continue;
        int j = n++;
        for (; j > 0 && res->srows[idx[j - 1]].playouts_per_s < r->playouts_per_s; j--) idx[j] = idx[j - 1];
        idx[j] = i;
    }
    return n;
}

/* The recommendation for the series of row r0 (models pm, vm). */
static nrps_status rec_series(run_ctx *c, const bench_search_row *r0, int pm, int vm, rec_positions *ps,
                              bench_recommendation *rec) {
    memset(rec, 0, sizeof *rec);
    snprintf(rec->backend, sizeof rec->backend, "%s", r0->backend);
    snprintf(rec->eval, sizeof rec->eval, "%s", r0->eval);
    snprintf(rec->nets, sizeof rec->nets, "%s", r0->nets);
    rec->playouts = r0->playouts;
    agent_spec bs, cs;
    rec_spec(c, r0, pm, vm, 1, 1, &bs);
    bench_progress(c, "recommend: %-16s%s positions %d", bench_search_label(r0), "", REC_POSITIONS);
    nrps_status st = rec_make_positions(&bs, c->p->seed, ps);
    rec->positions = ps->n;
    rec->baseline = (bench_rec_check){.threads = 1, .batch = 1};
    if (st == NRPS_OK) st = rec_agreement(&bs, ps, c->p->seed, &rec->baseline.agreement);
    int idx[2 * BENCH_MAX_BATCHES * BENCH_MAX_BATCHES];
    int n = rec_candidates(c->r, r0, idx);
    for (int k = 0; k < n && st == NRPS_OK; k++) {
        const bench_search_row *r = &c->r->srows[idx[k]];
        if (r->threads == 1 && r->batch == 1) rec->baseline.playouts_per_s = r->playouts_per_s;
    }
    rec->chosen = rec->baseline;
    for (int k = 0; k < n && st == NRPS_OK && !nrps_interrupted; k++) {
        const bench_search_row *r = &c->r->srows[idx[k]];
        if (r->threads == 1 && r->batch == 1) break; /* the baseline: nothing faster qualified */
        bench_rec_check cand = {.threads = r->threads, .batch = r->batch, .playouts_per_s = r->playouts_per_s,
                                .service = !strcmp(r->eval, "service")};
        rec_spec(c, r, pm, vm, r->threads, r->batch, &cs);
        bench_progress(c, "recommend: %-16s%s arena, %d threads", bench_search_label(r0), "", r->threads);
        if ((st = rec_check(c, &cs, &bs, ps, &rec->baseline, &cand)) != NRPS_OK) break;
        if (!cand.why[0]) {
            rec->chosen = cand;
            break;
        }
        if (rec->n_rejected < BENCH_REC_MAX_REJECTED) rec->rejected[rec->n_rejected++] = cand;
    }
    return st;
}

nrps_status bench_run_recommend(run_ctx *c) {
    if (c->p->recommend_games < 1 || c->rec_pm < 0 || c->r->interrupted || c->r->n_srows < 1 ||
        c->p->scenario != BENCH_SCEN_NONE)
        return NRPS_OK;
    const bench_search_row *first = &c->r->srows[0];
    rec_positions *ps = malloc(sizeof *ps);
    c->r->recs = calloc((size_t)c->p->n_backends + 1, sizeof *c->r->recs);
    if (!ps || !c->r->recs) {
        free(ps);
        nrps_set_error("out of memory for the recommendation");
        return NRPS_ERR_NOMEM;
    }
    nrps_status st = NRPS_OK;
    for (int i = 0; i < c->r->n_srows && st == NRPS_OK && !nrps_interrupted; i++) {
        const bench_search_row *r = &c->r->srows[i];
        int seen = strcmp(r->nets, first->nets) != 0 || r->moves < 1 || !strcmp(r->eval, "service");
        for (int k = 0; k < c->r->n_recs && !seen; k++)
            seen = !strcmp(c->r->recs[k].backend, r->backend) && !strcmp(c->r->recs[k].eval, r->eval);
        if (seen) continue;
        bench_recommendation *rec = &c->r->recs[c->r->n_recs++];
        st = rec_series(c, r, c->rec_pm, c->rec_vm, ps, rec);
        if (st != NRPS_OK && st != NRPS_ERR_INTERRUPTED && st != NRPS_ERR_NOMEM) {
            /* an agent the checks could not build or run (e.g. a backend the agent cannot open): said, not fatal */
            snprintf(rec->failed, sizeof rec->failed, "%s", nrps_last_error());
            st = NRPS_OK;
        }
    }
    free(ps);
    if (st == NRPS_ERR_NOMEM) {
        char msg[900];
        snprintf(msg, sizeof msg, "%s", nrps_last_error());
        nrps_set_error("recommendation: %s", msg);
    }
    if (nrps_interrupted) c->r->interrupted = 1;
    return st == NRPS_ERR_INTERRUPTED ? NRPS_OK : st;
}
