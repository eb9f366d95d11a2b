/* train.c - the self-play training loop: configuration, architectures, outputs (ONNX, summary.json), arenas
 * after each generation (see train.h). The run state and its checkpoint are in train_state.c, the analysis
 * against the solver in train_analyse.c. */
#include "util/textwrap.h"
#include "train/train.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend/backend.h"
#include "onnx/onnx_net.h"
#include "search/arena.h"
#include "train/replay.h"
#include "train/selfplay.h"
#include "train/train_lock.h"
#include "train/train_state.h"
#include "util/mpi_dist.h"

train_config train_config_default(void) {
    train_config c;
    memset(&c, 0, sizeof c);
    snprintf(c.out_dir, sizeof c.out_dir, "runs/train");
    snprintf(c.backend, sizeof c.backend, "%s", SELFPLAY_DEFAULT_BACKEND);
    c.game = rps_config_standard();
    c.generations = 24;
    c.games = 1500;
    c.playouts = 200;
    c.mcts_batch = 4;
    c.c_puct = 1.5;
    c.dirichlet_alpha = 0.3;
    c.dirichlet_weight = 0.25;
    c.temperature = 1.0;
    c.temperature_plies = 4;
    c.heads = TRAIN_HEADS_SEPARATE;
    c.layers = (train_widths){1, {128}};
    c.value_layers = (train_widths){1, {64}};
    c.policy_head = (train_widths){0, {0}};
    c.value_head = (train_widths){1, {32}};
    c.policy_weight = 1.0;
    c.value_weight = 1.0;
    c.encoding = RPS_ENC_HANDS;
    c.lr = 2e-3;
    c.lr_final = 5e-4;
    c.weight_decay = 1e-4;
    c.batch = 128;
    c.epochs = 6;
    c.window = 4;
    c.value_loss = NN_LOSS_BCE;
    c.seed = 1;
    c.threads = 1;
    c.eval_games = 100;
    c.eval_playouts = 100;
    return c;
}

/* ------------------------------------------------------------------------------------------------
 * Architecture
 * ---------------------------------------------------------------------------------------------- */

const char *train_heads_name(train_heads h) { return h == TRAIN_HEADS_TWO ? "two" : "separate"; }

int train_heads_parse(const char *name, train_heads *out) {
    if (!strcmp(name, "separate")) *out = TRAIN_HEADS_SEPARATE;
    else if (!strcmp(name, "two")) *out = TRAIN_HEADS_TWO;
    else return 0;
    return 1;
}

nrps_status train_widths_parse(const char *flag, const char *text, train_widths *out) {
    train_widths w = {0};
    if (strcmp(text, "none") != 0) {
        const char *p = text;
        for (;;) {
            char *end = NULL;
            errno = 0;
            long v = *p >= '0' && *p <= '9' ? strtol(p, &end, 10) : 0;
            if (!end || errno || v < 1 || v > TRAIN_WIDTH_MAX || w.n == NN_MAX_LAYERS - 1 || (*end && *end != ','))
                goto bad;
            w.w[w.n++] = (int)v;
            if (!*end) break;
            p = end + 1;
        }
    }
    *out = w;
    return NRPS_OK;
bad:
    nrps_set_error("--%s expects 'none' or up to %d comma-separated widths in [1, %d] (e.g. 256,128), got '%s'", flag,
                   NN_MAX_LAYERS - 1, TRAIN_WIDTH_MAX, text);
    return NRPS_ERR_ARG;
}

void train_widths_text(const train_widths *w, char *buf, size_t len) {
    if (!len) return;
    buf[0] = '\0';
    if (w->n == 0) snprintf(buf, len, "none");
    for (int i = 0, at = 0; i < w->n && at >= 0 && (size_t)at < len; i++)
        at += snprintf(buf + at, len - (size_t)at, "%s%d", i ? "," : "", w->w[i]);
}

int train_widths_equal(const train_widths *a, const train_widths *b) {
    if (a->n != b->n) return 0;
    for (int i = 0; i < a->n; i++)
        if (a->w[i] != b->w[i]) return 0;
    return 1;
}

int train_config_archs(const train_config *c, nn_arch out[2]) {
    if (c->heads == TRAIN_HEADS_TWO) {
        out[0] = nn_arch_two_heads(RPS_INPUT_SIZE, c->layers.w, c->layers.n, c->policy_head.w, c->policy_head.n,
                                   c->value_head.w, c->value_head.n, NN_ACT_RELU, 0);
        return 1;
    }
    out[0] = nn_arch_mlp(RPS_INPUT_SIZE, c->layers.w, c->layers.n, NN_ACT_RELU, 0, RPS_POLICY_SIZE, NN_ACT_SOFTMAX,
                         NN_HEAD_POLICY);
    out[1] = nn_arch_mlp(RPS_INPUT_SIZE, c->value_layers.w, c->value_layers.n, NN_ACT_RELU, 0, 1, NN_ACT_SIGMOID,
                         NN_HEAD_VALUE);
    return 2;
}

static nrps_status widths_check(const char *flag, const train_widths *w) {
    int ok = w->n >= 0 && w->n <= NN_MAX_LAYERS - 1;
    for (int i = 0; ok && i < w->n; i++) ok = w->w[i] >= 1 && w->w[i] <= TRAIN_WIDTH_MAX;
    if (ok) return NRPS_OK;
    nrps_set_error("%s must hold at most %d widths, each in [1, %d]", flag, NN_MAX_LAYERS - 1, TRAIN_WIDTH_MAX);
    return NRPS_ERR_ARG;
}

