/* mcts.c - PUCT MCTS with batched leaf evaluation, virtual loss, exact terminal scoring, Dirichlet
 * root noise, temperature move choice, tree reuse and tree-parallel search threads (see mcts.h for the contract).
 *
 * Threads share one tree without locks. A node's visit count, in-flight count and value sum are updated with atomic
 * read-modify-writes (plain ones with one thread, where no other thread can look); a leaf is claimed for
 * evaluation with a compare-and-swap on its flags (NODE_PENDING), its children are allocated from the pool with an
 * atomic add and published by setting NODE_EXPANDED with release order after they are written; selection reads
 * flags with acquire order. The playout budget is one counter claimed with compare-and-swap, so exactly
 * cfg.playouts simulations run whatever the thread count. */
#include "search/mcts.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/threadpool.h"

enum { MCTS_MAX_DEPTH = RPS_CELLS + 1 }; /* root + at most 9 plies */
enum { NODE_EXPANDED = 1, NODE_TERMINAL = 2, NODE_PENDING = 4 };

typedef struct {
    int32_t child;   /* first child in the pool, -1 when not expanded */
    uint8_t nchild;
    uint8_t flags;
    int8_t type, pos; /* the move into this node */
    int8_t mover;     /* player who made that move: w is from this player's point of view */
    float prior;
    union { /* both counts in one word, so that one atomic add updates them together */
        uint64_t ni;  /* n | (uint64_t)inflight << 32 (little-endian) */
        struct {
            int32_t n;        /* completed visits */
            int32_t inflight; /* leaves below this node being evaluated (each counts as cfg.virtual_loss lost visits) */
        };
    };
    double w;         /* sum of backed-up values for mover */
} mcts_node;

/* One search thread's batch buffers and counters. */
typedef struct {
    rps_state *states;
    float *policy, *value;
    uint32_t *from, *ids; /* evaluate_from: the leaves' parents' ids in, their own out */
    int32_t *paths;       /* batch x MCTS_MAX_DEPTH */
    int *path_len;
    const mcts_evaluator *ev;
    int budget;               /* threads > 1: playouts claimed from the shared count and not used yet */
    int32_t node_next, node_end; /* threads > 1: the thread's reserved run of pool nodes [next, end) */
    long eval_calls, eval_states;
    nrps_status st;  /* the thread's error (NRPS_OK) and its message, re-raised on the caller's thread */
    char err[512];
} mcts_worker;

struct mcts {
    mcts_config cfg;
    mcts_node *pool, *spare; /* spare: target of subtree compaction */
    /* eval_id[i]: the evaluator's id of node i's evaluation (evaluate_from; MCTS_EVAL_NONE when it has none),
     * beside the pool so that the node stays 32 bytes; spare_id follows spare through compaction. */
    uint32_t *eval_id, *spare_id;
    int cap;
    int have_root;
    rps_state root_state;
    int root_noised;
    float clean_prior[MCTS_MAX_CHILDREN];
    mcts_worker *workers; /* cfg.threads */
    nrps_pool *pool_threads; /* cfg.threads > 1: the search threads (the caller is thread 0) */
    int mt;                  /* cfg.threads > 1: node updates are atomic */
    /* the running search (set by mcts_search_run for the workers) */
    const rps_state *search_state;
    int batch, target;
    int64_t root_n_base; /* threads > 1: see root_counts */
    double root_w_base;
    int stop; /* a thread failed or was interrupted: the others finish their batch and return */
    /* written by every thread (playouts claimed, pool nodes used), on their own cache line so that the fields above,
     * read on every descent, do not bounce with them */
    _Alignas(64) int done;
    int used;
    char pad[64 - 2 * sizeof(int)];
};

mcts_config mcts_config_default(void) {
    mcts_config c = {0};
    c.playouts = 200;
    c.c_puct = 1.5;
    c.batch = 1;
    c.dirichlet_alpha = 0.3;
    c.dirichlet_weight = 0.0;
    c.temperature = 0.0;
    c.temperature_plies = 0;
    c.virtual_loss = 1.0;
    c.reuse_tree = 0;
    c.threads = 1;
    return c;
}

