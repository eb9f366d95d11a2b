/* fuzz_record.c - libFuzzer target for game records (src/game/record.h): each line of the input goes through
 * rps_record_parse; an accepted record is replayed ply by ply (rps_record_replay), written back (finished or not) with
 * rps_record_write and parsed again, which must give the same record. Anything else must be a one-line error.
 * Seeds in tests/fuzz/corpus/fuzz_record/. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "game/record.h"

static void check_line(const char *line) {
    rps_record r, again;
    nrps_set_error("%s", ""); /* no stale message: a failure must set its own */
    if (rps_record_parse(line, &r) != NRPS_OK) {
        const char *e = nrps_last_error();
        if (!strcmp(e, "no error detail") || strchr(e, '\n')) abort(); /* one line, set */
        return;
    }
    if (r.n_moves < 0 || r.n_moves > RPS_MAX_PLIES) abort();
    rps_state s;
    for (int k = 0; k <= r.n_moves; k++)
        if (rps_record_replay(&r, k, &s) != NRPS_OK) abort(); /* parse already replayed every move */
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) return;
    nrps_status st = rps_record_write(&r, f);
    fclose(f);
    if (st != NRPS_OK) abort();
    if (rps_record_parse(buf, &again) != NRPS_OK) abort();
    if (memcmp(&again.cfg, &r.cfg, sizeof r.cfg) != 0 || again.n_moves != r.n_moves ||
        memcmp(again.hands, r.hands, sizeof r.hands) != 0 ||
        memcmp(again.moves, r.moves, (size_t)r.n_moves * sizeof r.moves[0]) != 0)
        abort();
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = 0;
    /* lines, as `neural_rps replay` splits them (a NUL inside ends that line early, like a C string) */
    for (char *p = text, *end = text + size; p <= end;) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        if (nl) *nl = 0;
        if (*p) check_line(p);
        if (!nl) break;
        p = nl + 1;
    }
    free(text);
    return 0;
}