/* The architecture part of train_config_check. */
static nrps_status arch_check(const train_config *c) {
    if (c->heads != TRAIN_HEADS_SEPARATE && c->heads != TRAIN_HEADS_TWO) {
        nrps_set_error("--heads must be separate or two");
        return NRPS_ERR_ARG;
    }
    const int two = c->heads == TRAIN_HEADS_TWO;
    nrps_status rc = widths_check("--layers", &c->layers);
    if (rc == NRPS_OK && !two) rc = widths_check("--value-layers", &c->value_layers);
    if (rc == NRPS_OK && two) rc = widths_check("--policy-head", &c->policy_head);
    if (rc == NRPS_OK && two) rc = widths_check("--value-head", &c->value_head);
    if (rc != NRPS_OK) return rc;
    if (c->heads == TRAIN_HEADS_TWO) {
        int hidden = c->layers.n + c->policy_head.n + c->value_head.n;
        if (hidden > NN_MAX_LAYERS - 2) {
            nrps_set_error("--layers, --policy-head and --value-head hold %d widths in all, at most %d", hidden,
                           NN_MAX_LAYERS - 2);
            return NRPS_ERR_ARG;
        }
        if (!(c->policy_weight >= 0 && c->policy_weight <= 1000) ||
            !(c->value_weight >= 0 && c->value_weight <= 1000) || c->policy_weight + c->value_weight <= 0) {
            nrps_set_error("--policy-weight and --value-weight must be in [0, 1000] and not both 0, got %g and %g",
                           c->policy_weight, c->value_weight);
            return NRPS_ERR_ARG;
        }
    }
    nn_arch a[2];
    int n = train_config_archs(c, a);
    for (int i = 0; i < n; i++)
        if (nn_arch_check(&a[i], c->heads == TRAIN_HEADS_TWO ? "--layers/--policy-head/--value-head"
                                                              : i ? "--value-layers" : "--layers") != NRPS_OK)
            return NRPS_ERR_ARG;
    return NRPS_OK;
}

nrps_status train_config_check(const train_config *c) {
#define BAD(...)                                                                                                 \
    do {                                                                                                         \
        nrps_set_error(__VA_ARGS__);                                                                             \
        return NRPS_ERR_ARG;                                                                                     \
    } while (0)
    if (!c->out_dir[0]) BAD("--out must not be empty");
    if (c->generations < 1 || c->generations > 100000)
        BAD("--generations must be in [1, 100000], got %d", c->generations);
    if (c->games < 1 || c->games > 10000000) BAD("--games must be in [1, 10000000], got %ld", c->games);
    if (c->playouts < 1 || c->playouts > 1000000) BAD("--playouts must be in [1, 1000000], got %d", c->playouts);
    if (c->mcts_batch < 1 || c->mcts_batch > 1024) BAD("--mcts-batch must be in [1, 1024], got %d", c->mcts_batch);
    if (!(c->c_puct > 0 && c->c_puct <= 1000)) BAD("--c-puct must be in (0, 1000], got %g", c->c_puct);
    if (!(c->dirichlet_alpha > 0 && c->dirichlet_alpha <= 1000))
        BAD("--dirichlet-alpha must be in (0, 1000], got %g", c->dirichlet_alpha);
    if (!(c->dirichlet_weight >= 0 && c->dirichlet_weight <= 1))
        BAD("--dirichlet-weight must be in [0, 1], got %g", c->dirichlet_weight);
    if (!(c->temperature >= 0 && c->temperature <= 100)) BAD("temperature must be in [0, 100], got %g", c->temperature);
    if (c->temperature_plies < 0 || c->temperature_plies > RPS_MAX_PLIES)
        BAD("--temperature-plies must be in [0, %d], got %d", RPS_MAX_PLIES, c->temperature_plies);
    if (!(c->random_share >= 0 && c->random_share <= 1))
        BAD("--random-opponents must be in [0, 1], got %g", c->random_share);
    if (!(c->lr > 0 && c->lr <= 10)) BAD("--lr must be in (0, 10], got %g", c->lr);
    if (!(c->lr_final >= 0 && c->lr_final <= 10)) BAD("--lr-final must be in [0, 10], got %g", c->lr_final);
    if (!(c->weight_decay >= 0 && c->weight_decay <= 10))
        BAD("--weight-decay must be in [0, 10], got %g", c->weight_decay);
    if (c->batch < 1 || c->batch > 65536) BAD("--batch must be in [1, 65536], got %d", c->batch);
    if (c->epochs < 1 || c->epochs > 10000) BAD("--epochs must be in [1, 10000], got %d", c->epochs);
    if (c->window < 1 || c->window > REPLAY_MAX_WINDOW)
        BAD("--window must be in [1, %d], got %d", REPLAY_MAX_WINDOW, c->window);
    if (c->value_loss != NN_LOSS_BCE && c->value_loss != NN_LOSS_MSE) BAD("--value-loss must be bce or mse");
    if (c->threads < 1 || c->threads > 1024) BAD("--threads must be in [1, 1024], got %d", c->threads);
    if (c->eval_games < 0 || c->eval_games > 10000000)
        BAD("--eval-games must be in [0, 10000000], got %ld", c->eval_games);
    if (c->eval_playouts < 1 || c->eval_playouts > 1000000)
        BAD("--eval-playouts must be in [1, 1000000], got %d", c->eval_playouts);
    if (rps_config_check(&c->game) != NRPS_OK) return NRPS_ERR_ARG;
#undef BAD
    return arch_check(c);
}