nrps_status mcts_config_check(const mcts_config *c) {
    if (c->playouts < 1 || c->playouts > 10000000) {
        nrps_set_error("mcts: playouts must be in [1, 10000000], got %d", c->playouts);
        return NRPS_ERR_ARG;
    }
    if (!(c->c_puct > 0 && c->c_puct < 1e6)) {
        nrps_set_error("mcts: c_puct must be > 0, got %g", c->c_puct);
        return NRPS_ERR_ARG;
    }
    if (c->batch < 1 || c->batch > 65536) {
        nrps_set_error("mcts: batch must be in [1, 65536], got %d", c->batch);
        return NRPS_ERR_ARG;
    }
    if (!(c->dirichlet_weight >= 0 && c->dirichlet_weight <= 1)) {
        nrps_set_error("mcts: dirichlet weight must be in [0, 1], got %g", c->dirichlet_weight);
        return NRPS_ERR_ARG;
    }
    if (c->dirichlet_weight > 0 && !(c->dirichlet_alpha > 0 && c->dirichlet_alpha < 1e6)) {
        nrps_set_error("mcts: dirichlet alpha must be > 0, got %g", c->dirichlet_alpha);
        return NRPS_ERR_ARG;
    }
    if (!(c->temperature >= 0 && c->temperature < 1e6)) {
        nrps_set_error("mcts: temperature must be >= 0, got %g", c->temperature);
        return NRPS_ERR_ARG;
    }
    if (c->threads < 1 || c->threads > MCTS_MAX_THREADS) {
        nrps_set_error("mcts: threads must be in [1, %d], got %d", MCTS_MAX_THREADS, c->threads);
        return NRPS_ERR_ARG;
    }
    if (!(c->virtual_loss >= 0 && c->virtual_loss < 1e6)) {
        nrps_set_error("mcts: virtual loss must be >= 0, got %g", c->virtual_loss);
        return NRPS_ERR_ARG;
    }
    return NRPS_OK;
}

static int worker_alloc(mcts_worker *w, int batch) {
    w->from = malloc((size_t)batch * sizeof *w->from);
    w->ids = malloc((size_t)batch * sizeof *w->ids);
    w->states = malloc((size_t)batch * sizeof *w->states);
    w->policy = malloc((size_t)batch * RPS_POLICY_SIZE * sizeof *w->policy);
    w->value = malloc((size_t)batch * sizeof *w->value);
    w->paths = malloc((size_t)batch * MCTS_MAX_DEPTH * sizeof *w->paths);
    w->path_len = malloc((size_t)batch * sizeof *w->path_len);
    return w->from && w->ids && w->states && w->policy && w->value && w->paths && w->path_len;
}

static void worker_free(mcts_worker *w) {
    free(w->from);
    free(w->ids);
    free(w->states);
    free(w->policy);
    free(w->value);
    free(w->paths);
    free(w->path_len);
}

mcts *mcts_create(const mcts_config *cfg) {
    if (mcts_config_check(cfg) != NRPS_OK) return NULL;
    mcts *m = aligned_alloc(64, sizeof *m); /* sizeof is a multiple of the 64-byte alignment of `done` */
    if (!m) goto nomem;
    memset(m, 0, sizeof *m);
    m->cfg = *cfg;
    m->mt = cfg->threads > 1;
    /* every expansion follows one claimed playout: at most playouts + 2 expanded nodes, each with <= 27 children */
    m->cap = 1 + (cfg->playouts + 2) * MCTS_MAX_CHILDREN;
    /* threads reserve nodes in runs of MCTS_NODE_RUN, leaving < MCTS_MAX_CHILDREN unused at the end of each run */
    if (m->mt) m->cap += m->cap / (MCTS_NODE_RUN / MCTS_MAX_CHILDREN - 1) + cfg->threads * MCTS_NODE_RUN;
    m->pool = malloc((size_t)m->cap * sizeof *m->pool);
    m->spare = cfg->reuse_tree ? malloc((size_t)m->cap * sizeof *m->spare) : NULL;
    m->eval_id = malloc((size_t)m->cap * sizeof *m->eval_id);
    m->spare_id = cfg->reuse_tree ? malloc((size_t)m->cap * sizeof *m->spare_id) : NULL;
    m->workers = calloc((size_t)cfg->threads, sizeof *m->workers);
    int ok = m->pool && (!cfg->reuse_tree || (m->spare && m->spare_id)) && m->eval_id && m->workers;
    for (int t = 0; ok && t < cfg->threads; t++) ok = worker_alloc(&m->workers[t], cfg->batch);
    if (!ok) {
        mcts_destroy(m);
        goto nomem;
    }
    if (m->mt && nrps_pool_create(cfg->threads, MCTS_POOL_SPIN_US, &m->pool_threads) != NRPS_OK) {
        mcts_destroy(m);
        return NULL;
    }
    return m;
nomem:
    nrps_set_error("mcts: out of memory for %d playouts", cfg->playouts);
    return NULL;
}

void mcts_destroy(mcts *m) {
    if (!m) return;
    nrps_pool_destroy(m->pool_threads);
    free(m->pool);
    free(m->spare);
    free(m->eval_id);
    free(m->spare_id);
    for (int t = 0; m->workers && t < m->cfg.threads; t++) worker_free(&m->workers[t]);
    free(m->workers);
    free(m);
}

const mcts_config *mcts_get_config(const mcts *m) { return &m->cfg; }
int mcts_tree_size(const mcts *m) { return m->have_root ? m->used : 0; }
void mcts_reset(mcts *m) { m->have_root = 0; }

