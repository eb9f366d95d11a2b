/* test_game.c - the game rules (shared/DESIGN.md 1-2): captures, hands, rounds, end conditions, scoring,
 * the 81-float encoding, deals, merged moves, and perft counts pinned from tests/perft_reference.py (an
 * independent Python brute force written from DESIGN.md). */
#include <string.h>

#include "check.h"
#include "game/game.h"

static rps_config cfg_of(int deck, int hand, int rounds) {
    return (rps_config){.deck_size = deck, .hand_size = hand, .max_rounds = rounds};
}

/* A state with the given hands (hand size = n) and an empty board. */
static void setup(rps_state *s, int rounds, const int8_t *p1, const int8_t *p2, int n) {
    rps_config c = cfg_of(21, n, rounds);
    nrps_status st = rps_state_from_hands(s, &c, p1, n, p2, n);
    if (st) fprintf(stderr, "setup: %s\n", nrps_last_error());
}

static void put(rps_state *s, int pos, int type, int owner) {
    s->board[pos].type = (int8_t)type;
    s->board[pos].owner = (int8_t)owner;
}

static int apply(rps_state *s, int card, int pos) {
    return rps_state_apply(s, (rps_move){.card = (int8_t)card, .pos = (int8_t)pos}) == NRPS_OK;
}

static void test_config(void) {
    rps_config c = rps_config_standard();
    CHECK(c.deck_size == 21 && c.hand_size == 5 && c.max_rounds == 10);
    CHECK(rps_config_check(&c) == NRPS_OK);
    rps_config bad[] = {cfg_of(21, 0, 10), cfg_of(21, 17, 10), cfg_of(9, 5, 10), cfg_of(21, 5, 0),
                        cfg_of(RPS_MAX_DECK + 1, 5, 10)};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) CHECK(rps_config_check(&bad[i]) == NRPS_ERR_ARG);
    CHECK(strstr(nrps_last_error(), "deck size") != NULL);
    CHECK(rps_type_beats(RPS_ROCK, RPS_SCISSORS) && rps_type_beats(RPS_PAPER, RPS_ROCK) &&
          rps_type_beats(RPS_SCISSORS, RPS_PAPER));
    CHECK(!rps_type_beats(RPS_SCISSORS, RPS_ROCK) && !rps_type_beats(RPS_ROCK, RPS_PAPER) &&
          !rps_type_beats(RPS_PAPER, RPS_SCISSORS) && !rps_type_beats(RPS_ROCK, RPS_ROCK));
}

static void test_deal_pinned(void) {
    /* Seed 1, standard: pinned; also reproduced by a Python re-implementation of xoshiro256** + Lemire +
     * Durstenfeld shuffle (from the top) when this test was written. */
    static const int8_t p1[5] = {0, 0, 0, 2, 0}, p2[5] = {2, 1, 1, 2, 0};
    rps_config c = rps_config_standard();
    rps_state a, b;
    nrps_rng r;
    nrps_rng_seed(&r, 1);
    rps_state_deal(&a, &c, &r);
    CHECK(memcmp(a.hand[RPS_P1], p1, 5) == 0);
    CHECK(memcmp(a.hand[RPS_P2], p2, 5) == 0);
    CHECK(a.hand_len[RPS_P1] == 5 && a.hand_len[RPS_P2] == 5);
    CHECK(a.to_move == RPS_P1 && a.round == 1 && a.ply == 0);
    for (int p = 0; p < 9; p++) CHECK(a.board[p].owner == RPS_NONE && a.board[p].type == -1);
    /* Same seed, same deal; the deal takes its whole shuffle from the rng. */
    for (uint64_t seed = 0; seed < 50; seed++) {
        nrps_rng r1, r2;
        nrps_rng_seed(&r1, seed);
        nrps_rng_seed(&r2, seed);
        rps_state_deal(&a, &c, &r1);
        rps_state_deal(&b, &c, &r2);
        CHECK(memcmp(&a, &b, sizeof a) == 0);
        /* hands are a possible deal: at most 7 of each type in the 21-card deck, always true; types valid */
        for (int pl = 1; pl <= 2; pl++)
            for (int i = 0; i < 5; i++) CHECK(a.hand[pl][i] >= 0 && a.hand[pl][i] <= 2);
    }
    /* Deals vary across seeds (not all identical). */
    nrps_rng r3;
    nrps_rng_seed(&r3, 2);
    rps_state_deal(&b, &c, &r3);
    nrps_rng_seed(&r, 1);
    rps_state_deal(&a, &c, &r);
    CHECK(memcmp(a.hand, b.hand, sizeof a.hand) != 0);
    /* Type frequencies over many deals are close to 1/3 each. */
    int cnt[3] = {0, 0, 0};
    nrps_rng_seed(&r, 99);
    for (int i = 0; i < 3000; i++) {
        rps_state_deal(&a, &c, &r);
        for (int k = 0; k < 5; k++) cnt[a.hand[RPS_P1][k]]++;
    }
    for (int t = 0; t < 3; t++) CHECK(cnt[t] > 4700 && cnt[t] < 5300);
}