/* ------------------------------------------------------------------------------------------------
 * Outputs
 * ---------------------------------------------------------------------------------------------- */

/* ONNX file of network i of n_nets. */
static const char *onnx_name(int n_nets, int i) {
    return n_nets == 1 ? "rps_net.onnx" : i ? "rps_value.onnx" : "rps_policy.onnx";
}

static void onnx_info_for(const train_state *s, onnx_net_info *info) {
    onnx_net_info_default(info);
    info->training_games = (long long)s->finished * s->cfg.games;
    info->seed = (long long)(s->cfg.seed & 0x7fffffffffffffffULL);
    snprintf(info->input_encoding, sizeof info->input_encoding, "%s", rps_encoding_name(s->cfg.encoding));
}

/* The current networks as models for self-play (out[0] policy or the two-headed network, out[1] value or NULL;
 * caller frees both). */
static nrps_status generation_models(const train_state *s, be_model *out[2]) {
    static const char *labels[2][2] = {{"training network", NULL},
                                       {"training policy network", "training value network"}};
    onnx_net_info info;
    onnx_info_for(s, &info);
    out[0] = out[1] = NULL;
    for (int i = 0; i < s->n_nets; i++) {
        nrps_status rc = be_model_from_net(&s->net[i], &info, labels[s->n_nets - 1][i], &out[i]);
        if (rc != NRPS_OK) return rc;
    }
    return NRPS_OK;
}

static nrps_status save_onnx(const train_state *s, const char *dir) {
    nrps_status rc = train_make_dirs(dir);
    onnx_net_info info;
    onnx_info_for(s, &info);
    for (int i = 0; rc == NRPS_OK && i < s->n_nets; i++) {
        char p[2100];
        snprintf(p, sizeof p, "%s/%s", dir, onnx_name(s->n_nets, i));
        rc = onnx_net_save(p, &s->net[i], &info);
    }
    return rc;
}

static void gen_dir(char *out, size_t n, const char *root, int g) { snprintf(out, n, "%s/generations/g%04d", root, g); }

/* summary.json's "models": the files and their architectures (nn_arch_describe). */
static void add_models(cJSON *o, const train_state *s) {
    cJSON *models = cJSON_AddObjectToObject(o, "models");
    static const char *keys[2][2] = {{"net", NULL}, {"policy", "value"}};
    for (int i = 0; models && i < s->n_nets; i++) {
        char arch[256], key[64];
        nn_arch_describe(&s->net[i].arch, arch, sizeof arch);
        cJSON_AddStringToObject(models, keys[s->n_nets - 1][i], onnx_name(s->n_nets, i));
        snprintf(key, sizeof key, "%s_architecture", keys[s->n_nets - 1][i]);
        cJSON_AddStringToObject(models, s->n_nets == 1 ? "architecture" : key, arch);
    }
}

static nrps_status write_summary(const train_state *s, int complete) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "format_version", 1);
    cJSON_AddStringToObject(o, "producer", "neural_rps " NRPS_VERSION " train");
    cJSON_AddBoolToObject(o, "complete", complete);
    cJSON_AddStringToObject(o, "run_id", s->run_id);
    cJSON_AddItemToObject(o, "config", train_config_json(&s->cfg));
    cJSON_AddNumberToObject(o, "finished_generations", s->finished);
    cJSON_AddNumberToObject(o, "training_games", (double)s->finished * (double)s->cfg.games);
    cJSON_AddNumberToObject(o, "total_seconds", s->elapsed);
    add_models(o, s);
    cJSON_AddItemToObject(o, "generations", cJSON_Duplicate(s->gens, 1));
    char *txt = cJSON_Print(o);
    cJSON_Delete(o);
    size_t len = txt ? strlen(txt) : 0;
    char *withnl = txt ? malloc(len + 2) : NULL;
    nrps_status rc = NRPS_ERR_NOMEM;
    if (withnl) {
        char p[2100];
        snprintf(p, sizeof p, "%s/summary.json", s->cfg.out_dir);
        memcpy(withnl, txt, len);
        withnl[len] = '\n';
        rc = nrps_write_file_atomic(p, withnl, len + 1);
    } else {
        nrps_set_error("summary: out of memory");
    }
    free(withnl);
    free(txt);
    return rc;
}

static nrps_status write_outputs(const train_state *s, int complete) {
    nrps_status rc = save_onnx(s, s->cfg.out_dir);
    if (rc == NRPS_OK) rc = write_summary(s, complete);
    return rc;
}

/* ------------------------------------------------------------------------------------------------
 * Arenas after each generation
 * ---------------------------------------------------------------------------------------------- */

typedef struct {
    long games;
    double score, lo, hi;
    int done;
} match_stat;

/* mcts-net (or with a_net_only the raw policy) on a_dir's networks against the same on b_dir's, or against
 * random when b_dir is NULL. Either layout: agent_spec_set_nets finds rps_net.onnx when the pair is absent. */