int mcts_state_equal(const rps_state *a, const rps_state *b) {
    if (a->cfg.deck_size != b->cfg.deck_size || a->cfg.hand_size != b->cfg.hand_size ||
        a->cfg.max_rounds != b->cfg.max_rounds || a->to_move != b->to_move || a->round != b->round ||
        a->ply != b->ply)
        return 0;
    for (int i = 0; i < RPS_CELLS; i++)
        if (a->board[i].type != b->board[i].type || a->board[i].owner != b->board[i].owner) return 0;
    for (int p = 1; p <= 2; p++) {
        if (a->hand_len[p] != b->hand_len[p]) return 0;
        for (int i = 0; i < a->hand_len[p]; i++)
            if (a->hand[p][i] != b->hand[p][i]) return 0;
    }
    return 1;
}

int mcts_card_of_type(const rps_state *s, int type) {
    int p = s->to_move;
    if (p != RPS_P1 && p != RPS_P2) return -1;
    for (int i = 0; i < s->hand_len[p]; i++)
        if (s->hand[p][i] == type) return i;
    return -1;
}

/* Plays (type, pos) on s; the move exists because children are built from s's legal moves. */
static void play_typed(rps_state *s, int type, int pos) {
    rps_move mv = {(int8_t)mcts_card_of_type(s, type), (int8_t)pos};
    rps_state_apply(s, mv);
}

/* Value of a finished game for player 1: 1 win, 0.5 draw, 0 loss. */
static double terminal_value_p1(const rps_state *s) {
    int w = rps_state_winner(s);
    return w == RPS_P1 ? 1.0 : w == RPS_P2 ? 0.0 : 0.5;
}

static void fresh_root(mcts *m, const rps_state *s) {
    m->root_state = *s;
    m->have_root = 1;
    m->root_noised = 0;
    m->used = 1;
    mcts_node *r = &m->pool[0];
    memset(r, 0, sizeof *r);
    r->child = -1;
    r->type = r->pos = -1;
    r->mover = (int8_t)(3 - s->to_move);
    m->eval_id[0] = MCTS_EVAL_NONE;
}

/* Node statistics: relaxed atomic reads always (plain loads on x86), atomic read-modify-writes when m->mt. */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "mcts_node.ni packs n in its low half");
enum { NI_INFLIGHT = 1ULL << 32 }; /* one leaf in flight in mcts_node.ni */
static inline uint64_t load_ni(const mcts_node *x) { return __atomic_load_n(&x->ni, __ATOMIC_RELAXED); }
static inline int32_t ni_visits(uint64_t ni) { return (int32_t)(uint32_t)ni; }
static inline int32_t ni_inflight(uint64_t ni) { return (int32_t)(ni >> 32); }
static inline double load_f64(const double *p) {
    double v;
    __atomic_load(p, &v, __ATOMIC_RELAXED);
    return v;
}
static inline uint8_t load_flags(const mcts_node *n) { return __atomic_load_n(&n->flags, __ATOMIC_ACQUIRE); }

static inline void add_ni(const mcts *m, mcts_node *x, uint64_t d) {
    if (m->mt) __atomic_fetch_add(&x->ni, d, __ATOMIC_RELAXED);
    else x->ni += d;
}

static inline void add_f64(const mcts *m, double *p, double d) {
    if (!m->mt) {
        *p += d;
        return;
    }
    double old = load_f64(p), sum;
    do sum = old + d;
    while (!__atomic_compare_exchange(p, &old, &sum, 1, __ATOMIC_RELAXED, __ATOMIC_RELAXED));
}

static inline void set_flags(const mcts *m, mcts_node *n, uint8_t f) {
    if (m->mt) __atomic_fetch_or(&n->flags, f, __ATOMIC_RELEASE);
    else n->flags |= f;
}

static inline void clear_flags(const mcts *m, mcts_node *n, uint8_t f) {
    if (m->mt) __atomic_fetch_and(&n->flags, (uint8_t)~f, __ATOMIC_RELEASE);
    else n->flags &= (uint8_t)~f;
}

/* Claims leaf for evaluation (sets NODE_PENDING): LEAF_CLAIMED, LEAF_PENDING when another batch (or thread) holds
 * it, LEAF_EXPANDED when another thread expanded it after the caller's look (descend further). */
enum { LEAF_CLAIMED, LEAF_PENDING, LEAF_EXPANDED };
static int claim_leaf(const mcts *m, mcts_node *leaf) {
    uint8_t old = load_flags(leaf);
    for (;;) {
        if (old & NODE_PENDING) return LEAF_PENDING;
        if (old & NODE_EXPANDED) return LEAF_EXPANDED;
        if (!m->mt) {
            leaf->flags = (uint8_t)(old | NODE_PENDING);
            return LEAF_CLAIMED;
        }
        if (__atomic_compare_exchange_n(&leaf->flags, &old, (uint8_t)(old | NODE_PENDING), 0, __ATOMIC_ACQ_REL,
                                        __ATOMIC_ACQUIRE))
            return LEAF_CLAIMED;
    }
}

