/* record.c - JSON-lines game records (see record.h). */
#include "game/record.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "util/json.h"

nrps_status rps_record_start(rps_record *r, const rps_state *s) {
    if (s->ply != 0 || s->hand_len[RPS_P1] != s->cfg.hand_size || s->hand_len[RPS_P2] != s->cfg.hand_size) {
        nrps_set_error("record: can only start from a freshly dealt state (ply 0, full hands)");
        return NRPS_ERR_ARG;
    }
    memset(r, 0, sizeof *r);
    r->cfg = s->cfg;
    memcpy(r->hands[0], s->hand[RPS_P1], (size_t)s->cfg.hand_size);
    memcpy(r->hands[1], s->hand[RPS_P2], (size_t)s->cfg.hand_size);
    return NRPS_OK;
}

nrps_status rps_record_add(rps_record *r, rps_move m) {
    if (r->n_moves >= RPS_MAX_PLIES) {
        nrps_set_error("record: more than %d moves", RPS_MAX_PLIES);
        return NRPS_ERR_ARG;
    }
    r->moves[r->n_moves++] = m;
    return NRPS_OK;
}

nrps_status rps_record_write(const rps_record *r, FILE *f) {
    nrps_status st = NRPS_ERR_NOMEM;
    char *text = NULL;
    cJSON *o = cJSON_CreateObject(), *hands = NULL, *moves = NULL;
    if (!o) goto cleanup;
    if (!cJSON_AddNumberToObject(o, "deck_size", r->cfg.deck_size) ||
        !cJSON_AddNumberToObject(o, "hand_size", r->cfg.hand_size) ||
        !cJSON_AddNumberToObject(o, "max_rounds", r->cfg.max_rounds))
        goto cleanup;
    if (!(hands = cJSON_AddArrayToObject(o, "hands"))) goto cleanup;
    for (int k = 0; k < 2; k++) {
        cJSON *h = cJSON_CreateArray();
        if (!h || !cJSON_AddItemToArray(hands, h)) goto cleanup;
        for (int i = 0; i < r->cfg.hand_size; i++)
            if (!cJSON_AddItemToArray(h, cJSON_CreateNumber(r->hands[k][i]))) goto cleanup;
    }
    if (!(moves = cJSON_AddArrayToObject(o, "moves"))) goto cleanup;
    for (int i = 0; i < r->n_moves; i++) {
        int pair[2] = {r->moves[i].card, r->moves[i].pos};
        cJSON *m = cJSON_CreateIntArray(pair, 2);
        if (!m || !cJSON_AddItemToArray(moves, m)) goto cleanup;
    }
    if (!(text = cJSON_PrintUnformatted(o))) goto cleanup;
    if (fputs(text, f) < 0 || fputc('\n', f) == EOF) {
        nrps_set_error("record: write failed");
        st = NRPS_ERR_IO;
        goto cleanup;
    }
    st = NRPS_OK;
cleanup:
    if (st == NRPS_ERR_NOMEM) nrps_set_error("record: out of memory");
    cJSON_free(text);
    cJSON_Delete(o);
    return st;
}

/* An integer JSON number within [lo, hi]. */
static int get_int(const cJSON *v, long lo, long hi, long *out) {
    if (!cJSON_IsNumber(v)) return 0;
    double d = v->valuedouble;
    if (!isfinite(d) || d != floor(d) || d < (double)lo || d > (double)hi) return 0;
    *out = (long)d;
    return 1;
}

/* Prepends prefix to the current error message (copied first: the message buffer is reused). */
static void prefix_error(const char *prefix) {
    char msg[512];
    snprintf(msg, sizeof msg, "%s", nrps_last_error());
    nrps_set_error("%s%s", prefix, msg);
}

static const char *moves_name(int i) { return i == 0 ? "Player1" : "Player2"; }

nrps_status rps_record_replay(const rps_record *r, int plies, rps_state *out) {
    nrps_status st = rps_state_from_hands(out, &r->cfg, r->hands[0], r->cfg.hand_size, r->hands[1],
                                          r->cfg.hand_size);
    if (st) return st;
    if (plies < 0 || plies > r->n_moves) plies = r->n_moves;
    for (int i = 0; i < plies; i++) {
        rps_move m = r->moves[i];
        const char *why = NULL;
        char buf[96];
        if (rps_state_is_over(out)) why = "the game is already over";
        else if (m.pos < 0 || m.pos >= RPS_CELLS) why = "position out of range 0..8";
        else if (m.card < 0 || m.card >= out->hand_len[out->to_move]) {
            snprintf(buf, sizeof buf, "card index out of range: Player%d has %d card%s left", out->to_move,
                     out->hand_len[out->to_move], out->hand_len[out->to_move] == 1 ? "" : "s");
            why = buf;
        } else if (out->board[m.pos].owner != RPS_NONE) {
            snprintf(buf, sizeof buf, "position %d is already occupied", m.pos);
            why = buf;
        }
        if (why || rps_state_apply(out, m) != NRPS_OK) {
            nrps_set_error("ply %d (move [%d,%d]): illegal move: %s", i + 1, m.card, m.pos, why ? why : "rejected");
            return NRPS_ERR_ILLEGAL;
        }
    }
    return NRPS_OK;
}