static nrps_status run_match(const train_config *cfg, const char *a_dir, const char *b_dir, int a_net_only,
                             uint64_t seed, match_stat *ms) {
    memset(ms, 0, sizeof *ms);
    arena_config ac;
    memset(&ac, 0, sizeof ac);
    char spec[64];
    if (a_net_only) snprintf(spec, sizeof spec, "net");
    else snprintf(spec, sizeof spec, "mcts-net:%d", cfg->eval_playouts);
    nrps_status rc = agent_spec_parse(spec, &ac.a);
    if (rc != NRPS_OK) return rc;
    agent_spec_set_nets(&ac.a, a_dir, cfg->backend);
    if (b_dir) {
        if ((rc = agent_spec_parse(spec, &ac.b)) != NRPS_OK) return rc;
        agent_spec_set_nets(&ac.b, b_dir, cfg->backend);
    } else if ((rc = agent_spec_parse("random", &ac.b)) != NRPS_OK) {
        return rc;
    }
    ac.game = cfg->game;
    ac.games = cfg->eval_games;
    ac.seed = seed;
    ac.threads = cfg->threads;
    ac.progress = 0;
    ac.distributed = cfg->mpi;
    arena_result ar;
    memset(&ar, 0, sizeof ar);
    rc = arena_run(&ac, &ar);
    if (rc == NRPS_OK) {
        ms->games = ar.games;
        ms->score = ar.score;
        ms->lo = ar.score_lo;
        ms->hi = ar.score_hi;
        ms->done = 1;
    }
    arena_result_free(&ar);
    return rc;
}

static cJSON *match_json(const match_stat *m) {
    if (!m->done) return cJSON_CreateNull();
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "games", (double)m->games);
    cJSON_AddNumberToObject(o, "score", m->score);
    cJSON_AddNumberToObject(o, "score_lo", m->lo);
    cJSON_AddNumberToObject(o, "score_hi", m->hi);
    return o;
}

static void match_text(char *buf, size_t n, const char *label, const match_stat *m) {
    if (!m->done) snprintf(buf, n, "  %s -", label);
    else snprintf(buf, n, "  %s %.1f%% [%.1f, %.1f]", label, 100 * m->score, 100 * m->lo, 100 * m->hi);
}

/* ------------------------------------------------------------------------------------------------
 * One generation
 * ---------------------------------------------------------------------------------------------- */

/* What one generation did, for summary.json and its stdout line. */
typedef struct {
    int g;
    char label[64];
    selfplay_stats sst;
    long distinct;                   /* positions in the training set */
    float lr;
    double policy_loss, value_loss;  /* last epoch's means (two heads: unweighted head losses) */
    double loss;                     /* two heads: the weighted total; NAN otherwise */
    match_stat prev, rnd, net;
    double t0, t1, t2, t3;           /* start, self-play done, training done, arenas done */
} gen_report;

static float lr_for(const train_config *c, int g) {
    if (c->lr_final <= 0 || c->generations <= 1) return (float)c->lr;
    double f = (double)(g - 1) / (c->generations - 1);
    if (f > 1) f = 1;
    return (float)(c->lr + (c->lr_final - c->lr) * f);
}

static selfplay_config selfplay_config_for(const train_config *cfg, const char *label) {
    selfplay_config sc;
    memset(&sc, 0, sizeof sc);
    sc.game = cfg->game;
    sc.mcts = mcts_config_default();
    sc.mcts.playouts = cfg->playouts;
    sc.mcts.c_puct = cfg->c_puct;
    sc.mcts.batch = cfg->mcts_batch;
    sc.mcts.dirichlet_alpha = cfg->dirichlet_alpha;
    sc.mcts.dirichlet_weight = cfg->dirichlet_weight;
    sc.mcts.temperature = cfg->temperature;
    sc.mcts.temperature_plies = cfg->temperature_plies;
    sc.mcts.reuse_tree = 1;
    sc.enc = cfg->encoding;
    sc.threads = cfg->threads;
    sc.seed = cfg->seed;
    sc.random_share = cfg->random_share;
    sc.progress = cfg->progress;
    sc.label = label;
    sc.backend = cfg->backend;
    sc.distributed = cfg->mpi;
    return sc;
}

/* Self-play with the current networks; the samples join the replay window (which is only committed with the
 * checkpoint, so an interrupted generation leaves nothing behind). Under --mpi COLLECTIVE: every rank plays its
 * share and only rank 0 gets samples (and a window). */
static nrps_status play_generation(train_state *s, gen_report *r) {
    const train_config *cfg = &s->cfg;
    selfplay_config sc = selfplay_config_for(cfg, r->label);
    be_model *gm[2] = {NULL, NULL};
    sp_sample *samples = NULL;
    long ns = 0;
    nrps_status rc = generation_models(s, gm);
    if (cfg->mpi) rc = nrps_dist_agree(rc);
    if (rc == NRPS_OK) rc = selfplay_run(&sc, gm[0], gm[1], r->g, cfg->games, &samples, &ns, &r->sst);
    be_model_free(gm[0]);
    be_model_free(gm[1]);
    if (rc == NRPS_OK && samples) replay_add(&s->rb, r->g, samples, ns);
    return rc;
}

/* cfg->epochs epochs over the window's training set: the policy then the value network per epoch (one shuffle
 * stream for both), or the two-headed network on both targets. */