static void test_from_hands_validation(void) {
    rps_state s;
    rps_config c = cfg_of(6, 3, 10);
    int8_t ok1[3] = {0, 1, 2}, ok2[3] = {0, 1, 2}, bad[3] = {0, 3, 1}, rocks[3] = {0, 0, 0};
    CHECK(rps_state_from_hands(&s, &c, ok1, 3, ok2, 3) == NRPS_OK);
    CHECK(rps_state_from_hands(&s, &c, ok1, 3, bad, 3) == NRPS_ERR_ARG);
    CHECK(strstr(nrps_last_error(), "Player2 card 1 has type 3") != NULL);
    CHECK(rps_state_from_hands(&s, &c, ok1, 2, ok2, 3) == NRPS_ERR_ARG);
    /* a 6-card deck has 2 rocks: three in one hand cannot have been dealt */
    CHECK(rps_state_from_hands(&s, &c, rocks, 3, ok2, 3) == NRPS_ERR_ARG);
    CHECK(strstr(nrps_last_error(), "Rock") != NULL);
}

static void test_capture_four_directions(void) {
    /* Paper placed at the centre by Player1 captures the four Player2 rocks around it. */
    int8_t p1[2] = {RPS_PAPER, RPS_ROCK}, p2[2] = {RPS_ROCK, RPS_ROCK};
    rps_state s;
    setup(&s, 10, p1, p2, 2);
    put(&s, 1, RPS_ROCK, RPS_P2); /* up */
    put(&s, 5, RPS_ROCK, RPS_P2); /* right */
    put(&s, 7, RPS_ROCK, RPS_P2); /* down */
    put(&s, 3, RPS_ROCK, RPS_P2); /* left */
    put(&s, 0, RPS_ROCK, RPS_P2); /* diagonal: never captured */
    REQUIRE(apply(&s, 0, 4));
    CHECK(s.board[4].owner == RPS_P1 && s.board[4].type == RPS_PAPER);
    CHECK(s.board[1].owner == RPS_P1 && s.board[5].owner == RPS_P1);
    CHECK(s.board[7].owner == RPS_P1 && s.board[3].owner == RPS_P1);
    for (int p = 1; p < 9; p += 2) CHECK(s.board[p].type == RPS_ROCK); /* types unchanged */
    CHECK(s.board[0].owner == RPS_P2);
    int a, b;
    rps_state_score(&s, &a, &b);
    CHECK(a == 5 && b == 1);
    /* Each direction on its own, from corners and edges, for both players. */
    static const int cases[][2] = {{0, 1}, {0, 3}, {8, 5}, {8, 7}, {2, 1}, {2, 5}, {6, 3}, {6, 7}, {4, 1}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        for (int mover = 1; mover <= 2; mover++) {
            int8_t h1[2] = {RPS_SCISSORS, RPS_SCISSORS}, h2[2] = {RPS_SCISSORS, RPS_SCISSORS};
            setup(&s, 10, h1, h2, 2);
            if (mover == RPS_P2) REQUIRE(apply(&s, 0, cases[i][0] == 0 ? 8 : 0));
            put(&s, cases[i][1], RPS_PAPER, 3 - mover);
            REQUIRE(apply(&s, 0, cases[i][0]));
            CHECK(s.board[cases[i][1]].owner == mover);
        }
    }
}