nrps_status rps_record_parse(const char *line, rps_record *r) {
    memset(r, 0, sizeof *r);
    nrps_status st = NRPS_ERR_FORMAT;
    const char *end = NULL;
    cJSON *o = cJSON_ParseWithOpts(line, &end, 0);
    if (!o) {
        const char *at = cJSON_GetErrorPtr();
        long col = at && at >= line ? (long)(at - line) + 1 : 0;
        nrps_set_error("malformed JSON near column %ld", col);
        return NRPS_ERR_FORMAT;
    }
    if (end) {
        while (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n') end++;
        if (*end) {
            nrps_set_error("unexpected text after the JSON object at column %ld", (long)(end - line) + 1);
            goto cleanup;
        }
    }
    if (!cJSON_IsObject(o)) {
        nrps_set_error("expected a JSON object");
        goto cleanup;
    }
    if ((st = nrps_json_unique_keys(o)) != NRPS_OK) goto cleanup; /* ambiguous: other readers take the last value */
    st = NRPS_ERR_FORMAT;
    static const char *const keys[3] = {"deck_size", "hand_size", "max_rounds"};
    long v[3];
    for (int k = 0; k < 3; k++) {
        cJSON *x = cJSON_GetObjectItemCaseSensitive(o, keys[k]);
        if (!x) {
            nrps_set_error("missing key \"%s\"", keys[k]);
            goto cleanup;
        }
        if (!get_int(x, 0, 1000000, &v[k])) {
            nrps_set_error("\"%s\" must be a non-negative integer", keys[k]);
            goto cleanup;
        }
    }
    r->cfg = (rps_config){.deck_size = (int)v[0], .hand_size = (int)v[1], .max_rounds = (int)v[2]};
    if (rps_config_check(&r->cfg) != NRPS_OK) {
        prefix_error("invalid setup: ");
        goto cleanup;
    }
    cJSON *hands = cJSON_GetObjectItemCaseSensitive(o, "hands");
    if (!cJSON_IsArray(hands) || cJSON_GetArraySize(hands) != 2) {
        nrps_set_error("\"hands\" must be an array of two arrays");
        goto cleanup;
    }
    for (int k = 0; k < 2; k++) {
        cJSON *h = cJSON_GetArrayItem(hands, k);
        if (!cJSON_IsArray(h) || cJSON_GetArraySize(h) != r->cfg.hand_size) {
            nrps_set_error("\"hands\"[%d] (%s) must be an array of %d card type%s", k, moves_name(k),
                           r->cfg.hand_size, r->cfg.hand_size == 1 ? "" : "s");
            goto cleanup;
        }
        for (int i = 0; i < r->cfg.hand_size; i++) {
            long t;
            if (!get_int(cJSON_GetArrayItem(h, i), 0, 2, &t)) {
                nrps_set_error("\"hands\"[%d][%d]: card type must be 0 (Rock), 1 (Paper) or 2 (Scissors)", k, i);
                goto cleanup;
            }
            r->hands[k][i] = (int8_t)t;
        }
    }
    cJSON *moves = cJSON_GetObjectItemCaseSensitive(o, "moves");
    if (!cJSON_IsArray(moves)) {
        nrps_set_error("\"moves\" must be an array of [card_index, position] pairs");
        goto cleanup;
    }
    int nm = cJSON_GetArraySize(moves);
    for (int i = 0; i < nm; i++) {
        cJSON *m = cJSON_GetArrayItem(moves, i);
        long c, p;
        if (!cJSON_IsArray(m) || cJSON_GetArraySize(m) != 2 || !get_int(cJSON_GetArrayItem(m, 0), 0, 127, &c) ||
            !get_int(cJSON_GetArrayItem(m, 1), 0, 127, &p)) {
            nrps_set_error("ply %d: move must be [card_index, position] with non-negative integers", i + 1);
            goto cleanup;
        }
        if (i >= RPS_MAX_PLIES) {
            nrps_set_error("ply %d (move [%ld,%ld]): illegal move: the game is already over", i + 1, c, p);
            st = NRPS_ERR_ILLEGAL;
            goto cleanup;
        }
        r->moves[i] = (rps_move){.card = (int8_t)c, .pos = (int8_t)p};
    }
    r->n_moves = nm;
    rps_state s;
    st = rps_record_replay(r, -1, &s);
    if (st == NRPS_ERR_ARG) {
        prefix_error("invalid hands: ");
        st = NRPS_ERR_FORMAT;
    }
    if (st || !rps_state_is_over(&s)) goto cleanup;
    /* Optional "winner" (0 draw, 1, 2) and "score" ([p1, p2]) must agree with the replayed game. */
    int a, b, w = rps_state_winner(&s);
    rps_state_score(&s, &a, &b);
    cJSON *jw = cJSON_GetObjectItemCaseSensitive(o, "winner"), *js = cJSON_GetObjectItemCaseSensitive(o, "score");
    long rw, ra, rb;
    if (jw && (!get_int(jw, 0, 2, &rw) || rw != w)) {
        nrps_set_error("recorded \"winner\" does not match the replayed game (winner %d, %d-%d)", w, a, b);
        st = NRPS_ERR_FORMAT;
    } else if (js && (!cJSON_IsArray(js) || cJSON_GetArraySize(js) != 2 || !get_int(cJSON_GetArrayItem(js, 0), 0, 9, &ra) ||
                      !get_int(cJSON_GetArrayItem(js, 1), 0, 9, &rb) || ra != a || rb != b)) {
        nrps_set_error("recorded \"score\" does not match the replayed game (%d-%d)", a, b);
        st = NRPS_ERR_FORMAT;
    }
cleanup:
    cJSON_Delete(o);
    return st;
}
