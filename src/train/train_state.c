/* train_state.c - a training run's state and its checkpoint folder: the configuration as JSON, state.bin (run
 * state + replay window), the network checkpoints (nn_train.h) and LATEST (see train_state.h, train.h). */
#include "train/train_state.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "train/selfplay.h"
#include "util/bytes.h"

#define STATE_MAGIC "NRPSTRST"
#define STATE_VERSION 3u /* 3: the run id after the elapsed time */
#define STATE_VERSION_UNBOUND 2u /* 2: 64-bit sample keys (hands encoding); the architecture lives in the JSON
                                    record; no run id (still read) */
#define STATE_MAX_BYTES (1024L * 1024 * 1024)
#define SAMPLE_BYTES (8 + 4 * RPS_POLICY_SIZE + 4)

/* state.bin's checksum: FNV-1a 64 with the standard offset basis (the network checkpoints use nrps_fnv1a64's);
 * kept so that every state.bin already written stays readable. */
static uint64_t state_checksum(const void *d, size_t n) { return nrps_fnv1a64_from(d, n, 0xcbf29ce484222325ULL); }

void train_new_run_id(char out[TRAIN_RUN_ID_LEN + 1]) {
    unsigned char r[TRAIN_RUN_ID_LEN / 2];
    size_t got = 0;
    while (got < sizeof r) {
        ssize_t n = getrandom(r + got, sizeof r - got, 0);
        if (n > 0) got += (size_t)n;
        else if (n < 0 && errno != EINTR) break;
    }
    if (got < sizeof r) { /* no getrandom (old kernel): the clock, the pid and the address space's layout */
        uint64_t a = nrps_now_ns() ^ ((uint64_t)getpid() << 32), b = (uint64_t)(uintptr_t)&got ^ (uint64_t)time(NULL);
        for (size_t i = 0; i < sizeof r; i++) {
            a = selfplay_game_seed(a, (int)i, (long)b);
            r[i] = (unsigned char)(a >> 24);
        }
    }
    for (size_t i = 0; i < sizeof r; i++) snprintf(out + 2 * i, 3, "%02x", r[i]);
}

/* A run id as train_new_run_id makes them. */
static int run_id_valid(const char *id, size_t n) {
    if (n != TRAIN_RUN_ID_LEN) return 0;
    for (size_t i = 0; i < n; i++)
        if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f'))) return 0;
    return 1;
}

uint64_t train_derive_seed(uint64_t seed, int gen, long stream) {
    return selfplay_game_seed(seed ^ 0xa5a5f00dULL, gen, stream);
}