static nrps_status fit_generation(train_state *s, gen_report *r) {
    const train_config *cfg = &s->cfg;
    replay_dataset ds;
    nrps_status rc = replay_build(&s->rb, &ds);
    if (rc != NRPS_OK) return rc;
    r->distinct = ds.n;
    r->lr = lr_for(cfg, r->g);
    r->policy_loss = r->value_loss = r->loss = NAN;
    nrps_rng trng;
    nrps_rng_seed(&trng, train_derive_seed(cfg->seed, r->g, 2));
    for (int i = 0; i < s->n_nets; i++) nn_trainer_set_lr(s->tr[i], r->lr);
    if (ds.n > INT_MAX) { /* nn_trainer_fit_epoch counts samples in int */
        nrps_set_error("train: %ld distinct positions in the replay window, more than %d", ds.n, INT_MAX);
        rc = NRPS_ERR_ARG;
    }
    const float *tp[1] = {ds.tp}, *tv[1] = {ds.tv}, *both[2] = {ds.tp, ds.tv};
    for (int e = 0; rc == NRPS_OK && e < cfg->epochs; e++) {
        if (cfg->progress) {
            fprintf(stderr, "\r%s  training epoch %d/%d on %ld position%s   ", r->label, e + 1, cfg->epochs, ds.n,
                    ds.n == 1 ? "" : "s");
            fflush(stderr);
        }
        double hl[2] = {NAN, NAN};
        if (s->n_nets == 1) {
            rc = nn_trainer_fit_epoch(s->tr[0], ds.x, both, (int)ds.n, &trng, &r->loss, hl);
            r->policy_loss = hl[0];
            r->value_loss = hl[1];
        } else {
            rc = nn_trainer_fit_epoch(s->tr[0], ds.x, tp, (int)ds.n, &trng, &r->policy_loss, NULL);
            if (rc == NRPS_OK) rc = nn_trainer_fit_epoch(s->tr[1], ds.x, tv, (int)ds.n, &trng, &r->value_loss, NULL);
        }
    }
    if (cfg->progress) fprintf(stderr, "\r\033[K");
    replay_dataset_free(&ds);
    return rc;
}

/* The arenas after a finished generation on gd's networks: vs the previous generation's (prev), vs random, the raw
 * policy vs random. pre: this process's status so far (under --mpi COLLECTIVE: agreed before the first game).
 * NRPS_ERR_INTERRUPTED leaves the unplayed ones out. */
static nrps_status eval_generation(const train_config *cfg, gen_report *r, const char *gd, const char *prev,
                                   nrps_status pre) {
    if (cfg->mpi) pre = nrps_dist_agree(pre);
    if (pre != NRPS_OK) return pre;
    if (cfg->progress)
        fprintf(stderr, "\r%s  arenas (%ld game%s each)   ", r->label, cfg->eval_games,
                cfg->eval_games == 1 ? "" : "s");
    uint64_t es = train_derive_seed(cfg->seed, r->g, 3);
    nrps_status rc = run_match(cfg, gd, prev, 0, es, &r->prev);
    if (rc == NRPS_OK) rc = run_match(cfg, gd, NULL, 0, es + 1, &r->rnd);
    if (rc == NRPS_OK) rc = run_match(cfg, gd, NULL, 1, es + 2, &r->net);
    if (cfg->progress) fprintf(stderr, "\r\033[K");
    return rc;
}

static cJSON *report_json(const train_state *s, const gen_report *r, double end) {
    cJSON *gs = cJSON_CreateObject();
    const selfplay_stats *st = &r->sst;
    cJSON_AddNumberToObject(gs, "generation", r->g);
    cJSON_AddNumberToObject(gs, "games", (double)st->games);
    cJSON_AddNumberToObject(gs, "games_per_second", st->seconds > 0 ? st->games / st->seconds : 0);
    cJSON_AddNumberToObject(gs, "positions", (double)st->positions);
    cJSON_AddNumberToObject(gs, "p1_wins", (double)st->p1_wins);
    cJSON_AddNumberToObject(gs, "p2_wins", (double)st->p2_wins);
    cJSON_AddNumberToObject(gs, "draws", (double)st->draws);
    cJSON_AddNumberToObject(gs, "window_samples", (double)replay_sample_count(&s->rb));
    cJSON_AddNumberToObject(gs, "window_positions", (double)r->distinct);
    cJSON_AddNumberToObject(gs, "lr", r->lr);
    cJSON_AddNumberToObject(gs, "policy_loss", r->policy_loss);
    cJSON_AddNumberToObject(gs, "value_loss", r->value_loss);
    if (s->n_nets == 1) cJSON_AddNumberToObject(gs, "loss", r->loss);
    cJSON_AddItemToObject(gs, "vs_previous", match_json(&r->prev));
    cJSON_AddItemToObject(gs, "vs_random", match_json(&r->rnd));
    cJSON_AddItemToObject(gs, "net_vs_random", match_json(&r->net));
    cJSON_AddNumberToObject(gs, "selfplay_seconds", r->t1 - r->t0);
    cJSON_AddNumberToObject(gs, "train_seconds", r->t2 - r->t1);
    cJSON_AddNumberToObject(gs, "eval_seconds", r->t3 - r->t2);
    cJSON_AddNumberToObject(gs, "seconds", end - r->t0);
    cJSON_AddNumberToObject(gs, "processes", nrps_dist_size());
    return gs;
}

