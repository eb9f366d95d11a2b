/* mcts.c - PUCT MCTS with batched leaf evaluation, virtual loss, exact terminal scoring, Dirichlet
 * root noise, temperature move choice and tree reuse (see mcts.h for the contract). */
#include "search/mcts.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { MCTS_MAX_DEPTH = RPS_CELLS + 1 }; /* root + at most 9 plies */
enum { NODE_EXPANDED = 1, NODE_TERMINAL = 2, NODE_PENDING = 4 };

typedef struct {
    int32_t child;   /* first child in the pool, -1 when not expanded */
    uint8_t nchild;
    uint8_t flags;
    int8_t type, pos; /* the move into this node */
    int8_t mover;     /* player who made that move: w is from this player's point of view */
    float prior;
    int32_t n;        /* completed visits */
    float vl;         /* virtual visits in flight */
    double w;         /* sum of backed-up values for mover */
} mcts_node;

struct mcts {
    mcts_config cfg;
    mcts_node *pool, *spare; /* spare: target of subtree compaction */
    /* eval_id[i]: the evaluator's id of node i's evaluation (evaluate_from; MCTS_EVAL_NONE when it has none),
     * beside the pool so that the node stays 32 bytes; spare_id follows spare through compaction. */
    uint32_t *eval_id, *spare_id;
    int cap, used;
    int have_root;
    rps_state root_state;
    int root_noised;
    float clean_prior[MCTS_MAX_CHILDREN];
    /* batch buffers */
    rps_state *states;
    float *policy, *value;
    uint32_t *from, *ids; /* evaluate_from: the leaves' parents' ids in, their own out */
    int32_t *paths; /* batch x MCTS_MAX_DEPTH */
    int *path_len;
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
    if (!(c->virtual_loss >= 0 && c->virtual_loss < 1e6)) {
        nrps_set_error("mcts: virtual loss must be >= 0, got %g", c->virtual_loss);
        return NRPS_ERR_ARG;
    }
    return NRPS_OK;
}

mcts *mcts_create(const mcts_config *cfg) {
    if (mcts_config_check(cfg) != NRPS_OK) return NULL;
    mcts *m = calloc(1, sizeof *m);
    if (!m) goto nomem;
    m->cfg = *cfg;
    /* every expansion follows one visit: at most playouts + 2 expanded nodes, each with <= 27 children */
    m->cap = 1 + (cfg->playouts + 2) * MCTS_MAX_CHILDREN;
    m->pool = malloc((size_t)m->cap * sizeof *m->pool);
    m->spare = cfg->reuse_tree ? malloc((size_t)m->cap * sizeof *m->spare) : NULL;
    m->eval_id = malloc((size_t)m->cap * sizeof *m->eval_id);
    m->spare_id = cfg->reuse_tree ? malloc((size_t)m->cap * sizeof *m->spare_id) : NULL;
    m->from = malloc((size_t)cfg->batch * sizeof *m->from);
    m->ids = malloc((size_t)cfg->batch * sizeof *m->ids);
    m->states = malloc((size_t)cfg->batch * sizeof *m->states);
    m->policy = malloc((size_t)cfg->batch * RPS_POLICY_SIZE * sizeof *m->policy);
    m->value = malloc((size_t)cfg->batch * sizeof *m->value);
    m->paths = malloc((size_t)cfg->batch * MCTS_MAX_DEPTH * sizeof *m->paths);
    m->path_len = malloc((size_t)cfg->batch * sizeof *m->path_len);
    if (!m->pool || (cfg->reuse_tree && (!m->spare || !m->spare_id)) || !m->eval_id || !m->from || !m->ids ||
        !m->states || !m->policy || !m->value || !m->paths || !m->path_len) {
        mcts_destroy(m);
        goto nomem;
    }
    return m;
nomem:
    nrps_set_error("mcts: out of memory for %d playouts", cfg->playouts);
    return NULL;
}

