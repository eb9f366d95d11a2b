/* inputs.c - benchmark inputs that look like the game: encoded positions (every position from the opening to
 * the last move, standard (21,5,10) deals) from self-play games between two copies of an agent (src/search/agent.h;
 * by default MCTS with the default networks, see bench_inputs_default_agent), cached in a small binary file, or
 * uniform random floats when asked.
 * Cache format: "NRPSPOS2" | u32 version (2) | u32 width | u64 count | u64 seed | char agent[256] |
 * count*width float32 (host byte order). A file whose header does not match what is asked is regenerated. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bench/bench.h"
#include "game/game.h"
#include "search/agent.h"

#define POS_MAGIC "NRPSPOS2"
enum { POS_VERSION = 2 };

typedef struct {
    char magic[8];
    uint32_t version, width;
    uint64_t count, seed;
    char agent[256];
} pos_header;

void bench_inputs_default_agent(char *spec, size_t len) {
    char ph[65], vh[65];
    if (nrps_sha256_file(AGENT_DEFAULT_POLICY, ph) == NRPS_OK && nrps_sha256_file(AGENT_DEFAULT_VALUE, vh) == NRPS_OK)
        /* the hashes make a retrained default net invalidate the cache */
        snprintf(spec, len, "mcts-net:64,temp=1,tplies=-1,policy=%s,value=%s,#%.12s%.12s", AGENT_DEFAULT_POLICY,
                 AGENT_DEFAULT_VALUE, ph, vh);
    else
        snprintf(spec, len, "mcts:64,temp=1,tplies=-1");
}

static nrps_status selfplay_positions(long n, uint64_t seed, const char *spec_text, rps_encoding enc, float *pool,
                                      bench_inputs_progress_fn fn, void *ctx) {
    char text[256];
    snprintf(text, sizeof text, "%s", spec_text);
    char *hash = strstr(text, ",#");
    if (hash) *hash = 0; /* cache tag, not part of the spec */
    agent_spec spec;
    nrps_status rc = agent_spec_parse(text, &spec);
    if (rc) return rc;
    agent *a = agent_create(&spec, seed);
    if (!a) return NRPS_ERR_ARG;
    nrps_rng rng;
    nrps_rng_seed(&rng, seed);
    rps_config cfg = rps_config_standard();
    long k = 0;
    for (uint64_t game = 0; k < n && rc == NRPS_OK; game++) {
        rps_state s;
        rps_state_deal(&s, &cfg, &rng);
        agent_new_game(a, seed * 1000003u + game);
        while (k < n && !rps_state_is_over(&s)) {
            rps_state_encode_as(&s, enc, pool + (size_t)k * RPS_INPUT_SIZE);
            k++;
            rps_move mv;
            if ((rc = agent_select_move(a, &s, &mv)) || (rc = rps_state_apply(&s, mv))) break;
        }
        if (fn && rc == NRPS_OK) fn(ctx, (long)game + 1, k, n);
        if (nrps_interrupted) {
            nrps_set_error("interrupted while generating inputs");
            rc = NRPS_ERR_INTERRUPTED;
        }
    }
    agent_destroy(a);
    return rc;
}

static int cache_read(const char *path, long n, int width, uint64_t seed, const char *spec, float *pool) {
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    pos_header h;
    int ok = fread(&h, sizeof h, 1, f) == 1 && !memcmp(h.magic, POS_MAGIC, 8) && h.version == POS_VERSION &&
             h.width == (uint32_t)width && h.count == (uint64_t)n && h.seed == seed &&
             !strncmp(h.agent, spec, sizeof h.agent) &&
             fread(pool, sizeof(float) * (size_t)width, (size_t)n, f) == (size_t)n;
    fclose(f);
    return ok;
}

static void cache_write(const char *dir, const char *path, long n, int width, uint64_t seed, const char *spec,
                        const float *pool) {
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
    snprintf(h.agent, sizeof h.agent, "%s", spec);
    if (fwrite(&h, sizeof h, 1, af.f) != 1 || fwrite(pool, sizeof(float) * (size_t)width, (size_t)n, af.f) != (size_t)n)
        nrps_atomic_abort(&af);
    else
        (void)nrps_atomic_commit(&af);
}

/* FNV-1a of the agent spec, for the cache file name. */
static unsigned long spec_tag(const char *s) {
    uint32_t h = 2166136261u;
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 16777619u;
    return (unsigned long)h;
}

nrps_status bench_inputs_make(bench_inputs_kind kind, long n, int width, uint64_t seed, const char *agent, int enc,
                              const char *cache_dir, float *pool, char *desc, size_t desc_len) {
    return bench_inputs_make_cb(kind, n, width, seed, agent, enc, cache_dir, pool, desc, desc_len, NULL, NULL);
}

nrps_status bench_inputs_make_cb(bench_inputs_kind kind, long n, int width, uint64_t seed, const char *agent, int enc,
                                 const char *cache_dir, float *pool, char *desc, size_t desc_len,
                                 bench_inputs_progress_fn fn, void *ctx) {
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
    char spec[256];
    if (agent && agent[0]) snprintf(spec, sizeof spec, "%s", agent);
    else bench_inputs_default_agent(spec, sizeof spec);
    size_t sl = strlen(spec); /* the encoding is part of the cache identity (after ",#": not part of the spec) */
    snprintf(spec + sl, sizeof spec - sl, ",#%s", rps_encoding_name((rps_encoding)enc));
    char shown[256];
    snprintf(shown, sizeof shown, "%s", spec);
    char *hash = strstr(shown, ",#");
    if (hash) *hash = 0;
    char path[1024] = "";
    if (cache_dir)
        snprintf(path, sizeof path, "%s/positions-%llu-%ld-%08lx.bin", cache_dir, (unsigned long long)seed, n,
                 spec_tag(spec));
    if (cache_dir && cache_read(path, n, width, seed, spec, pool)) {
        snprintf(desc, desc_len, "selfplay: %ld position%s from '%s' self-play games, seed %llu, %s encoding (cached %s)",
                 n, n == 1 ? "" : "s", shown, (unsigned long long)seed, rps_encoding_name((rps_encoding)enc), path);
        return NRPS_OK;
    }
    nrps_status rc = selfplay_positions(n, seed, spec, (rps_encoding)enc, pool, fn, ctx);
    if (rc) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", nrps_last_error());
        nrps_set_error("self-play inputs with '%s': %s", shown, msg);
        return rc;
    }
    if (cache_dir) cache_write(cache_dir, path, n, width, seed, spec, pool);
    snprintf(desc, desc_len, "selfplay: %ld position%s from '%s' self-play games (opening to last move), seed %llu, %s "
             "encoding", n, n == 1 ? "" : "s", shown, (unsigned long long)seed, rps_encoding_name((rps_encoding)enc));
    return NRPS_OK;
}