static void report_print(const train_state *s, const gen_report *r, double end) {
    char a[96], b[96], c[96];
    match_text(a, sizeof a, "vs prev", &r->prev);
    match_text(b, sizeof b, "vs random", &r->rnd);
    match_text(c, sizeof c, "net vs random", &r->net);
    const selfplay_stats *st = &r->sst;
    /* within the terminal's width (100 columns off a terminal): the counts, then the losses and the arenas */
    printf("gen %3d/%d  games %ld  %.1f games/s  positions %ld (window %ld, %ld distinct)  %.1f s\n", r->g,
           s->cfg.generations, st->games, st->seconds > 0 ? st->games / st->seconds : 0.0, st->positions,
           replay_sample_count(&s->rb), r->distinct, end - r->t0);
    char line[400];
    snprintf(line, sizeof line, "  loss policy %.4f value %.4f%s%s", r->policy_loss, r->value_loss, a, b);
    if (strlen(line) + strlen(c) <= (size_t)nrps_term_width(stdout)) printf("%s%s\n", line, c);
    else printf("%s\n%s\n", line, c);
    fflush(stdout);
}

/* ------------------------------------------------------------------------------------------------
 * Over MPI: rank 0 leads, the other ranks follow (train.h)
 * ---------------------------------------------------------------------------------------------- */

/* What rank 0 tells the other ranks to do next. */
typedef enum { STEP_STOP = 0, STEP_RUN = 1, STEP_SELFPLAY = 2, STEP_EVAL = 3 } step_kind;
typedef struct {
    int32_t kind; /* step_kind */
    int32_t gen;  /* STEP_SELFPLAY / STEP_EVAL: the generation; STEP_STOP: generations finished */
    int32_t rc;   /* STEP_STOP: the run's status */
} train_step;

/* Rank 0: the next step to every rank (no-op without --mpi). COLLECTIVE. */
static void lead_step(const train_config *cfg, step_kind kind, int gen, nrps_status rc) {
    if (!cfg->mpi) return;
    train_step st = {kind, gen, rc};
    nrps_dist_bcast(&st, sizeof st);
}

/* Rank 0's networks into every rank's s->net (same architectures); no-op without --mpi. COLLECTIVE. */
static void share_nets(train_state *s) {
    if (!s->cfg.mpi) return;
    for (int i = 0; i < s->n_nets; i++) nrps_dist_bcast(s->net[i].params, s->net[i].n_params * sizeof(float));
}

/* Rank 0, once the run is set up: the configuration to every rank, and whether each could build its networks.
 * COLLECTIVE (no-op without --mpi). */
static nrps_status lead_run(train_state *s) {
    if (!s->cfg.mpi) return NRPS_OK;
    lead_step(&s->cfg, STEP_RUN, s->finished, NRPS_OK);
    train_config c = s->cfg;
    nrps_dist_bcast(&c, sizeof c);
    return nrps_dist_agree(NRPS_OK);
}

/* Generation s->finished + 1: self-play, training, its networks saved, arenas, statistics, checkpoint. */
static nrps_status run_generation(train_state *s) {
    gen_report r;
    memset(&r, 0, sizeof r);
    r.g = s->finished + 1;
    snprintf(r.label, sizeof r.label, "gen %d/%d", r.g, s->cfg.generations);
    r.t0 = nrps_now_s();
    lead_step(&s->cfg, STEP_SELFPLAY, r.g, NRPS_OK);
    share_nets(s);
    nrps_status rc = play_generation(s, &r);
    r.t1 = nrps_now_s();
    if (rc == NRPS_OK) rc = fit_generation(s, &r);
    r.t2 = nrps_now_s();
    if (rc != NRPS_OK) return rc;
    s->finished = r.g; /* from here on the generation is finished: it is saved even after SIGINT */
    char gd[1600];
    gen_dir(gd, sizeof gd, s->cfg.out_dir, r.g);
    if ((rc = save_onnx(s, gd)) != NRPS_OK) return rc;
    nrps_status erc = NRPS_OK;
    if (s->cfg.eval_games > 0 && !nrps_interrupted) {
        char prev[1600];
        gen_dir(prev, sizeof prev, s->cfg.out_dir, r.g - 1);
        lead_step(&s->cfg, STEP_EVAL, r.g, NRPS_OK);
        share_nets(s);
        erc = eval_generation(&s->cfg, &r, gd, prev, NRPS_OK);
    }
    if (erc != NRPS_OK && erc != NRPS_ERR_INTERRUPTED) return erc;
    r.t3 = nrps_now_s();
    double end = nrps_now_s();
    cJSON_AddItemToArray(s->gens, report_json(s, &r, end));
    s->elapsed += end - r.t0;
    if ((rc = train_checkpoint_write(s)) != NRPS_OK) return rc;
    if ((rc = write_outputs(s, s->finished >= s->cfg.generations)) != NRPS_OK) return rc;
    if (!s->cfg.quiet) report_print(s, &r, end);
    return erc;
}

/* ------------------------------------------------------------------------------------------------
 * The loop
 * ---------------------------------------------------------------------------------------------- */

/* Continues the run in out: the stored configuration rules; generations, threads, eval and display settings
 * and the backend come from cfg_in. */