nrps_status train_make_dirs(const char *path) {
    char buf[2048];
    snprintf(buf, sizeof buf, "%s", path);
    size_t len = strlen(buf);
    for (size_t i = 1; i <= len; i++) {
        if (buf[i] != '/' && buf[i] != '\0') continue;
        char c = buf[i];
        buf[i] = '\0';
        if (mkdir(buf, 0777) != 0 && errno != EEXIST) {
            nrps_set_error("%s: cannot create folder: %s", buf, strerror(errno));
            return NRPS_ERR_IO;
        }
        buf[i] = c;
    }
    struct stat sb;
    if (stat(path, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        nrps_set_error("%s: not a folder", path);
        return NRPS_ERR_IO;
    }
    return NRPS_OK;
}

/* ------------------------------------------------------------------------------------------------
 * Configuration <-> JSON
 * ---------------------------------------------------------------------------------------------- */

static void add_widths(cJSON *o, const char *key, const train_widths *w) {
    cJSON *a = cJSON_AddArrayToObject(o, key);
    for (int i = 0; a && i < w->n; i++) cJSON_AddItemToArray(a, cJSON_CreateNumber(w->w[i]));
}

/* The architecture keys: heads, layers, then value_layers (separate) or the heads and their loss weights. */
static void add_arch(cJSON *o, const train_config *c) {
    cJSON_AddStringToObject(o, "heads", train_heads_name(c->heads));
    add_widths(o, "layers", &c->layers);
    if (c->heads == TRAIN_HEADS_SEPARATE) {
        add_widths(o, "value_layers", &c->value_layers);
        return;
    }
    add_widths(o, "policy_head", &c->policy_head);
    add_widths(o, "value_head", &c->value_head);
    cJSON_AddNumberToObject(o, "policy_weight", c->policy_weight);
    cJSON_AddNumberToObject(o, "value_weight", c->value_weight);
}

cJSON *train_config_json(const train_config *c) {
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    cJSON_AddNumberToObject(o, "deck", c->game.deck_size);
    cJSON_AddNumberToObject(o, "hand", c->game.hand_size);
    cJSON_AddNumberToObject(o, "rounds", c->game.max_rounds);
    cJSON_AddNumberToObject(o, "generations", c->generations);
    cJSON_AddNumberToObject(o, "games", (double)c->games);
    cJSON_AddNumberToObject(o, "playouts", c->playouts);
    cJSON_AddNumberToObject(o, "mcts_batch", c->mcts_batch);
    cJSON_AddNumberToObject(o, "c_puct", c->c_puct);
    cJSON_AddNumberToObject(o, "dirichlet_alpha", c->dirichlet_alpha);
    cJSON_AddNumberToObject(o, "dirichlet_weight", c->dirichlet_weight);
    cJSON_AddNumberToObject(o, "temperature", c->temperature);
    cJSON_AddNumberToObject(o, "temperature_plies", c->temperature_plies);
    cJSON_AddNumberToObject(o, "random_opponent_share", c->random_share);
    add_arch(o, c);
    cJSON_AddStringToObject(o, "input_encoding", rps_encoding_name(c->encoding));
    cJSON_AddNumberToObject(o, "lr", c->lr);
    cJSON_AddNumberToObject(o, "lr_final", c->lr_final);
    cJSON_AddNumberToObject(o, "weight_decay", c->weight_decay);
    cJSON_AddNumberToObject(o, "batch", c->batch);
    cJSON_AddNumberToObject(o, "epochs", c->epochs);
    cJSON_AddNumberToObject(o, "window", c->window);
    cJSON_AddStringToObject(o, "value_loss", c->value_loss == NN_LOSS_BCE ? "bce" : "mse");
    char seed[32];
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)c->seed);
    cJSON_AddStringToObject(o, "seed", seed);
    cJSON_AddNumberToObject(o, "threads", c->threads);
    cJSON_AddNumberToObject(o, "eval_games", (double)c->eval_games);
    cJSON_AddNumberToObject(o, "eval_playouts", c->eval_playouts);
    return o;
}

static int json_num(const cJSON *o, const char *k, double *v) {
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, k);
    if (!cJSON_IsNumber(it)) return 0;
    *v = it->valuedouble;
    return 1;
}

/* o[key] as a width list: an array of at most NN_MAX_LAYERS - 1 integers in [1, TRAIN_WIDTH_MAX]. */
static int json_widths(const cJSON *o, const char *key, train_widths *w) {
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) > NN_MAX_LAYERS - 1) return 0;
    train_widths r = {0};
    for (const cJSON *it = a->child; it; it = it->next) {
        double v = it->valuedouble;
        if (!cJSON_IsNumber(it) || v != floor(v) || v < 1 || v > TRAIN_WIDTH_MAX) return 0;
        r.w[r.n++] = (int)v;
    }
    *w = r;
    return 1;
}

/* The architecture keys; a record without "heads" is from before the architecture flags: separate networks with
 * one hidden layer each (hidden_policy, hidden_value). Keys of the other layout keep their defaults. */