static void test_capture_rules(void) {
    rps_state s;
    /* Only beaten types are captured; equal and stronger types and own cards stay. */
    int8_t p1[2] = {RPS_ROCK, RPS_ROCK}, p2[2] = {RPS_PAPER, RPS_PAPER};
    setup(&s, 10, p1, p2, 2);
    put(&s, 1, RPS_SCISSORS, RPS_P2); /* beaten: captured */
    put(&s, 3, RPS_ROCK, RPS_P2);     /* equal: stays */
    put(&s, 5, RPS_PAPER, RPS_P2);    /* stronger: stays */
    put(&s, 7, RPS_SCISSORS, RPS_P1); /* own: stays own */
    REQUIRE(apply(&s, 0, 4));
    CHECK(s.board[1].owner == RPS_P1);
    CHECK(s.board[3].owner == RPS_P2);
    CHECK(s.board[5].owner == RPS_P2);
    CHECK(s.board[7].owner == RPS_P1);

    /* No chains: the captured card does not attack its own neighbours. P1 Rock at 0 captures P2 Scissors
     * at 1; the Scissors would beat the P2 Paper at 2, which must stay Player2's. */
    setup(&s, 10, p1, p2, 2);
    put(&s, 1, RPS_SCISSORS, RPS_P2);
    put(&s, 2, RPS_PAPER, RPS_P2);
    REQUIRE(apply(&s, 0, 0));
    CHECK(s.board[1].owner == RPS_P1);
    CHECK(s.board[2].owner == RPS_P2);

    /* Only the placed card attacks: P1's Scissors at 3 next to P2's Paper at 4 does nothing when P1 places
     * elsewhere; P2's Paper placed next to P1's Scissors is not captured either (defender never attacks). */
    int8_t q1[2] = {RPS_ROCK, RPS_SCISSORS}, q2[2] = {RPS_PAPER, RPS_PAPER};
    setup(&s, 10, q1, q2, 2);
    REQUIRE(apply(&s, 1, 3)); /* P1 Scissors at 3 */
    REQUIRE(apply(&s, 0, 4)); /* P2 Paper at 4 next to it: not captured, and Paper does not beat Scissors */
    CHECK(s.board[4].owner == RPS_P2 && s.board[3].owner == RPS_P1);
    REQUIRE(apply(&s, 0, 8)); /* P1 Rock at 8: no neighbours owned by P2 */
    CHECK(s.board[4].owner == RPS_P2);
    /* P2 Paper at 0 beats nothing adjacent (3 is Scissors) */
    REQUIRE(apply(&s, 0, 0));
    CHECK(s.board[3].owner == RPS_P1);
    /* A Player2 placement captures for Player2. */
    int8_t r1[2] = {RPS_PAPER, RPS_PAPER}, r2[2] = {RPS_SCISSORS, RPS_SCISSORS};
    setup(&s, 10, r1, r2, 2);
    REQUIRE(apply(&s, 0, 4));
    REQUIRE(apply(&s, 0, 5));
    CHECK(s.board[4].owner == RPS_P2 && s.board[5].owner == RPS_P2);
}

static void test_hand_order_and_legality(void) {
    int8_t p1[5] = {0, 1, 2, 0, 1}, p2[5] = {2, 2, 1, 0, 0};
    rps_state s;
    setup(&s, 10, p1, p2, 5);
    CHECK(!rps_state_is_legal(&s, (rps_move){5, 0}));  /* card index out of range */
    CHECK(!rps_state_is_legal(&s, (rps_move){-1, 0}));
    CHECK(!rps_state_is_legal(&s, (rps_move){0, 9}));  /* position out of range */
    CHECK(!rps_state_is_legal(&s, (rps_move){0, -1}));
    REQUIRE(apply(&s, 2, 4)); /* P1 plays Scissors (index 2) */
    static const int8_t want1[4] = {0, 1, 0, 1};
    CHECK(s.hand_len[RPS_P1] == 4 && memcmp(s.hand[RPS_P1], want1, 4) == 0);
    CHECK(s.board[4].type == RPS_SCISSORS && s.board[4].owner == RPS_P1);
    rps_state before = s;
    CHECK(rps_state_apply(&s, (rps_move){0, 4}) == NRPS_ERR_ILLEGAL); /* occupied */
    CHECK(memcmp(&before, &s, sizeof s) == 0);                          /* state unchanged */
    CHECK(rps_state_apply(&s, (rps_move){5, 0}) == NRPS_ERR_ILLEGAL);
    CHECK(memcmp(&before, &s, sizeof s) == 0);
    REQUIRE(apply(&s, 0, 0)); /* P2 plays its first card */
    static const int8_t want2[4] = {2, 1, 0, 0};
    CHECK(s.hand_len[RPS_P2] == 4 && memcmp(s.hand[RPS_P2], want2, 4) == 0);
    REQUIRE(apply(&s, 3, 8)); /* last card of P1 */
    static const int8_t want3[3] = {0, 1, 0};
    CHECK(s.hand_len[RPS_P1] == 3 && memcmp(s.hand[RPS_P1], want3, 3) == 0);
    /* Legal moves: card outer, position inner; occupied cells skipped. */
    rps_move mv[RPS_MAX_MOVES];
    int n = rps_state_legal_moves(&s, mv);
    CHECK(n == 4 * 6);
    CHECK(mv[0].card == 0 && mv[0].pos == 1 && mv[5].card == 0 && mv[5].pos == 7 && mv[6].card == 1 && mv[6].pos == 1);
    for (int i = 0; i < n; i++) CHECK(rps_state_is_legal(&s, mv[i]));
}