static nrps_status resume_run(const train_config *cfg_in, train_state *s) {
    nrps_status rc = train_checkpoint_read(cfg_in->out_dir, s);
    if (rc != NRPS_OK) return rc;
    train_config c = s->cfg;
    c.generations = cfg_in->generations;
    c.threads = cfg_in->threads;
    c.eval_games = cfg_in->eval_games;
    c.eval_playouts = cfg_in->eval_playouts;
    c.progress = cfg_in->progress;
    c.quiet = cfg_in->quiet;
    snprintf(c.backend, sizeof c.backend, "%s", cfg_in->backend);
    snprintf(c.out_dir, sizeof c.out_dir, "%s", cfg_in->out_dir);
    c.mpi = cfg_in->mpi;
    s->cfg = c;
    if ((rc = train_config_check(&s->cfg)) != NRPS_OK) return rc;
    if (s->unbound) { /* from before run ids: nothing binds its files; from now on they are */
        train_new_run_id(s->run_id);
        fprintf(stderr,
                "train: warning: the checkpoint in %s/checkpoint was written by an older version without run ids: "
                "resuming without checking that its files belong together (new run id %s)\n",
                c.out_dir, s->run_id);
    }
    if (!s->cfg.quiet)
        printf("train: resuming %s after generation %d of %d\n", c.out_dir, s->finished, s->cfg.generations);
    return NRPS_OK;
}

/* A new run in cfg->out_dir is refused when it holds one. */
static nrps_status accept_fresh(const train_config *cfg) {
    char p[2100];
    snprintf(p, sizeof p, "%s/checkpoint/LATEST", cfg->out_dir);
    if (access(p, F_OK) != 0) return NRPS_OK;
    nrps_set_error("%s already holds a training run (use --resume to continue it, or another --out)", cfg->out_dir);
    return NRPS_ERR_ARG;
}

/* A new run in cfg->out_dir (accepted): generation 0's networks and checkpoint. */
static nrps_status start_run(const train_config *cfg, train_state *s) {
    char p[2100];
    nrps_status rc = train_state_fresh(cfg, s);
    gen_dir(p, sizeof p, cfg->out_dir, 0);
    if (rc == NRPS_OK) rc = save_onnx(s, p);
    if (rc == NRPS_OK) rc = train_checkpoint_write(s);
    if (rc != NRPS_OK || cfg->quiet) return rc;
    nn_arch a[2];
    char d[2][256];
    int n = train_config_archs(cfg, a);
    for (int i = 0; i < n; i++) nn_arch_describe(&a[i], d[i], sizeof d[i]);
    char procs[64] = "";
    if (cfg->mpi) snprintf(procs, sizeof procs, " x %d MPI process%s", nrps_dist_size(), nrps_dist_size() == 1 ? "" : "es");
    nrps_wrapf(stdout, 0, 7, "train: %s  %d generation%s x %ld game%s, %d playout%s, %s %s%s%s, %s encoding, seed %llu, %d thread%s%s",
           cfg->out_dir, cfg->generations, cfg->generations == 1 ? "" : "s", cfg->games, cfg->games == 1 ? "" : "s",
           cfg->playouts, cfg->playouts == 1 ? "" : "s", n == 1 ? "network" : "policy", d[0],
           n == 1 ? "" : ", value ", n == 1 ? "" : d[1], rps_encoding_name(cfg->encoding),
           (unsigned long long)cfg->seed, cfg->threads, cfg->threads == 1 ? "" : "s", procs);
    fflush(stdout);
    return NRPS_OK;
}

/* train_run on rank 0 (or without --mpi): the loop. */
static nrps_status lead_train(const train_config *cfg_in, int resume, int *finished) {
    train_state s;
    memset(&s, 0, sizeof s);
    if (finished) *finished = 0;
    nrps_status rc = train_config_check(cfg_in);
    if (rc != NRPS_OK) return rc;
    const char *out = cfg_in->out_dir;
    train_lock lk;
    memset(&lk, 0, sizeof lk);
    lk.fd = -1;
    double t_start = nrps_now_s();
    struct stat sb;
    if (resume && stat(out, &sb) != 0) { /* --resume creates nothing */
        nrps_set_error("%s: no checkpoint (missing %s/checkpoint/LATEST)", out, out);
        rc = NRPS_ERR_IO;
        goto cleanup;
    }
    /* the folder, then its lock, before anything in it is read or written; then it is accepted; only then are
     * the earlier runs' temp files removed and the run writes */
    if ((!resume && (rc = train_make_dirs(out)) != NRPS_OK) || (rc = train_lock_acquire(out, &lk)) != NRPS_OK)
        goto cleanup;
    if ((rc = resume ? resume_run(cfg_in, &s) : accept_fresh(cfg_in)) != NRPS_OK) goto cleanup;
    train_lock_sweep(&lk);
    if (!resume && (rc = start_run(cfg_in, &s)) != NRPS_OK) goto cleanup;
    if ((rc = write_outputs(&s, s.finished >= s.cfg.generations)) != NRPS_OK) goto cleanup;
    if ((rc = lead_run(&s)) != NRPS_OK) goto cleanup;
    s.elapsed += nrps_now_s() - t_start;
    while (rc == NRPS_OK && s.finished < s.cfg.generations)
        rc = nrps_interrupted ? NRPS_ERR_INTERRUPTED : run_generation(&s);
cleanup:
    if (rc == NRPS_ERR_INTERRUPTED)
        nrps_set_error("interrupted after generation %d of %d (checkpoint saved in %s; continue with --resume)",
                       s.finished, s.cfg.generations, out);
    if (finished) *finished = s.finished;
    train_state_free(&s);
    train_lock_release(&lk);
    return rc;
}