static int arch_from_json(const cJSON *o, train_config *c) {
    const train_config d = train_config_default();
    c->value_layers = d.value_layers;
    c->policy_head = d.policy_head;
    c->value_head = d.value_head;
    c->policy_weight = d.policy_weight;
    c->value_weight = d.value_weight;
    const cJSON *h = cJSON_GetObjectItemCaseSensitive(o, "heads");
    double hp, hv;
    if (!h) {
        if (!json_num(o, "hidden_policy", &hp) || !json_num(o, "hidden_value", &hv)) return 0;
        c->heads = TRAIN_HEADS_SEPARATE;
        c->layers = (train_widths){1, {(int)hp}};
        c->value_layers = (train_widths){1, {(int)hv}};
        return 1;
    }
    if (!cJSON_IsString(h) || !train_heads_parse(h->valuestring, &c->heads) || !json_widths(o, "layers", &c->layers))
        return 0;
    if (c->heads == TRAIN_HEADS_SEPARATE) return json_widths(o, "value_layers", &c->value_layers);
    return json_widths(o, "policy_head", &c->policy_head) && json_widths(o, "value_head", &c->value_head) &&
           json_num(o, "policy_weight", &c->policy_weight) && json_num(o, "value_weight", &c->value_weight);
}

static int strings_from_json(const cJSON *o, train_config *c) {
    const cJSON *en = cJSON_GetObjectItemCaseSensitive(o, "input_encoding");
    if (!cJSON_IsString(en) || !en->valuestring[0] || !rps_encoding_parse(en->valuestring, &c->encoding)) return 0;
    const cJSON *vl = cJSON_GetObjectItemCaseSensitive(o, "value_loss");
    const cJSON *sd = cJSON_GetObjectItemCaseSensitive(o, "seed");
    if (!cJSON_IsString(vl) || !cJSON_IsString(sd)) return 0;
    if (!strcmp(vl->valuestring, "bce")) c->value_loss = NN_LOSS_BCE;
    else if (!strcmp(vl->valuestring, "mse")) c->value_loss = NN_LOSS_MSE;
    else return 0;
    char *end = NULL;
    errno = 0;
    unsigned long long s = strtoull(sd->valuestring, &end, 10);
    if (errno || !end || *end || end == sd->valuestring) return 0;
    c->seed = (uint64_t)s;
    return 1;
}

static int config_from_json(const cJSON *o, train_config *c) {
    double v;
#define GETI(key, field)                                                                                         \
    if (!json_num(o, key, &v)) return 0;                                                                         \
    c->field = (int)v;
#define GETL(key, field)                                                                                         \
    if (!json_num(o, key, &v)) return 0;                                                                         \
    c->field = (long)v;
#define GETD(key, field)                                                                                         \
    if (!json_num(o, key, &v)) return 0;                                                                         \
    c->field = v;
    GETI("deck", game.deck_size) GETI("hand", game.hand_size) GETI("rounds", game.max_rounds)
    GETI("generations", generations) GETL("games", games) GETI("playouts", playouts)
    GETI("mcts_batch", mcts_batch) GETD("c_puct", c_puct) GETD("dirichlet_alpha", dirichlet_alpha)
    GETD("dirichlet_weight", dirichlet_weight) GETD("temperature", temperature)
    GETI("temperature_plies", temperature_plies) GETD("lr", lr) GETD("lr_final", lr_final)
    GETD("weight_decay", weight_decay) GETI("batch", batch) GETI("epochs", epochs) GETI("window", window)
    GETI("threads", threads) GETL("eval_games", eval_games) GETI("eval_playouts", eval_playouts)
    c->random_share = json_num(o, "random_opponent_share", &v) ? v : 0.0;
#undef GETI
#undef GETL
#undef GETD
    return arch_from_json(o, c) && strings_from_json(o, c);
}

/* ------------------------------------------------------------------------------------------------
 * The state in memory
 * ---------------------------------------------------------------------------------------------- */

/* The trainer settings of network i. */
static nn_train_config trainer_config(const train_config *cfg, int n_nets, int i) {
    nn_train_config tc = nn_train_config_default();
    tc.lr = (float)cfg->lr;
    tc.weight_decay = (float)cfg->weight_decay;
    tc.max_batch = cfg->batch; /* the minibatch of nn_trainer_fit_epoch */
    tc.value_loss = n_nets == 2 && i == 0 ? NN_LOSS_MSE : cfg->value_loss; /* the policy network has no sigmoid */
    if (n_nets == 1) {
        tc.head_weight[0] = (float)cfg->policy_weight;
        tc.head_weight[1] = (float)cfg->value_weight;
    }
    return tc;
}