/* Claims one playout of the budget for worker w: 0 when m->target are claimed already. With threads a worker takes
 * runs of MCTS_PLAYOUT_RUN from the shared count (one compare-and-swap per run, not per playout). */
static int claim_playout(mcts *m, mcts_worker *w) {
    if (!m->mt) return m->done < m->target ? (m->done++, 1) : 0;
    if (w->budget > 0) return w->budget--, 1;
    int d = __atomic_load_n(&m->done, __ATOMIC_RELAXED), k;
    do {
        k = m->target - d < MCTS_PLAYOUT_RUN ? m->target - d : MCTS_PLAYOUT_RUN;
        if (k <= 0) return 0;
    } while (!__atomic_compare_exchange_n(&m->done, &d, d + k, 1, __ATOMIC_RELAXED, __ATOMIC_RELAXED));
    w->budget = k - 1;
    return 1;
}

/* Gives a claimed playout back (its descent ended in a collision). */
static void unclaim_playout(mcts *m, mcts_worker *w) {
    if (m->mt) w->budget++;
    else m->done--;
}

/* The first of `need` (<= MCTS_MAX_CHILDREN) consecutive free pool nodes for worker w, or -1 when the pool is
 * exhausted. With threads a worker reserves runs of MCTS_NODE_RUN nodes (one atomic add per run). */
static int32_t alloc_nodes(mcts *m, mcts_worker *w, int need) {
    if (!m->mt) {
        if (m->used + need > m->cap) return -1;
        return (m->used += need) - need;
    }
    if (w->node_next + need > w->node_end) {
        int32_t base = __atomic_fetch_add(&m->used, MCTS_NODE_RUN, __ATOMIC_RELAXED);
        if (base + need > m->cap) return -1;
        w->node_next = base;
        w->node_end = base + MCTS_NODE_RUN < m->cap ? base + MCTS_NODE_RUN : m->cap;
    }
    return (w->node_next += need) - need;
}

/* Builds the children of node (state s to move) from the evaluator's position priors and publishes them. Only the
 * thread that claimed node (or the caller, for the root) expands it. */
static nrps_status expand(mcts *m, mcts_worker *w, mcts_node *node, const rps_state *s, const float *pol) {
    int p = s->to_move, types[RPS_NTYPES], nt = 0;
    for (int t = 0; t < RPS_NTYPES; t++)
        if (mcts_card_of_type(s, t) >= 0) types[nt++] = t;
    int legal[RPS_CELLS], nl = 0;
    double tot = 0, pr[RPS_CELLS];
    if (nt > 0)
        for (int c = 0; c < RPS_CELLS; c++)
            if (s->board[c].owner == RPS_NONE) {
                legal[nl] = c;
                double x = pol[c];
                pr[nl] = (isfinite(x) && x > 0) ? x : 0.0;
                tot += pr[nl++];
            }
    if (nl == 0 || nt == 0) return NRPS_OK; /* no move: treated as terminal by the caller */
    int32_t first = alloc_nodes(m, w, nl * nt);
    if (first < 0) {
        nrps_set_error("mcts: node pool exhausted (%d nodes)", m->cap);
        return NRPS_ERR_NOMEM;
    }
    for (int i = 0; i < nl; i++) {
        double pp = tot > 0 ? pr[i] / tot : 1.0 / nl;
        for (int k = 0; k < nt; k++) {
            mcts_node *c = &m->pool[first + i * nt + k];
            memset(c, 0, sizeof *c);
            c->child = -1;
            c->type = (int8_t)types[k];
            c->pos = (int8_t)legal[i];
            c->mover = (int8_t)p;
            c->prior = (float)(pp / nt);
            m->eval_id[first + i * nt + k] = MCTS_EVAL_NONE;
        }
    }
    node->child = first;
    node->nchild = (uint8_t)(nl * nt);
    set_flags(m, node, NODE_EXPANDED); /* release: the children are written */
    return NRPS_OK;
}

/* Adds one visit with value v1 (for player 1) to every node on the path; `inflight` (0 or 1) of them leave. With
 * threads the root (path[0]) is left alone: every playout passes it, so its counts are derived from its children's
 * while the threads run (root_counts) and written once after them (settle_root). */
static void backup(mcts *m, const int32_t *path, int len, double v1, int inflight) {
    for (int i = m->mt; i < len; i++) {
        mcts_node *n = &m->pool[path[i]];
        add_f64(m, &n->w, n->mover == RPS_P1 ? v1 : 1.0 - v1);
        add_ni(m, n, inflight ? 1 - (uint64_t)NI_INFLIGHT : 1); /* n + 1, inflight - 1 when it was in flight */
    }
}

/* The root's visits, value sum and leaves in flight from its children's (threads > 1, while they run): every visit
 * of the root after its own evaluation went through one child and added 1 - (the child's value) to the root's sum,
 * so n = root_n_base + sum n_c and w = root_w_base + sum (n_c - w_c), with the bases taken when the search began. */