/* ------------------------------------------------------------------------------------------------
 * Ranks 1 .. N-1 of an --mpi run
 * ---------------------------------------------------------------------------------------------- */

/* A follower's private folder for the networks of the evaluation games: ROOT/cur (the generation just trained)
 * and ROOT/prev (the one before), made at the first evaluation, removed at the end. */
typedef struct {
    char root[512];
    int made;
} follow_dirs;

static nrps_status follow_dirs_make(follow_dirs *d) {
    if (d->made) return NRPS_OK;
    const char *tmp = getenv("TMPDIR");
    snprintf(d->root, sizeof d->root, "%s/nrps-train-rank%d-XXXXXX", tmp && *tmp ? tmp : "/tmp", nrps_dist_rank());
    if (!mkdtemp(d->root)) {
        nrps_set_error("cannot make a temp folder %s: %s", d->root, strerror(errno));
        return NRPS_ERR_IO;
    }
    d->made = 1;
    return NRPS_OK;
}

static void follow_dirs_remove(follow_dirs *d) {
    static const char *sub[] = {"cur", "prev"}, *files[] = {"rps_policy.onnx", "rps_value.onnx", "rps_net.onnx"};
    char p[700];
    for (int i = 0; d->made && i < 2; i++) {
        for (int f = 0; f < 3; f++) {
            snprintf(p, sizeof p, "%s/%s/%s", d->root, sub[i], files[f]);
            unlink(p);
        }
        snprintf(p, sizeof p, "%s/%s", d->root, sub[i]);
        rmdir(p);
    }
    if (d->made) rmdir(d->root);
    d->made = 0;
}

/* STEP_EVAL of generation g: the networks this rank played g with into prev, rank 0's new ones into cur, then the
 * arenas with rank 0. COLLECTIVE. */
static void follow_eval(train_state *s, follow_dirs *d, int g) {
    char cur[600], prev[600];
    nrps_status rc = follow_dirs_make(d);
    snprintf(cur, sizeof cur, "%s/cur", d->root);
    snprintf(prev, sizeof prev, "%s/prev", d->root);
    if (rc == NRPS_OK) rc = save_onnx(s, prev);
    share_nets(s);
    if (rc == NRPS_OK) rc = save_onnx(s, cur);
    gen_report r;
    memset(&r, 0, sizeof r);
    r.g = g;
    eval_generation(&s->cfg, &r, cur, prev, rc); /* its status is rank 0's to act on */
}

/* STEP_RUN: rank 0's configuration (this rank's threads; no output, no progress) and networks of its shapes. */
static nrps_status follow_state(const train_config *cfg_in, train_state *s) {
    nrps_dist_bcast(&s->cfg, sizeof s->cfg);
    s->cfg.threads = cfg_in->threads;
    s->cfg.progress = 0;
    s->cfg.quiet = 1;
    s->cfg.mpi = 1;
    nn_arch a[2];
    s->n_nets = train_config_archs(&s->cfg, a);
    nrps_status rc = NRPS_OK;
    for (int i = 0; rc == NRPS_OK && i < s->n_nets; i++) rc = nn_init(&s->net[i], &a[i]);
    return nrps_dist_agree(rc);
}

/* Ranks 1 .. N-1: rank 0's steps until STEP_STOP, whose status is returned. Failures of this rank reach rank 0
 * through the steps' collectives; rank 0 then stops the run. */
static nrps_status train_follow(const train_config *cfg_in, int *finished) {
    train_state s;
    memset(&s, 0, sizeof s);
    follow_dirs d;
    memset(&d, 0, sizeof d);
    train_step st;
    for (;;) {
        nrps_dist_bcast(&st, sizeof st);
        if (st.kind == STEP_STOP) break;
        if (st.kind == STEP_RUN) {
            follow_state(cfg_in, &s);
        } else if (st.kind == STEP_SELFPLAY) {
            gen_report r;
            memset(&r, 0, sizeof r);
            r.g = st.gen;
            share_nets(&s);
            play_generation(&s, &r);
        } else if (st.kind == STEP_EVAL) {
            follow_eval(&s, &d, st.gen);
        }
    }
    follow_dirs_remove(&d);
    train_state_free(&s);
    if (finished) *finished = st.gen;
    if (st.rc == NRPS_ERR_INTERRUPTED) nrps_set_error("stopped by rank 0 (interrupted)");
    else if (st.rc != NRPS_OK) nrps_set_error("stopped by rank 0 after a failure (rank 0 reports it)");
    return (nrps_status)st.rc;
}

nrps_status train_run(const train_config *cfg, int resume, int *finished) {
    if (cfg->mpi && nrps_dist_rank() != 0) return train_follow(cfg, finished);
    int fin = 0;
    nrps_status rc = lead_train(cfg, resume, &fin);
    lead_step(cfg, STEP_STOP, fin, rc);
    if (finished) *finished = fin;
    return rc;
}