nrps_status train_state_fresh(const train_config *cfg, train_state *s) {
    s->cfg = *cfg;
    train_new_run_id(s->run_id);
    replay_init(&s->rb, cfg->window);
    if (!(s->gens = cJSON_CreateArray())) {
        nrps_set_error("train: out of memory");
        return NRPS_ERR_NOMEM;
    }
    nn_arch a[2];
    s->n_nets = train_config_archs(cfg, a);
    nrps_rng rng;
    nrps_rng_seed(&rng, train_derive_seed(cfg->seed, 0, 1));
    for (int i = 0; i < s->n_nets; i++) {
        nrps_status rc = nn_init(&s->net[i], &a[i]);
        if (rc != NRPS_OK) return rc;
        nn_init_random(&s->net[i], &rng); /* the policy's weights first, then the value's, from one stream */
    }
    for (int i = 0; i < s->n_nets; i++) {
        nn_train_config tc = trainer_config(cfg, s->n_nets, i);
        if (!(s->tr[i] = nn_trainer_create(&s->net[i], &tc))) return NRPS_ERR_ARG;
    }
    return NRPS_OK;
}

void train_state_free(train_state *s) {
    for (int i = 0; i < 2; i++) {
        nn_trainer_destroy(s->tr[i]);
        nn_free(&s->net[i]);
        s->tr[i] = NULL;
    }
    replay_free(&s->rb);
    cJSON_Delete(s->gens);
    s->gens = NULL;
}

/* ------------------------------------------------------------------------------------------------
 * state.bin: magic, version, finished, elapsed, run id (version 3), configuration JSON, statistics JSON, replay
 * window, FNV-1a 64
 * ---------------------------------------------------------------------------------------------- */

static void put_text(nrps_wbuf *b, const char *t) {
    nrps_wbuf_u32(b, (uint32_t)strlen(t));
    nrps_wbuf_raw(b, t, strlen(t));
}

static void put_f64(nrps_wbuf *b, double d) {
    uint64_t u;
    memcpy(&u, &d, 8);
    nrps_wbuf_u64(b, u);
}

static void put_replay(nrps_wbuf *b, const replay_buffer *rb) {
    nrps_wbuf_u32(b, (uint32_t)rb->ngens);
    for (int i = 0; i < rb->ngens; i++) {
        const replay_gen *g = &rb->g[i];
        nrps_wbuf_u32(b, (uint32_t)g->gen);
        nrps_wbuf_u64(b, (uint64_t)g->n);
        for (long k = 0; k < g->n; k++) {
            nrps_wbuf_u64(b, g->s[k].key);
            nrps_wbuf_f32s(b, g->s[k].policy, RPS_POLICY_SIZE);
            nrps_wbuf_f32(b, g->s[k].value);
        }
    }
}

static nrps_status state_file_write(const train_state *s, const char *path) {
    nrps_wbuf b = {0};
    cJSON *cj = train_config_json(&s->cfg);
    char *cfg_txt = cj ? cJSON_PrintUnformatted(cj) : NULL;
    char *gen_txt = s->gens ? cJSON_PrintUnformatted(s->gens) : NULL;
    nrps_status rc = NRPS_ERR_NOMEM;
    if (cfg_txt && gen_txt) {
        nrps_wbuf_raw(&b, STATE_MAGIC, 8);
        nrps_wbuf_u32(&b, STATE_VERSION);
        nrps_wbuf_u32(&b, (uint32_t)s->finished);
        put_f64(&b, s->elapsed);
        put_text(&b, s->run_id);
        put_text(&b, cfg_txt);
        put_text(&b, gen_txt);
        put_replay(&b, &s->rb);
        if (!b.failed) nrps_wbuf_u64(&b, state_checksum(b.p, b.len));
    }
    if (!cfg_txt || !gen_txt || b.failed) nrps_set_error("%s: out of memory", path);
    else rc = nrps_write_file_atomic(path, b.p, b.len);
    nrps_wbuf_free(&b);
    free(cfg_txt);
    free(gen_txt);
    cJSON_Delete(cj);
    return rc;
}

