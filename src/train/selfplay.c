/* selfplay.c - self-play games with MCTS + networks, turned into training samples (see selfplay.h). */
#include "train/selfplay.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "search/eval_net.h"
#include "util/mpi_dist.h"

enum { KEY_HANDS_SHIFT = 28, KEY_COUNT_BITS = 5 }; /* counts <= RPS_MAX_HAND = 16 < 32 */

uint64_t sp_key_from_state(const rps_state *s, rps_encoding enc) {
    uint64_t k = 0;
    for (int p = 0; p < RPS_CELLS; p++) {
        const rps_cell *c = &s->board[p];
        uint64_t code = 0;
        if (c->owner != RPS_NONE && c->type >= 0 && c->type < RPS_NTYPES)
            code = 1u + 2u * (uint64_t)c->type + (uint64_t)(c->owner - 1);
        k |= code << (3 * p);
    }
    if (s->to_move == RPS_P2) k |= 1ull << 27;
    if (enc == RPS_ENC_HANDS)
        for (int pl = RPS_P1; pl <= RPS_P2; pl++) {
            int counts[RPS_NTYPES];
            rps_state_hand_counts(s, pl, counts);
            for (int t = 0; t < RPS_NTYPES; t++)
                k |= (uint64_t)counts[t] << (KEY_HANDS_SHIFT + KEY_COUNT_BITS * (3 * (pl - 1) + t));
        }
    return k;
}

void sp_key_encode(uint64_t key, float out[RPS_INPUT_SIZE]) {
    int p2 = (key >> 27) & 1u;
    for (int p = 0; p < RPS_CELLS; p++) {
        float *o = out + 9 * p;
        uint32_t code = (uint32_t)(key >> (3 * p)) & 7u;
        for (int k = 0; k < 9; k++) o[k] = 0.0f;
        if (code == 0) {
            o[3] = 1.0f;
        } else {
            int type = (int)(code - 1) / 2, owner = (int)(code - 1) % 2 + 1;
            o[type] = 1.0f;
            o[3 + owner] = 1.0f;
        }
        o[6] = p2 ? 0.0f : 1.0f;
        o[7] = p2 ? 1.0f : 0.0f;
    }
    for (int i = 0; i < 2 * RPS_NTYPES; i++) /* hand counts: all zero in a board-encoding key */
        out[9 * i + 8] = (float)((key >> (KEY_HANDS_SHIFT + KEY_COUNT_BITS * i)) & ((1u << KEY_COUNT_BITS) - 1));
}

uint64_t selfplay_game_seed(uint64_t seed, int gen, long g) {
    uint64_t z = seed ^ 0x5e1f91a7c0ffee00ULL;
    uint64_t parts[2] = {(uint64_t)(uint32_t)gen + 0x100000000ULL, (uint64_t)g};
    for (int i = 0; i < 2; i++) {
        z += 0x9e3779b97f4a7c15ULL + parts[i];
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        z ^= z >> 31;
    }
    return z;
}

/* ---- evaluators ---- */

eval_net *selfplay_evaluator_open(const selfplay_config *cfg, const be_model *policy, const be_model *value) {
    eval_net_spec es = {.backend = cfg->backend && *cfg->backend ? cfg->backend : SELFPLAY_DEFAULT_BACKEND,
                        .opt = be_options_default()};
    if (value) es.policy = policy, es.value = value;
    else es.net = policy;
    return eval_net_open(&es, cfg->mcts.batch);
}

/* ---- one game ---- */

int selfplay_random_seat(uint64_t seed, int gen, long g, double share) {
    if (!(share > 0)) return 0;
    nrps_rng r;
    nrps_rng_seed(&r, selfplay_game_seed(seed ^ 0x0dd5ea7ULL, gen, g));
    if (!(nrps_rng_uniform(&r) < share)) return 0;
    return nrps_rng_below(&r, 2) ? RPS_P2 : RPS_P1;
}