static void test_distinct_moves(void) {
    int8_t p1[5] = {1, 0, 1, 0, 1}, p2[5] = {2, 2, 2, 2, 2};
    rps_state s;
    setup(&s, 10, p1, p2, 5);
    rps_move mv[RPS_MAX_MOVES];
    int n = rps_state_distinct_moves(&s, mv);
    CHECK(n == 2 * 9);
    CHECK(mv[0].card == 0 && mv[0].pos == 0 && mv[9].card == 1 && mv[9].pos == 0 && mv[17].card == 1 && mv[17].pos == 8);
    REQUIRE(apply(&s, 0, 0));
    n = rps_state_distinct_moves(&s, mv);
    CHECK(n == 8); /* Player2 holds only Scissors */
    for (int i = 0; i < n; i++) CHECK(mv[i].card == 0 && mv[i].pos == i + 1);
    int c[3];
    rps_state_hand_counts(&s, RPS_P1, c);
    CHECK(c[0] == 2 && c[1] == 2 && c[2] == 0);
    rps_state_hand_counts(&s, RPS_P2, c);
    CHECK(c[0] == 0 && c[1] == 0 && c[2] == 5);
}

static void test_round_counting(void) {
    nrps_rng r;
    nrps_rng_seed(&r, 5);
    rps_config c = rps_config_standard();
    rps_state s;
    rps_state_deal(&s, &c, &r);
    static const int rounds_after[9] = {1, 2, 2, 3, 3, 4, 4, 5, 5};
    for (int k = 0; k < 9; k++) {
        CHECK(s.to_move == (k % 2 ? RPS_P2 : RPS_P1));
        CHECK(!rps_state_is_over(&s));
        rps_move mv[RPS_MAX_MOVES];
        REQUIRE(rps_state_legal_moves(&s, mv) > 0);
        REQUIRE(apply(&s, 0, k)); /* fill positions 0..8 in order */
        CHECK(s.round == rounds_after[k]);
        CHECK(s.ply == k + 1);
    }
}