/* A length-prefixed JSON record, parsed (caller deletes); NULL when truncated or not JSON. */
static cJSON *get_json(nrps_rbuf *r) {
    uint32_t n = nrps_rbuf_u32(r);
    const uint8_t *t = r->short_read ? NULL : nrps_rbuf_raw(r, n);
    return t ? cJSON_ParseWithLength((const char *)t, n) : NULL;
}

/* The replay window into s->rb (initialised for s->cfg.window); a message for *why on failure. */
static int get_replay(nrps_rbuf *r, train_state *s, const char **why) {
    replay_init(&s->rb, s->cfg.window);
    uint32_t ng = nrps_rbuf_u32(r);
    if (ng > (uint32_t)s->cfg.window) {
        *why = "replay window larger than configured";
        return 0;
    }
    for (uint32_t i = 0; i < ng; i++) {
        int gen = (int)nrps_rbuf_u32(r);
        uint64_t n = nrps_rbuf_u64(r);
        if (r->short_read || n > (r->len - r->pos) / SAMPLE_BYTES) {
            *why = "truncated replay window";
            return 0;
        }
        sp_sample *smp = malloc((size_t)(n ? n : 1) * sizeof *smp);
        if (!smp) {
            *why = "out of memory";
            return 0;
        }
        for (uint64_t k = 0; k < n; k++) {
            smp[k].key = nrps_rbuf_u64(r);
            nrps_rbuf_f32s(r, smp[k].policy, RPS_POLICY_SIZE);
            smp[k].value = nrps_rbuf_f32(r);
        }
        replay_add(&s->rb, gen, smp, (long)n);
    }
    if (r->short_read || r->pos != r->len) {
        *why = "unexpected length";
        return 0;
    }
    return 1;
}

/* The records after the version into s (version 3 with the run id); a message for *why on failure. */
static int get_state(nrps_rbuf *r, train_state *s, int with_id, int want_replay, const char **why) {
    s->finished = (int)nrps_rbuf_u32(r);
    uint64_t e = nrps_rbuf_u64(r);
    memcpy(&s->elapsed, &e, 8);
    s->run_id[0] = '\0';
    if (with_id) {
        uint32_t n = nrps_rbuf_u32(r);
        const uint8_t *id = r->short_read || n > TRAIN_RUN_ID_LEN ? NULL : nrps_rbuf_raw(r, n);
        if (!id || !run_id_valid((const char *)id, n)) {
            *why = r->short_read ? "truncated run id" : "bad run id";
            return 0;
        }
        memcpy(s->run_id, id, n);
        s->run_id[n] = '\0';
    }
    cJSON *cj = get_json(r);
    int ok = cj && config_from_json(cj, &s->cfg);
    cJSON_Delete(cj);
    if (!ok) {
        *why = r->short_read ? "truncated configuration" : "bad configuration record";
        return 0;
    }
    s->cfg.out_dir[0] = '\0';
    cJSON_Delete(s->gens);
    s->gens = get_json(r);
    if (!cJSON_IsArray(s->gens)) {
        *why = r->short_read ? "truncated statistics" : "bad statistics record";
        return 0;
    }
    return !want_replay || get_replay(r, s, why);
}