nrps_status selfplay_game(mcts *m, const mcts_evaluator *ev, const rps_config *game, rps_encoding enc, uint64_t game_seed,
                          int random_seat, sp_sample *out, rps_state *states, int *n, int *winner, selfplay_stats *st) {
    nrps_rng rng;
    nrps_rng_seed(&rng, game_seed);
    rps_state s;
    rps_state_deal(&s, game, &rng);
    mcts_reset(m);
    int movers[RPS_MAX_PLIES], cnt = 0;
    *n = 0;
    while (!rps_state_is_over(&s)) {
        if (cnt >= RPS_MAX_PLIES) {
            nrps_set_error("selfplay: game longer than %d plies", RPS_MAX_PLIES);
            return NRPS_ERR_ARG;
        }
        if (s.to_move == random_seat) {
            rps_move lm[RPS_MAX_MOVES];
            int nl = rps_state_legal_moves(&s, lm);
            if (rps_state_apply(&s, lm[nrps_rng_below(&rng, (uint32_t)nl)]) != NRPS_OK) {
                nrps_set_error("selfplay: illegal random move");
                return NRPS_ERR_ILLEGAL;
            }
            continue;
        }
        sp_sample *smp = &out[cnt];
        memset(smp, 0, sizeof *smp);
        smp->key = sp_key_from_state(&s, enc);
        movers[cnt] = s.to_move;
        if (states) states[cnt] = s;
        rps_move dm[MCTS_MAX_CHILDREN];
        int nd = rps_state_distinct_moves(&s, dm);
        rps_move mv;
        if (nd == 1) {
            mv = dm[0];
            smp->policy[mv.pos] = 1.0f;
        } else {
            mcts_result res;
            nrps_status rc = mcts_search_run(m, &s, ev, &rng, &res);
            if (rc != NRPS_OK) return rc;
            memcpy(smp->policy, res.policy, sizeof smp->policy);
            mv = res.move;
            if (st) {
                st->searches++;
                st->eval_states += res.eval_states;
            }
        }
        if (rps_state_apply(&s, mv) != NRPS_OK) {
            nrps_set_error("selfplay: search returned an illegal move (card %d, position %d)", mv.card, mv.pos);
            return NRPS_ERR_ILLEGAL;
        }
        cnt++;
    }
    int w = rps_state_winner(&s);
    for (int i = 0; i < cnt; i++) out[i].value = w == RPS_NONE ? 0.5f : w == movers[i] ? 1.0f : 0.0f;
    *n = cnt;
    *winner = w;
    if (st) {
        st->games++;
        st->positions += cnt;
        if (w == RPS_P1) st->p1_wins++;
        else if (w == RPS_P2) st->p2_wins++;
        else st->draws++;
    }
    return NRPS_OK;
}

/* ---- threads ---- */

typedef struct {
    const selfplay_config *cfg;
    const be_model *policy, *value;
    int gen;
    long first, ngames; /* games first .. first + ngames - 1 of the generation */
    sp_sample *slots; /* ngames x RPS_MAX_PLIES */
    int8_t *counts;   /* samples per game */
    pthread_mutex_t mu;
    long next, done;
    nrps_status err;
    char errmsg[512];
    double t0;
} sp_shared;

typedef struct {
    sp_shared *sh;
    selfplay_stats st;
} sp_worker;

static void progress_draw(sp_shared *sh, long done) {
    double el = nrps_now_s() - sh->t0;
    fprintf(stderr, "\r%s%sself-play %ld/%ld game%s  %.1f games/s   ", sh->cfg->label ? sh->cfg->label : "",
            sh->cfg->label ? "  " : "", done, sh->ngames, sh->ngames == 1 ? "" : "s", el > 0 ? done / el : 0.0);
    fflush(stderr);
}