static void root_counts(const mcts *m, int32_t *n, double *w, int32_t *inflight) {
    const mcts_node *r = &m->pool[0];
    int64_t sn = 0, sf = 0;
    double sw = 0;
    for (int i = 0; i < r->nchild; i++) {
        const mcts_node *c = &m->pool[r->child + i];
        uint64_t cni = load_ni(c);
        sn += ni_visits(cni), sf += ni_inflight(cni), sw += ni_visits(cni) - load_f64(&c->w);
    }
    *n = (int32_t)(m->root_n_base + sn);
    *w = m->root_w_base + sw;
    *inflight = (int32_t)sf;
}

/* Takes the root's bases for root_counts (before the threads start). */
static void root_bases(mcts *m) {
    const mcts_node *r = &m->pool[0];
    m->root_n_base = r->n;
    m->root_w_base = r->w;
    for (int i = 0; i < r->nchild; i++) {
        const mcts_node *c = &m->pool[r->child + i];
        m->root_n_base -= c->n;
        m->root_w_base -= c->n - c->w;
    }
}

/* Writes the root's counts after the threads ran. */
static void settle_root(mcts *m) {
    int32_t n, inflight;
    double w;
    root_counts(m, &n, &w, &inflight);
    m->pool[0].n = n;
    m->pool[0].w = w;
    m->pool[0].inflight = 0;
}

/* PUCT child choice at node: Q (for the player to move at node, in-flight visits counted as losses)
 * + c_puct * P * sqrt(N_parent) / (1 + N_child). Unvisited children get the parent's Q (first-play urgency). */
static int32_t select_child(const mcts *m, const mcts_node *node) {
    const double vl = m->cfg.virtual_loss;
    int32_t n_node, inflight;
    double w_node;
    if (m->mt && node == m->pool) {
        root_counts(m, &n_node, &w_node, &inflight);
    } else {
        uint64_t ni = load_ni(node);
        n_node = ni_visits(ni), inflight = ni_inflight(ni), w_node = load_f64(&node->w);
    }
    double np = n_node + vl * inflight;
    double sq = sqrt(np > 1 ? np : 1);
    double fpu = 0.5;
    if (n_node > 0) {
        double q = w_node / n_node; /* for node->mover; children are chosen by the other side */
        fpu = 1.0 - q;
    }
    /* u = w / nc + k P / (1 + nc) as the fraction (w (1 + nc) + k P nc) / (nc (1 + nc)), or fpu + k P when nc = 0, and
     * fractions compared by cross-multiplying (denominators > 0): no division in the loop */
    const double k = m->cfg.c_puct * sq;
    double best_num = -1e300, best_den = 1;
    int32_t bi = node->child;
    for (int i = 0; i < node->nchild; i++) {
        const mcts_node *c = &m->pool[node->child + i];
        uint64_t cni = load_ni(c);
        double nc = ni_visits(cni) + vl * ni_inflight(cni), kp = k * c->prior, num, den;
        if (nc > 0) num = load_f64(&c->w) * (1.0 + nc) + kp * nc, den = nc * (1.0 + nc);
        else num = fpu + kp, den = 1;
        if (num * best_den > best_num * den) {
            best_num = num, best_den = den;
            bi = node->child + i;
        }
    }
    return bi;
}

/* Copies the subtree of pool[idx] into spare (children kept contiguous, breadth first) and swaps pools. */
static void compact_to(mcts *m, int32_t idx) {
    mcts_node *dst = m->spare;
    uint32_t *dst_id = m->spare_id;
    int used = 1;
    dst[0] = m->pool[idx];
    dst_id[0] = m->eval_id[idx];
    for (int q = 0; q < used; q++) {
        mcts_node *n = &dst[q];
        n->flags &= (uint8_t)~NODE_PENDING;
        n->inflight = 0;
        if (n->child >= 0) {
            int32_t src = n->child;
            n->child = used;
            memcpy(&dst[used], &m->pool[src], (size_t)n->nchild * sizeof *dst);
            memcpy(&dst_id[used], &m->eval_id[src], (size_t)n->nchild * sizeof *dst_id);
            used += n->nchild;
        }
    }
    m->spare = m->pool;
    m->pool = dst;
    m->spare_id = m->eval_id;
    m->eval_id = dst_id;
    m->used = used;
    m->root_noised = 0;
}