static void test_end_conditions(void) {
    rps_state s;
    rps_move mv[RPS_MAX_MOVES];
    /* 1. Board full (standard game: 9 plies, Player2 keeps one card). */
    nrps_rng r;
    nrps_rng_seed(&r, 11);
    rps_config c = rps_config_standard();
    rps_state_deal(&s, &c, &r);
    for (int k = 0; k < 9; k++) REQUIRE(apply(&s, 0, 8 - k));
    CHECK(rps_state_is_over(&s));
    CHECK(s.hand_len[RPS_P2] == 1 && s.hand_len[RPS_P1] == 0 && s.to_move == RPS_P2);
    CHECK(rps_state_legal_moves(&s, mv) == 0 && rps_state_distinct_moves(&s, mv) == 0);
    int a, b;
    rps_state_score(&s, &a, &b);
    CHECK(a + b == 9 && rps_state_winner(&s) == (a > b ? RPS_P1 : RPS_P2));

    /* 2. Both hands empty (hand 3: 6 plies, board not full). */
    int8_t h[3] = {0, 1, 2};
    rps_config c3 = cfg_of(6, 3, 10);
    REQUIRE(rps_state_from_hands(&s, &c3, h, 3, h, 3) == NRPS_OK);
    for (int k = 0; k < 6; k++) {
        CHECK(!rps_state_is_over(&s));
        REQUIRE(apply(&s, 0, k));
    }
    CHECK(rps_state_is_over(&s) && s.hand_len[1] == 0 && s.hand_len[2] == 0);
    CHECK(rps_state_legal_moves(&s, mv) == 0);

    /* 3. Round limit: max_rounds 2 ends the game after 4 plies with cards left. */
    int8_t h5[5] = {0, 1, 2, 0, 1};
    setup(&s, 2, h5, h5, 5);
    for (int k = 0; k < 4; k++) {
        CHECK(!rps_state_is_over(&s));
        REQUIRE(apply(&s, 0, k));
    }
    CHECK(s.round == 3 && rps_state_is_over(&s));
    CHECK(rps_state_legal_moves(&s, mv) == 0);
    CHECK(!rps_state_is_legal(&s, (rps_move){0, 5}));
    CHECK(rps_state_apply(&s, (rps_move){0, 5}) == NRPS_ERR_ILLEGAL);

    /* 4. The player to move has an empty hand while the other still holds cards. */
    setup(&s, 10, h5, h5, 5);
    s.hand_len[RPS_P1] = 0;
    CHECK(rps_state_is_over(&s));
    CHECK(rps_state_legal_moves(&s, mv) == 0);
    s.to_move = RPS_P2;
    CHECK(!rps_state_is_over(&s)); /* Player2 could still move */

    /* 5. Board full before the hands are empty (hand 16). */
    int8_t big[16];
    for (int i = 0; i < 16; i++) big[i] = (int8_t)(i % 3);
    rps_config c16 = cfg_of(40, 16, 100);
    REQUIRE(rps_state_from_hands(&s, &c16, big, 16, big, 16) == NRPS_OK);
    for (int k = 0; k < 9; k++) REQUIRE(apply(&s, 15 - k / 2, k));
    CHECK(rps_state_is_over(&s) && s.hand_len[1] == 11 && s.hand_len[2] == 12);
}

static void test_winner_score(void) {
    int8_t h[3] = {0, 1, 2};
    rps_state s;
    setup(&s, 10, h, h, 3);
    put(&s, 0, 0, RPS_P1);
    put(&s, 1, 0, RPS_P1);
    put(&s, 2, 0, RPS_P2);
    int a, b;
    rps_state_score(&s, &a, &b);
    CHECK(a == 2 && b == 1 && rps_state_winner(&s) == RPS_P1);
    put(&s, 3, 1, RPS_P2);
    CHECK(rps_state_winner(&s) == RPS_NONE);
    put(&s, 4, 1, RPS_P2);
    CHECK(rps_state_winner(&s) == RPS_P2);
    /* cards in hand do not count: hands are full here and the score is board-only */
    rps_state_score(&s, &a, &b);
    CHECK(a == 2 && b == 3);
}

static void test_encoding_bits(void) {
    /* Board: 0 = P1 Rock, 4 = P2 Paper, 8 = P1 Scissors, rest empty; Player2 to move. */
    int8_t h[3] = {0, 1, 2};
    rps_state s;
    setup(&s, 10, h, h, 3);
    put(&s, 0, RPS_ROCK, RPS_P1);
    put(&s, 4, RPS_PAPER, RPS_P2);
    put(&s, 8, RPS_SCISSORS, RPS_P1);
    s.to_move = RPS_P2;
    float x[RPS_INPUT_SIZE];
    rps_state_encode(&s, x);
    float want[RPS_INPUT_SIZE];
    memset(want, 0, sizeof want);
    for (int p = 0; p < 9; p++) {
        want[9 * p + 7] = 1; /* P2 to move */
        want[9 * p + 3] = 1; /* empty */
    }
    want[0 + 3] = 0, want[0 + 0] = 1, want[0 + 4] = 1;
    want[36 + 3] = 0, want[36 + 1] = 1, want[36 + 5] = 1;
    want[72 + 3] = 0, want[72 + 2] = 1, want[72 + 4] = 1;
    for (int i = 0; i < RPS_INPUT_SIZE; i++) CHECK_MSG(x[i] == want[i], "input %d = %g, want %g", i, x[i], want[i]);
    /* Player1 to move flips bits 6/7 of every cell; b+8 always 0; exactly one of b+3..5. */
    s.to_move = RPS_P1;
    rps_state_encode(&s, x);
    for (int p = 0; p < 9; p++) {
        CHECK(x[9 * p + 6] == 1 && x[9 * p + 7] == 0 && x[9 * p + 8] == 0);
        CHECK(x[9 * p + 3] + x[9 * p + 4] + x[9 * p + 5] == 1);
        CHECK(x[9 * p + 0] + x[9 * p + 1] + x[9 * p + 2] == (s.board[p].owner ? 1 : 0));
    }
}