static void *worker_main(void *arg) {
    sp_worker *w = arg;
    sp_shared *sh = w->sh;
    const selfplay_config *cfg = sh->cfg;
    mcts *m = NULL;
    nrps_status rc = NRPS_OK;
    eval_net *ne = selfplay_evaluator_open(cfg, sh->policy, sh->value);
    if (!ne || !(m = mcts_create(&cfg->mcts))) {
        rc = ne ? NRPS_ERR_NOMEM : NRPS_ERR_UNSUPPORTED;
        goto fail;
    }
    const mcts_evaluator *ev = eval_net_evaluator(ne);
    for (;;) {
        pthread_mutex_lock(&sh->mu);
        long g = sh->err == NRPS_OK ? sh->next++ : sh->ngames;
        pthread_mutex_unlock(&sh->mu);
        if (g >= sh->ngames) break;
        int n = 0, winner = 0;
        long gg = sh->first + g; /* the game's index in the generation: its seed */
        rc = selfplay_game(m, ev, &cfg->game, cfg->enc, selfplay_game_seed(cfg->seed, sh->gen, gg),
                           selfplay_random_seat(cfg->seed, sh->gen, gg, cfg->random_share),
                           &sh->slots[g * RPS_MAX_PLIES], NULL, &n, &winner, &w->st);
        if (rc != NRPS_OK) goto fail;
        sh->counts[g] = (int8_t)n;
        pthread_mutex_lock(&sh->mu);
        long done = ++sh->done;
        if (cfg->progress && (done % 8 == 0 || done == sh->ngames)) progress_draw(sh, done);
        pthread_mutex_unlock(&sh->mu);
    }
    mcts_destroy(m);
    eval_net_destroy(ne);
    return NULL;
fail:
    pthread_mutex_lock(&sh->mu);
    if (sh->err == NRPS_OK || (sh->err == NRPS_ERR_INTERRUPTED && rc != NRPS_ERR_INTERRUPTED)) {
        sh->err = rc;
        snprintf(sh->errmsg, sizeof sh->errmsg, "%s", nrps_last_error());
    }
    pthread_mutex_unlock(&sh->mu);
    mcts_destroy(m);
    eval_net_destroy(ne);
    return NULL;
}

/* Games first .. first + ngames - 1 (ngames >= 0) of generation gen on this process's threads: the samples in game
 * order into *out (malloc'd, never NULL on success), their count *nout, the statistics summed into *st (zeroed by the
 * caller; seconds not set). */