/* Reads state.bin into s (cfg, finished, elapsed, gens, and with want_replay rb). Networks are not touched. */
static nrps_status state_file_read(const char *path, train_state *s, int want_replay) {
    char *data = NULL;
    size_t len = 0;
    nrps_status rc = nrps_read_file(path, STATE_MAX_BYTES, &data, &len);
    if (rc != NRPS_OK) return rc;
    const char *why = NULL;
    nrps_rbuf r = nrps_rbuf_make(data, len >= 8 ? len - 8 : 0); /* everything before the checksum */
    if (len < 8 || memcmp(data, STATE_MAGIC, 8) != 0) {
        why = "not a training state file (bad magic)";
    } else if (len < 8 + 4 + 4 + 8 + 4 + 4 + 4 + 8) {
        why = "truncated";
    } else {
        nrps_rbuf sum = nrps_rbuf_make(data + len - 8, 8);
        if (state_checksum(data, len - 8) != nrps_rbuf_u64(&sum)) why = "checksum mismatch (file damaged or truncated)";
    }
    if (!why) {
        nrps_rbuf_raw(&r, 8);
        uint32_t ver = nrps_rbuf_u32(&r);
        if (ver != STATE_VERSION && ver != STATE_VERSION_UNBOUND) {
            nrps_set_error("%s: unsupported training state version %u (this build reads %u and %u)", path, ver,
                           STATE_VERSION_UNBOUND, STATE_VERSION);
            rc = NRPS_ERR_FORMAT;
        } else if (!get_state(&r, s, ver == STATE_VERSION, want_replay, &why)) {
            rc = NRPS_ERR_FORMAT;
        }
    }
    if (why) {
        nrps_set_error("%s: %s", path, why);
        rc = NRPS_ERR_FORMAT;
    }
    free(data);
    return rc;
}

/* ------------------------------------------------------------------------------------------------
 * The checkpoint folder
 * ---------------------------------------------------------------------------------------------- */

/* File of network i of n_nets in a checkpoint folder. */
static const char *ckpt_name(int n_nets, int i) { return n_nets == 1 ? "net.ckpt" : i ? "value.ckpt" : "policy.ckpt"; }

static nrps_status read_latest(const char *dir, char *name, size_t n) {
    char p[2048];
    snprintf(p, sizeof p, "%s/checkpoint/LATEST", dir);
    char *data = NULL;
    size_t len = 0;
    if (access(p, F_OK) != 0) {
        nrps_set_error("%s: no checkpoint (missing %s)", dir, p);
        return NRPS_ERR_IO;
    }
    nrps_status rc = nrps_read_file(p, 4096, &data, &len);
    if (rc != NRPS_OK) return rc;
    while (len > 0 && (data[len - 1] == '\n' || data[len - 1] == '\r')) data[--len] = '\0';
    int g = -1;
    char tail = 0;
    if (len == 0 || len >= n || sscanf(data, "gen_%d%c", &g, &tail) != 1 || g < 0) {
        nrps_set_error("%s: expected one line 'gen_NNNN', got '%.40s'", p, data);
        free(data);
        return NRPS_ERR_FORMAT;
    }
    snprintf(name, n, "%s", data);
    free(data);
    return NRPS_OK;
}

nrps_status train_checkpoint_peek(const char *dir, train_config *cfg, int *finished) {
    char name[256], p[2048];
    nrps_status rc = read_latest(dir, name, sizeof name);
    if (rc != NRPS_OK) return rc;
    snprintf(p, sizeof p, "%s/checkpoint/%s/state.bin", dir, name);
    train_state s;
    memset(&s, 0, sizeof s);
    rc = state_file_read(p, &s, 0);
    if (rc == NRPS_OK) {
        *cfg = s.cfg;
        snprintf(cfg->out_dir, sizeof cfg->out_dir, "%s", dir);
        if (finished) *finished = s.finished;
    }
    cJSON_Delete(s.gens);
    return rc;
}

static void remove_ckpt_dir(const char *dir) {
    const char *files[] = {"policy.ckpt", "value.ckpt", "net.ckpt", "state.bin"};
    char p[2100];
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, files[i]);
        unlink(p);
    }
    rmdir(dir);
}