static void test_encoding_hands(void) {
    /* Player1 holds R R S, Player2 P S S: the hands encoding writes the counts into b+8 of cells 0-5 */
    int8_t h1[3] = {RPS_ROCK, RPS_ROCK, RPS_SCISSORS}, h2[3] = {RPS_PAPER, RPS_SCISSORS, RPS_SCISSORS};
    rps_state s;
    setup(&s, 10, h1, h2, 3);
    float xb[RPS_INPUT_SIZE], xh[RPS_INPUT_SIZE], xd[RPS_INPUT_SIZE];
    rps_state_encode(&s, xd);
    rps_state_encode_as(&s, RPS_ENC_BOARD, xb);
    rps_state_encode_as(&s, RPS_ENC_HANDS, xh);
    CHECK(memcmp(xd, xb, sizeof xb) == 0); /* rps_state_encode is the board encoding */
    const float want8[9] = {2, 0, 1, 0, 1, 2, 0, 0, 0};
    for (int p = 0; p < 9; p++) {
        for (int k = 0; k < 8; k++) CHECK(xh[9 * p + k] == xb[9 * p + k]); /* the rest is DESIGN.md's */
        CHECK(xb[9 * p + 8] == 0);
        CHECK_MSG(xh[9 * p + 8] == want8[p], "cell %d b+8 = %g, want %g", p, xh[9 * p + 8], want8[p]);
    }
    /* after Player1 plays its Scissors (hand index 2) the count drops */
    REQUIRE(apply(&s, 2, 4));
    rps_state_encode_as(&s, RPS_ENC_HANDS, xh);
    CHECK(xh[0 * 9 + 8] == 2 && xh[2 * 9 + 8] == 0 && xh[5 * 9 + 8] == 2);
    /* names */
    rps_encoding e = RPS_ENC_HANDS;
    CHECK(rps_encoding_parse("board", &e) && e == RPS_ENC_BOARD);
    CHECK(rps_encoding_parse("hands", &e) && e == RPS_ENC_HANDS);
    CHECK(rps_encoding_parse("", &e) && e == RPS_ENC_BOARD); /* no metadata: DESIGN.md's encoding */
    CHECK(rps_encoding_parse(NULL, &e) && e == RPS_ENC_BOARD);
    CHECK(!rps_encoding_parse("Hands", &e) && !rps_encoding_parse("hands ", &e));
    CHECK(!strcmp(rps_encoding_name(RPS_ENC_HANDS), "hands") && !strcmp(rps_encoding_name(RPS_ENC_BOARD), "board"));
}

static void test_print(void) {
    int8_t h[3] = {0, 1, 2};
    rps_state s;
    setup(&s, 10, h, h, 3);
    REQUIRE(apply(&s, 2, 4));
    char buf[1024] = {0};
    FILE *f = fmemopen(buf, sizeof buf - 1, "w");
    REQUIRE(f);
    rps_state_print(&s, f);
    fclose(f);
    CHECK(strstr(buf, ".  S1 .") != NULL);
    CHECK(strstr(buf, "Player1 hand: 0:R 1:P") != NULL);
    CHECK(strstr(buf, "Player2 to move") != NULL);
}

/* perft: positions per depth (terminal positions not expanded) and outcome tally over complete games. */
typedef struct { long long nodes[RPS_MAX_PLIES + 1]; long long wins[3]; } perft_t;

static void perft(const rps_state *s, int depth, int merged, perft_t *pt) {
    pt->nodes[depth]++;
    rps_move mv[RPS_MAX_MOVES];
    int n = merged ? rps_state_distinct_moves(s, mv) : rps_state_legal_moves(s, mv);
    if (n == 0) {
        CHECK(rps_state_is_over(s));
        int w = rps_state_winner(s);
        pt->wins[w == RPS_P1 ? 0 : w == RPS_P2 ? 1 : 2]++;
        return;
    }
    for (int i = 0; i < n; i++) {
        rps_state c = *s;
        rps_state_apply(&c, mv[i]);
        perft(&c, depth + 1, merged, pt);
    }
}