nrps_status mcts_advance(mcts *m, rps_move move) {
    if (!m->have_root || !rps_state_is_legal(&m->root_state, move)) {
        nrps_set_error("mcts: advance with an illegal move (card %d, position %d) or no tree", move.card, move.pos);
        return NRPS_ERR_ILLEGAL;
    }
    rps_state next = m->root_state;
    int type = next.hand[next.to_move][move.card];
    rps_state_apply(&next, move);
    const mcts_node *r = &m->pool[0];
    int32_t found = -1;
    if (m->cfg.reuse_tree && r->child >= 0)
        for (int i = 0; i < r->nchild; i++) {
            const mcts_node *c = &m->pool[r->child + i];
            if (c->type == type && c->pos == move.pos) found = r->child + i;
        }
    if (found >= 0 && m->pool[found].n > 0) {
        compact_to(m, found);
        m->root_state = next;
    } else {
        fresh_root(m, &next);
    }
    return NRPS_OK;
}

/* With reuse: finds state at the root or 1-2 plies below it and makes it the root; else starts fresh. */
static void place_root(mcts *m, const rps_state *state) {
    if (!m->cfg.reuse_tree || !m->have_root) {
        fresh_root(m, state);
        return;
    }
    if (mcts_state_equal(&m->root_state, state)) return;
    const mcts_node *r = &m->pool[0];
    for (int i = 0; r->child >= 0 && i < r->nchild; i++) {
        int32_t ci = r->child + i;
        const mcts_node *c = &m->pool[ci];
        if (c->n == 0) continue;
        rps_state s1 = m->root_state;
        play_typed(&s1, c->type, c->pos);
        if (mcts_state_equal(&s1, state)) {
            compact_to(m, ci);
            m->root_state = s1;
            return;
        }
        for (int j = 0; c->child >= 0 && j < c->nchild; j++) {
            int32_t gi = c->child + j;
            const mcts_node *g = &m->pool[gi];
            if (g->n == 0) continue;
            rps_state s2 = s1;
            play_typed(&s2, g->type, g->pos);
            if (mcts_state_equal(&s2, state)) {
                compact_to(m, gi);
                m->root_state = s2;
                return;
            }
        }
    }
    fresh_root(m, state);
}

/* Evaluates w->states[0..n) with w's evaluator (through evaluate_from when it has it, from w->from) and records
 * each evaluation's id on its node: the root (leaves == 0) or the leaves of w->paths. */
static nrps_status run_eval(mcts *m, mcts_worker *w, int n, int leaves) {
    const mcts_evaluator *ev = w->ev;
    w->eval_calls++;
    w->eval_states += n;
    if (!ev->evaluate_from) return ev->evaluate(ev->ctx, w->states, n, w->policy, w->value);
    nrps_status st = ev->evaluate_from(ev->ctx, w->states, w->from, w->ids, n, w->policy, w->value);
    if (st != NRPS_OK) return st;
    for (int b = 0; b < n; b++)
        m->eval_id[leaves ? w->paths[b * MCTS_MAX_DEPTH + w->path_len[b] - 1] : 0] = w->ids[b];
    return NRPS_OK;
}

static void add_noise(mcts *m, nrps_rng *rng) {
    mcts_node *r = &m->pool[0];
    if (m->cfg.dirichlet_weight <= 0 || r->nchild < 2) return;
    if (m->root_noised) /* same root searched again: start from the clean priors */
        for (int i = 0; i < r->nchild; i++) m->pool[r->child + i].prior = m->clean_prior[i];
    double eta[MCTS_MAX_CHILDREN], sum = 0;
    for (int i = 0; i < r->nchild; i++) {
        eta[i] = nrps_rng_gamma(rng, m->cfg.dirichlet_alpha);
        sum += eta[i];
    }
    double w = m->cfg.dirichlet_weight;
    for (int i = 0; i < r->nchild; i++) {
        mcts_node *c = &m->pool[r->child + i];
        m->clean_prior[i] = c->prior;
        double e = sum > 0 ? eta[i] / sum : 1.0 / r->nchild;
        c->prior = (float)((1 - w) * c->prior + w * e);
    }
    m->root_noised = 1;
}

static int choose_move(const mcts *m, int ply, nrps_rng *rng) {
    const mcts_node *r = &m->pool[0];
    const mcts_node *ch = &m->pool[r->child];
    int use_t = m->cfg.temperature > 0 && (m->cfg.temperature_plies < 0 || ply < m->cfg.temperature_plies);
    if (use_t) {
        double wgt[MCTS_MAX_CHILDREN], tot = 0, maxn = 0;
        for (int i = 0; i < r->nchild; i++)
            if (ch[i].n > maxn) maxn = ch[i].n;
        if (maxn > 0) {
            for (int i = 0; i < r->nchild; i++) {
                wgt[i] = ch[i].n > 0 ? pow(ch[i].n / maxn, 1.0 / m->cfg.temperature) : 0.0;
                tot += wgt[i];
            }
            double x = nrps_rng_uniform(rng) * tot;
            int last = 0;
            for (int i = 0; i < r->nchild; i++) {
                if (wgt[i] <= 0) continue;
                last = i;
                if (x < wgt[i]) return i;
                x -= wgt[i];
            }
            return last;
        }
    }
    int best = 0;
    for (int i = 1; i < r->nchild; i++) {
        if (ch[i].n > ch[best].n || (ch[i].n == ch[best].n && ch[i].prior > ch[best].prior)) best = i;
    }
    return best;
}