nrps_status train_checkpoint_write(const train_state *s) {
    char dir[1600], p[2100], name[64];
    snprintf(name, sizeof name, "gen_%04d", s->finished);
    snprintf(dir, sizeof dir, "%s/checkpoint/%s", s->cfg.out_dir, name);
    nrps_status rc = train_make_dirs(dir);
    nn_ckpt_tag tag;
    memset(&tag, 0, sizeof tag);
    snprintf(tag.run_id, sizeof tag.run_id, "%s", s->run_id);
    tag.generation = s->finished;
    for (int i = 0; rc == NRPS_OK && i < s->n_nets; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, ckpt_name(s->n_nets, i));
        rc = nn_trainer_save_tagged(s->tr[i], p, &tag);
    }
    if (rc != NRPS_OK) return rc;
    snprintf(p, sizeof p, "%s/state.bin", dir);
    if ((rc = state_file_write(s, p)) != NRPS_OK) return rc;
    char line[80];
    snprintf(line, sizeof line, "%s\n", name);
    snprintf(p, sizeof p, "%s/checkpoint/LATEST", s->cfg.out_dir);
    if ((rc = nrps_write_file_atomic(p, line, strlen(line))) != NRPS_OK) return rc;
    if (s->finished >= 2) { /* keep this checkpoint and the previous one */
        snprintf(dir, sizeof dir, "%s/checkpoint/gen_%04d", s->cfg.out_dir, s->finished - 2);
        remove_ckpt_dir(dir);
    }
    return NRPS_OK;
}

/* Network checkpoint np (its tag) belongs with state.bin sp (s): the same run id and generation; written before
 * run ids, neither names one. One line naming both files and what differs otherwise. */
static nrps_status check_binding(const char *np, const nn_ckpt_tag *tag, const char *sp, const train_state *s) {
    if (!strcmp(tag->run_id, s->run_id) && (!s->run_id[0] || tag->generation == s->finished)) return NRPS_OK;
    char a[160], b[160];
    if (tag->run_id[0]) snprintf(a, sizeof a, "run %s generation %ld", tag->run_id, tag->generation);
    else snprintf(a, sizeof a, "no run (written by an older version)");
    if (s->run_id[0]) snprintf(b, sizeof b, "run %s generation %d", s->run_id, s->finished);
    else snprintf(b, sizeof b, "no run (written by an older version)");
    const char *what = strcmp(tag->run_id, s->run_id) ? "the run differs" : "the generation differs";
    nrps_set_error("%s names %s but %s names %s: %s (a checkpoint must not mix files of different runs or "
                   "generations; resume refused)", np, a, sp, b, what);
    return NRPS_ERR_FORMAT;
}

nrps_status train_checkpoint_read(const char *out_dir, train_state *s) {
    char name[256], dir[1600], p[2100];
    nrps_status rc = read_latest(out_dir, name, sizeof name);
    if (rc != NRPS_OK) return rc;
    snprintf(dir, sizeof dir, "%s/checkpoint/%s", out_dir, name);
    snprintf(p, sizeof p, "%s/state.bin", dir);
    if ((rc = state_file_read(p, s, 1)) != NRPS_OK) return rc;
    int g = -1;
    sscanf(name, "gen_%d", &g);
    if (g != s->finished) {
        nrps_set_error("%s: holds generation %d but LATEST names %s", p, s->finished, name);
        return NRPS_ERR_FORMAT;
    }
    nn_arch a[2];
    s->n_nets = train_config_archs(&s->cfg, a);
    int untagged = 0;
    for (int i = 0; i < s->n_nets; i++) {
        char np[2100];
        snprintf(np, sizeof np, "%s/%s", dir, ckpt_name(s->n_nets, i));
        nn_ckpt_tag tag;
        /* another architecture than the configuration's is refused in one line naming the file */
        if ((rc = nn_trainer_load_tagged(np, s->cfg.batch, &a[i], &s->net[i], &s->tr[i], &tag)) != NRPS_OK) return rc;
        if ((rc = check_binding(np, &tag, p, s)) != NRPS_OK) return rc;
        untagged += !tag.run_id[0];
    }
    s->unbound = untagged > 0; /* then every file is untagged (check_binding) */
    return NRPS_OK;
}