void mcts_destroy(mcts *m) {
    if (!m) return;
    free(m->pool);
    free(m->spare);
    free(m->eval_id);
    free(m->spare_id);
    free(m->from);
    free(m->ids);
    free(m->states);
    free(m->policy);
    free(m->value);
    free(m->paths);
    free(m->path_len);
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

/* Builds the children of node (state s to move) from the evaluator's position priors. */
static nrps_status expand(mcts *m, mcts_node *node, const rps_state *s, const float *pol) {
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
    if (m->used + nl * nt > m->cap) {
        nrps_set_error("mcts: node pool exhausted (%d nodes)", m->cap);
        return NRPS_ERR_NOMEM;
    }
    int first = m->used;
    m->used += nl * nt;
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
    node->flags |= NODE_EXPANDED;
    return NRPS_OK;
}

/* Adds one visit with value v1 (for player 1) to every node on the path and removes its virtual loss. */
static void backup(mcts *m, const int32_t *path, int len, double v1, double vl) {
    for (int i = 0; i < len; i++) {
        mcts_node *n = &m->pool[path[i]];
        n->w += n->mover == RPS_P1 ? v1 : 1.0 - v1;
        n->n += 1;
        n->vl -= (float)vl;
        if (n->vl < 0.5f * (float)vl) n->vl = 0; /* guard against float drift */
    }
}

/* PUCT child choice at node: Q (for the player to move at node, in-flight visits counted as losses)
 * + c_puct * P * sqrt(N_parent) / (1 + N_child). Unvisited children get the parent's Q (first-play urgency). */
static int32_t select_child(const mcts *m, const mcts_node *node) {
    double np = node->n + node->vl;
    double sq = sqrt(np > 1 ? np : 1);
    double fpu = 0.5;
    if (node->n > 0) {
        double q = node->w / node->n; /* for node->mover; children are chosen by the other side */
        fpu = 1.0 - q;
    }
    double best = -1e300;
    int32_t bi = node->child;
    for (int i = 0; i < node->nchild; i++) {
        const mcts_node *c = &m->pool[node->child + i];
        double nc = c->n + c->vl;
        double q = nc > 0 ? c->w / nc : fpu;
        double u = q + m->cfg.c_puct * c->prior * sq / (1.0 + nc);
        if (u > best) {
            best = u;
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
        n->vl = 0;
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

/* Evaluates m->states[0..n) (through evaluate_from when the evaluator has it, from m->from) and records each
 * evaluation's id on its node: the root (leaves == 0) or the leaves of m->paths. */
static nrps_status run_eval(mcts *m, const mcts_evaluator *ev, int n, int leaves) {
    if (!ev->evaluate_from) return ev->evaluate(ev->ctx, m->states, n, m->policy, m->value);
    nrps_status st = ev->evaluate_from(ev->ctx, m->states, m->from, m->ids, n, m->policy, m->value);
    if (st != NRPS_OK) return st;
    for (int b = 0; b < n; b++)
        m->eval_id[leaves ? m->paths[b * MCTS_MAX_DEPTH + m->path_len[b] - 1] : 0] = m->ids[b];
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

nrps_status mcts_search_run(mcts *m, const rps_state *state, const mcts_evaluator *ev, nrps_rng *rng,
                            mcts_result *res) {
    memset(res, 0, sizeof *res);
    if (rps_state_is_over(state)) {
        nrps_set_error("mcts: cannot search a finished game");
        return NRPS_ERR_ARG;
    }
    nrps_status st = NRPS_OK;
    int batch = m->cfg.batch < ev->max_batch ? m->cfg.batch : ev->max_batch;
    if (batch < 1) batch = 1;
    const double vl = m->cfg.virtual_loss;
    place_root(m, state);
    mcts_node *root = &m->pool[0];
    if (!(root->flags & NODE_EXPANDED)) {
        m->states[0] = *state;
        m->from[0] = MCTS_EVAL_NONE;
        st = run_eval(m, ev, 1, 0);
        res->eval_calls++;
        res->eval_states++;
        if (st != NRPS_OK) goto fail;
        if ((st = expand(m, root, state, m->policy)) != NRPS_OK) goto fail;
        if (root->n == 0) {
            double v = m->value[0];
            int32_t p0 = 0;
            backup(m, &p0, 1, state->to_move == RPS_P1 ? v : 1 - v, 0);
        }
    }
    res->reused_visits = root->n > 1 ? root->n - 1 : 0;
    add_noise(m, rng);

    int target = m->cfg.playouts;
    int done = root->n - 1 > 0 ? root->n - 1 : 0;
    while (done < target) {
        if (nrps_interrupted) {
            nrps_set_error("mcts: interrupted");
            st = NRPS_ERR_INTERRUPTED;
            goto fail;
        }
        int nb = 0;
        while (nb < batch && done < target) {
            int32_t *path = &m->paths[nb * MCTS_MAX_DEPTH];
            int len = 0;
            rps_state s = *state;
            int32_t cur = 0;
            path[len++] = 0;
            while ((m->pool[cur].flags & NODE_EXPANDED) && !(m->pool[cur].flags & NODE_TERMINAL) &&
                   len < MCTS_MAX_DEPTH) {
                cur = select_child(m, &m->pool[cur]);
                play_typed(&s, m->pool[cur].type, m->pool[cur].pos);
                path[len++] = cur;
            }
            mcts_node *leaf = &m->pool[cur];
            if ((leaf->flags & NODE_TERMINAL) || rps_state_is_over(&s)) {
                leaf->flags |= NODE_TERMINAL;
                backup(m, path, len, terminal_value_p1(&s), 0);
                done++;
                continue;
            }
            if (leaf->flags & NODE_PENDING) break; /* collision: evaluate what we have */
            leaf->flags |= NODE_PENDING;
            for (int i = 0; i < len; i++) m->pool[path[i]].vl += (float)vl;
            m->states[nb] = s;
            m->from[nb] = m->eval_id[path[len > 1 ? len - 2 : 0]]; /* the parent (the root is expanded) */
            m->path_len[nb] = len;
            nb++;
            done++;
        }
        if (nb == 0) continue;
        st = run_eval(m, ev, nb, 1);
        res->eval_calls++;
        res->eval_states += nb;
        if (st != NRPS_OK) goto fail;
        for (int b = 0; b < nb; b++) {
            const int32_t *path = &m->paths[b * MCTS_MAX_DEPTH];
            int len = m->path_len[b];
            mcts_node *leaf = &m->pool[path[len - 1]];
            leaf->flags &= (uint8_t)~NODE_PENDING;
            if ((st = expand(m, leaf, &m->states[b], &m->policy[b * RPS_POLICY_SIZE])) != NRPS_OK) goto fail;
            double v = m->value[b];
            if (!isfinite(v)) v = 0.5;
            v = v < 0 ? 0 : v > 1 ? 1 : v;
            backup(m, path, len, m->states[b].to_move == RPS_P1 ? v : 1 - v, vl);
        }
    }

    root = &m->pool[0];
    res->playouts = done - res->reused_visits;
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
    return NRPS_OK;
fail:
    m->have_root = 0;
    return st;
}