/* What one descent from the root gave (descend). */
enum { DESCENT_LEAF, DESCENT_TERMINAL, DESCENT_COLLISION, DESCENT_BUDGET };

/* One simulation of worker w from the root: claims a playout, selects down to a leaf and either backs up a terminal
 * score or claims the leaf into batch slot nb (virtual loss on its path). A leaf another batch holds is a collision:
 * its playout is given back. */
static int descend(mcts *m, mcts_worker *w, int nb) {
    if (!claim_playout(m, w)) return DESCENT_BUDGET;
    int32_t *path = &w->paths[nb * MCTS_MAX_DEPTH];
    int len = 0;
    rps_state s = *m->search_state;
    int32_t cur = 0;
    path[len++] = 0;
    for (;;) {
        uint8_t f = load_flags(&m->pool[cur]);
        while ((f & NODE_EXPANDED) && !(f & NODE_TERMINAL) && len < MCTS_MAX_DEPTH) {
            cur = select_child(m, &m->pool[cur]);
            play_typed(&s, m->pool[cur].type, m->pool[cur].pos);
            path[len++] = cur;
            f = load_flags(&m->pool[cur]);
        }
        mcts_node *leaf = &m->pool[cur];
        if ((f & NODE_TERMINAL) || rps_state_is_over(&s)) {
            set_flags(m, leaf, NODE_TERMINAL);
            backup(m, path, len, terminal_value_p1(&s), 0);
            return DESCENT_TERMINAL;
        }
        int c = claim_leaf(m, leaf);
        if (c == LEAF_CLAIMED) break;
        if (c == LEAF_EXPANDED && len < MCTS_MAX_DEPTH) continue; /* another thread expanded it: go on down */
        unclaim_playout(m, w);
        return DESCENT_COLLISION;
    }
    for (int i = m->mt; i < len; i++) add_ni(m, &m->pool[path[i]], NI_INFLIGHT); /* the root: see backup */
    w->states[nb] = s;
    w->from[nb] = m->eval_id[path[len > 1 ? len - 2 : 0]]; /* the parent (the root is expanded) */
    w->path_len[nb] = len;
    return DESCENT_LEAF;
}

/* Evaluates worker w's nb claimed leaves, expands them and backs their values up. */
static nrps_status eval_batch(mcts *m, mcts_worker *w, int nb) {
    nrps_status st = run_eval(m, w, nb, 1);
    if (st != NRPS_OK) return st;
    for (int b = 0; b < nb; b++) {
        const int32_t *path = &w->paths[b * MCTS_MAX_DEPTH];
        int len = w->path_len[b];
        mcts_node *leaf = &m->pool[path[len - 1]];
        if ((st = expand(m, w, leaf, &w->states[b], &w->policy[b * RPS_POLICY_SIZE])) != NRPS_OK) return st;
        clear_flags(m, leaf, NODE_PENDING);
        double v = w->value[b];
        if (!isfinite(v)) v = 0.5;
        v = v < 0 ? 0 : v > 1 ? 1 : v;
        backup(m, path, len, w->states[b].to_move == RPS_P1 ? v : 1 - v, 1);
    }
    return NRPS_OK;
}

static int stopped(const mcts *m) { return __atomic_load_n(&m->stop, __ATOMIC_RELAXED); }

/* Records worker w's error (status and message, for the caller's thread) and stops the other threads. */
static void worker_fail(mcts *m, mcts_worker *w, nrps_status st) {
    w->st = st;
    snprintf(w->err, sizeof w->err, "%s", nrps_last_error());
    __atomic_store_n(&m->stop, 1, __ATOMIC_RELAXED);
}

/* A search thread: batches of up to m->batch leaves until the playout budget is claimed, an error or SIGINT. */
static void worker_run(mcts *m, mcts_worker *w) {
    while (!stopped(m)) {
        if (nrps_interrupted) {
            nrps_set_error("mcts: interrupted");
            worker_fail(m, w, NRPS_ERR_INTERRUPTED);
            return;
        }
        int nb = 0, end = DESCENT_LEAF;
        while (nb < m->batch) {
            int d = descend(m, w, nb);
            if (d == DESCENT_LEAF) nb++;
            else if (d != DESCENT_TERMINAL) {
                end = d;
                break;
            }
        }
        if (nb == 0) {
            if (end == DESCENT_BUDGET) return;
            nrps_cpu_relax(); /* every path led to a leaf another thread holds: it is being evaluated, look again */
            continue;
        }
        nrps_status st = eval_batch(m, w, nb);
        if (st != NRPS_OK) {
            worker_fail(m, w, st);
            return;
        }
    }
}

static void worker_task(void *ctx, int t) {
    mcts *m = ctx;
    worker_run(m, &m->workers[t]);
}

