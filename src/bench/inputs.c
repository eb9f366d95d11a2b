/* inputs.c - benchmark inputs that look like the game: encoded positions from self-play games (random legal
 * play with the game engine, standard (21,5,10) setup: every position from the opening to the last move, so the
 * pool mixes early, middle and late boards like search requests do), cached in a small binary file, or uniform
 * random floats when asked. Cache format: "NRPSPOS1" | u32 version (1) | u32 width | u64 count | u64 seed |
 * count*width float32 (little-endian host order). */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bench/bench.h"
#include "game/game.h"

#define POS_MAGIC "NRPSPOS1"
enum { POS_VERSION = 1 };

typedef struct {
    char magic[8];
    uint32_t version, width;
    uint64_t count, seed;
} pos_header;

static void selfplay_positions(long n, uint64_t seed, float *pool) {
    nrps_rng rng;
    nrps_rng_seed(&rng, seed);
    rps_config cfg = rps_config_standard();
    rps_move moves[RPS_MAX_MOVES];
    long k = 0;
    while (k < n) {
        rps_state s;
        rps_state_deal(&s, &cfg, &rng);
        while (k < n && !rps_state_is_over(&s)) {
            rps_state_encode(&s, pool + (size_t)k * RPS_INPUT_SIZE);
            k++;
            int nm = rps_state_legal_moves(&s, moves);
            if (nm <= 0) break;
            if (rps_state_apply(&s, moves[nrps_rng_below(&rng, (uint32_t)nm)])) break;
        }
    }
}

static int cache_read(const char *path, long n, int width, uint64_t seed, float *pool) {
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    pos_header h;
    int ok = fread(&h, sizeof h, 1, f) == 1 && !memcmp(h.magic, POS_MAGIC, 8) && h.version == POS_VERSION &&
             h.width == (uint32_t)width && h.count == (uint64_t)n && h.seed == seed &&
             fread(pool, sizeof(float) * (size_t)width, (size_t)n, f) == (size_t)n;
    fclose(f);
    return ok;
}

static void cache_write(const char *dir, const char *path, long n, int width, uint64_t seed, const float *pool) {
    mkdir(dir, 0777); /* may exist; a failure shows up in the open below and is not fatal */
    nrps_atomic_file af;
    if (nrps_atomic_open(&af, path, "wb")) return;
    pos_header h;
    memset(&h, 0, sizeof h);
    memcpy(h.magic, POS_MAGIC, 8);
    h.version = POS_VERSION;
    h.width = (uint32_t)width;
    h.count = (uint64_t)n;
    h.seed = seed;
    if (fwrite(&h, sizeof h, 1, af.f) != 1 || fwrite(pool, sizeof(float) * (size_t)width, (size_t)n, af.f) != (size_t)n)
        nrps_atomic_abort(&af);
    else
        (void)nrps_atomic_commit(&af);
}

nrps_status bench_inputs_make(bench_inputs_kind kind, long n, int width, uint64_t seed, const char *cache_dir,
                              float *pool, char *desc, size_t desc_len) {
    if (n < 1 || width < 1) {
        nrps_set_error("bench inputs: bad pool size %ld x %d", n, width);
        return NRPS_ERR_ARG;
    }
    if (kind == BENCH_INPUTS_RANDOM) {
        nrps_rng rng;
        nrps_rng_seed(&rng, seed);
        for (size_t i = 0; i < (size_t)n * width; i++) pool[i] = (float)nrps_rng_uniform(&rng);
        snprintf(desc, desc_len, "random: %ld x %d uniform floats in [0,1), seed %llu", n, width,
                 (unsigned long long)seed);
        return NRPS_OK;
    }
    if (width != RPS_INPUT_SIZE) {
        nrps_set_error("self-play inputs are %d-float positions but the model takes %d inputs (use --inputs random)",
                       RPS_INPUT_SIZE, width);
        return NRPS_ERR_ARG;
    }
    char path[1024] = "";
    if (cache_dir) snprintf(path, sizeof path, "%s/positions-%llu-%ld.bin", cache_dir, (unsigned long long)seed, n);
    if (cache_dir && cache_read(path, n, width, seed, pool)) {
        snprintf(desc, desc_len, "selfplay: %ld positions from random-play games, seed %llu (cached %s)", n,
                 (unsigned long long)seed, path);
        return NRPS_OK;
    }
    selfplay_positions(n, seed, pool);
    if (cache_dir) cache_write(cache_dir, path, n, width, seed, pool);
    snprintf(desc, desc_len, "selfplay: %ld positions from random-play games (opening to last move), seed %llu", n,
             (unsigned long long)seed);
    return NRPS_OK;
}