static void check_perft(int rounds, const int8_t *p1, const int8_t *p2, int n, int merged, const long long *want,
                        int nd, const long long wins[3]) {
    rps_state s;
    setup(&s, rounds, p1, p2, n);
    perft_t pt;
    memset(&pt, 0, sizeof pt);
    perft(&s, 0, merged, &pt);
    for (int d = 0; d < nd; d++) CHECK_MSG(pt.nodes[d] == want[d], "depth %d: %lld, want %lld", d, pt.nodes[d], want[d]);
    CHECK(nd > RPS_MAX_PLIES || pt.nodes[nd] == 0);
    for (int k = 0; k < 3; k++) CHECK_MSG(pt.wins[k] == wins[k], "outcome %d: %lld, want %lld", k, pt.wins[k], wins[k]);
}

static void test_perft(void) {
    /* Pinned from `python3 tests/perft_reference.py` (independent implementation). Node counts per depth
     * follow from the hand sizes and empty cells alone (e.g. 27 = 3 cards x 9 cells, 648 = 27 x 3 x 8), so
     * they check move generation and the end conditions; the outcome tallies check captures and scoring. */
    static const int8_t a1[3] = {0, 1, 2}, a2[3] = {0, 1, 2};
    static const long long a_n[] = {1, 27, 648, 9072, 108864, 544320, 2177280};
    static const long long a_w[] = {296952, 864816, 1015512};
    check_perft(10, a1, a2, 3, 0, a_n, 7, a_w);
    check_perft(10, a1, a2, 3, 1, a_n, 7, a_w); /* all types distinct: merging changes nothing */
    static const int8_t b1[3] = {0, 0, 2}, b2[3] = {1, 1, 1};
    static const long long b_w[] = {114912, 1429440, 632928};
    check_perft(10, b1, b2, 3, 0, a_n, 7, b_w);
    static const long long bm_n[] = {1, 18, 144, 1512, 9072, 45360, 181440};
    static const long long bm_w[] = {9576, 119120, 52744};
    check_perft(10, b1, b2, 3, 1, bm_n, 7, bm_w);
    static const int8_t c1[4] = {0, 1, 2, 0}, c2[4] = {2, 2, 1, 0};
    static const long long c_n[] = {1, 36, 1152, 24192, 435456}, c_w[] = {34520, 109856, 291080};
    check_perft(2, c1, c2, 4, 0, c_n, 5, c_w); /* max_rounds 2: every game stops after 4 plies */
    static const long long cm_n[] = {1, 27, 648, 10584, 148176}, cm_w[] = {10616, 39304, 98256};
    check_perft(2, c1, c2, 4, 1, cm_n, 5, cm_w);
    static const int8_t d1[2] = {2, 1}, d2[2] = {0, 0};
    static const long long d_n[] = {1, 18, 288}, d_w[] = {0, 48, 240};
    check_perft(1, d1, d2, 2, 0, d_n, 3, d_w);
    static const long long dm_n[] = {1, 18, 144}, dm_w[] = {0, 24, 120};
    check_perft(1, d1, d2, 2, 1, dm_n, 3, dm_w);
}

/* rps_random_positions: non-terminal, reproducible from the seed, spread over the plies. */
static void test_random_positions(void) {
    rps_state a[300], b[300];
    rps_random_positions(a, 300, 9);
    rps_random_positions(b, 300, 9);
    int over = 0, same = 1, plies[RPS_CELLS + 1] = {0};
    for (int i = 0; i < 300; i++) {
        over += rps_state_is_over(&a[i]);
        same &= a[i].ply == b[i].ply && a[i].to_move == b[i].to_move && !memcmp(a[i].board, b[i].board, sizeof a[i].board);
        if (a[i].ply >= 0 && a[i].ply <= RPS_CELLS) plies[a[i].ply]++;
    }
    CHECK(over == 0 && same);
    int seen = 0;
    for (int p = 0; p < RPS_CELLS; p++) seen += plies[p] > 0;
    CHECK_MSG(seen == RPS_CELLS, "positions at %d of the 9 plies 0..8", seen);
}

int main(void) {
    RUN(test_config);
    RUN(test_deal_pinned);
    RUN(test_from_hands_validation);
    RUN(test_capture_four_directions);
    RUN(test_capture_rules);
    RUN(test_hand_order_and_legality);
    RUN(test_distinct_moves);
    RUN(test_round_counting);
    RUN(test_end_conditions);
    RUN(test_winner_score);
    RUN(test_encoding_bits);
    RUN(test_encoding_hands);
    RUN(test_print);
    RUN(test_perft);
    RUN(test_random_positions);
    return check_summary("game");
}