/* Expands the root of a fresh tree with worker 0's evaluator. */
static nrps_status expand_root(mcts *m, const rps_state *state) {
    mcts_worker *w = &m->workers[0];
    mcts_node *root = &m->pool[0];
    w->states[0] = *state;
    w->from[0] = MCTS_EVAL_NONE;
    nrps_status st = run_eval(m, w, 1, 0);
    if (st == NRPS_OK) st = expand(m, w, root, state, w->policy);
    if (st == NRPS_OK && root->n == 0) {
        double v = w->value[0];
        root->n = 1; /* its own evaluation: one visit */
        root->w = root->mover == RPS_P1 ? (state->to_move == RPS_P1 ? v : 1 - v) : (state->to_move == RPS_P1 ? 1 - v : v);
    }
    return st;
}

/* The result from the root's children after the search. */
static void fill_result(mcts *m, const rps_state *state, nrps_rng *rng, mcts_result *res) {
    const mcts_node *root = &m->pool[0];
    res->playouts = m->done - res->reused_visits;
    res->root_visits = root->n;
    res->value = (float)(root->n > 0 ? 1.0 - root->w / root->n : 0.5);
    res->nchildren = root->nchild;
    double tot = 0;
    for (int i = 0; i < root->nchild; i++) {
        const mcts_node *c = &m->pool[root->child + i];
        mcts_child_stat *cs = &res->children[i];
        cs->type = c->type;
        cs->pos = c->pos;
        cs->visits = c->n;
        cs->prior = c->prior;
        cs->q = c->n > 0 ? (float)(c->w / c->n) : -1.0f;
        res->policy[c->pos] += (float)c->n;
        tot += c->n;
    }
    for (int p = 0; p < RPS_POLICY_SIZE; p++) res->policy[p] = tot > 0 ? (float)(res->policy[p] / tot) : 0.0f;
    res->chosen = choose_move(m, state->ply, rng);
    const mcts_child_stat *cc = &res->children[res->chosen];
    res->move.card = (int8_t)mcts_card_of_type(state, cc->type);
    res->move.pos = cc->pos;
}

nrps_status mcts_search_run(mcts *m, const rps_state *state, const mcts_evaluator *ev, nrps_rng *rng,
                            mcts_result *res) {
    if (m->mt && !ev->thread_safe) {
        memset(res, 0, sizeof *res);
        nrps_set_error("mcts: %d search threads need a thread-safe evaluator (%s is not) or one evaluator per thread",
                       m->cfg.threads, ev->name ? ev->name : "this one");
        return NRPS_ERR_ARG;
    }
    const mcts_evaluator *evs[MCTS_MAX_THREADS];
    for (int t = 0; t < m->cfg.threads; t++) evs[t] = ev;
    return mcts_search_run_each(m, state, evs, rng, res);
}

nrps_status mcts_search_run_each(mcts *m, const rps_state *state, const mcts_evaluator *const *evs, nrps_rng *rng,
                                 mcts_result *res) {
    memset(res, 0, sizeof *res);
    if (rps_state_is_over(state)) {
        nrps_set_error("mcts: cannot search a finished game");
        return NRPS_ERR_ARG;
    }
    m->batch = m->cfg.batch;
    for (int t = 0; t < m->cfg.threads; t++) {
        mcts_worker *w = &m->workers[t];
        w->ev = evs[t];
        w->eval_calls = w->eval_states = 0;
        w->budget = 0;
        w->node_next = w->node_end = 0;
        w->st = NRPS_OK;
        if (evs[t]->max_batch < m->batch) m->batch = evs[t]->max_batch;
    }
    if (m->batch < 1) m->batch = 1;
    place_root(m, state);
    nrps_status st = NRPS_OK;
    if (!(m->pool[0].flags & NODE_EXPANDED) && (st = expand_root(m, state)) != NRPS_OK) goto fail;
    const mcts_node *root = &m->pool[0];
    res->reused_visits = root->n > 1 ? root->n - 1 : 0;
    add_noise(m, rng);
    m->search_state = state;
    m->target = m->cfg.playouts;
    m->done = root->n - 1 > 0 ? root->n - 1 : 0;
    m->stop = 0;
    if (m->mt) {
        root_bases(m);
        nrps_pool_run(m->pool_threads, m->cfg.threads, worker_task, m);
        settle_root(m);
    } else {
        worker_run(m, &m->workers[0]);
    }
    for (int t = 0; t < m->cfg.threads; t++) {
        const mcts_worker *w = &m->workers[t];
        res->eval_calls += w->eval_calls;
        res->eval_states += w->eval_states;
        if (st == NRPS_OK && w->st != NRPS_OK) {
            st = w->st;
            nrps_set_error("%s", w->err);
        }
    }
    if (st != NRPS_OK) goto fail;
    fill_result(m, state, rng, res);
    return NRPS_OK;
fail:
    m->have_root = 0;
    return st;
}