static nrps_status play_games(const selfplay_config *cfg, const be_model *policy, const be_model *value, int gen,
                              long first, long ngames, sp_sample **out, long *nout, selfplay_stats *st) {
    nrps_status rc = NRPS_OK;
    sp_shared sh;
    memset(&sh, 0, sizeof sh);
    sh.cfg = cfg;
    sh.policy = policy;
    sh.value = value;
    sh.gen = gen;
    sh.first = first;
    sh.ngames = ngames;
    sh.t0 = nrps_now_s();
    int nt = cfg->threads < ngames ? cfg->threads : ngames > 0 ? (int)ngames : 1;
    sp_worker *ws = calloc((size_t)nt, sizeof *ws);
    pthread_t *tids = calloc((size_t)nt, sizeof *tids);
    sh.slots = malloc((size_t)(ngames > 0 ? ngames : 1) * RPS_MAX_PLIES * sizeof *sh.slots);
    sh.counts = calloc((size_t)(ngames > 0 ? ngames : 1), 1);
    sp_sample *res = NULL;
    int started = 0;
    pthread_mutex_init(&sh.mu, NULL);
    if (!ws || !tids || !sh.slots || !sh.counts) {
        nrps_set_error("selfplay: out of memory for %ld games", ngames);
        rc = NRPS_ERR_NOMEM;
        goto cleanup;
    }
    for (int i = 0; i < nt; i++) {
        ws[i].sh = &sh;
        if (nt == 1) break;
        if (pthread_create(&tids[i], NULL, worker_main, &ws[i]) != 0) {
            pthread_mutex_lock(&sh.mu);
            sh.err = NRPS_ERR_NOMEM;
            snprintf(sh.errmsg, sizeof sh.errmsg, "selfplay: cannot start thread %d", i);
            pthread_mutex_unlock(&sh.mu);
            break;
        }
        started++;
    }
    if (nt == 1) worker_main(&ws[0]);
    for (int i = 0; i < started; i++) pthread_join(tids[i], NULL);
    if (sh.err != NRPS_OK) {
        rc = sh.err;
        nrps_set_error("%s", sh.errmsg);
        goto cleanup;
    }
    if (cfg->progress) fprintf(stderr, "\r\033[K");
    long total = 0;
    for (long g = 0; g < ngames; g++) total += sh.counts[g];
    res = malloc((size_t)(total > 0 ? total : 1) * sizeof *res);
    if (!res) {
        nrps_set_error("selfplay: out of memory for %ld samples", total);
        rc = NRPS_ERR_NOMEM;
        goto cleanup;
    }
    long k = 0;
    for (long g = 0; g < ngames; g++) {
        memcpy(&res[k], &sh.slots[g * RPS_MAX_PLIES], (size_t)sh.counts[g] * sizeof *res);
        k += sh.counts[g];
    }
    for (int i = 0; i < nt; i++) {
        st->games += ws[i].st.games;
        st->positions += ws[i].st.positions;
        st->p1_wins += ws[i].st.p1_wins;
        st->p2_wins += ws[i].st.p2_wins;
        st->draws += ws[i].st.draws;
        st->searches += ws[i].st.searches;
        st->eval_states += ws[i].st.eval_states;
    }
    *out = res;
    *nout = total;
    res = NULL;
    rc = NRPS_OK;
cleanup:
    if (rc != NRPS_OK && cfg->progress) fprintf(stderr, "\r\033[K");
    pthread_mutex_destroy(&sh.mu);
    free(res);
    free(ws);
    free(tids);
    free(sh.slots);
    free(sh.counts);
    return rc;
}

/* The statistics' counts summed over the job's processes. */
static void stats_sum(selfplay_stats *st) {
    long v[7] = {st->games, st->positions, st->p1_wins, st->p2_wins, st->draws, st->searches, st->eval_states};
    nrps_dist_sum_long(v, 7);
    st->games = v[0], st->positions = v[1], st->p1_wins = v[2], st->p2_wins = v[3], st->draws = v[4];
    st->searches = v[5], st->eval_states = v[6];
}

nrps_status selfplay_run(const selfplay_config *cfg, const be_model *policy, const be_model *value, int gen, long ngames,
                         sp_sample **out, long *nout, selfplay_stats *st) {
    *out = NULL;
    *nout = 0;
    if (st) memset(st, 0, sizeof *st);
    selfplay_stats local;
    memset(&local, 0, sizeof local);
    double t0 = nrps_now_s();
    long lo = 0, hi = ngames;
    if (cfg->distributed) nrps_dist_share(ngames, &lo, &hi);
    sp_sample *mine = NULL;
    long nmine = 0;
    nrps_status rc = NRPS_OK;
    if (ngames < 1 || cfg->threads < 1) {
        nrps_set_error("selfplay: need games >= 1 and threads >= 1");
        rc = NRPS_ERR_ARG;
    }
    if (rc == NRPS_OK) rc = mcts_config_check(&cfg->mcts);
    if (rc == NRPS_OK) rc = rps_config_check(&cfg->game);
    if (rc == NRPS_OK) rc = play_games(cfg, policy, value, gen, lo, hi - lo, &mine, &nmine, &local);
    if (cfg->distributed) {
        if ((rc = nrps_dist_agree(rc)) == NRPS_OK) {
            void *all = NULL;
            rc = nrps_dist_gather(mine, nmine, sizeof *mine, &all, &nmine);
            free(mine);
            mine = all;
        }
        stats_sum(&local);
    }
    if (rc != NRPS_OK) {
        free(mine);
        return rc;
    }
    local.seconds = nrps_now_s() - t0;
    if (st) *st = local;
    *out = mine;
    *nout = nmine;
    return NRPS_OK;
}
