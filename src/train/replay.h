/* replay.h - the replay window of self-play training: the samples of the last W generations, and the
 * training set built from them with the targets of identical positions (same network input) averaged.
 * The window owns its sample arrays. */
#ifndef NRPS_REPLAY_H
#define NRPS_REPLAY_H

#include "train/selfplay.h"

enum { REPLAY_MAX_WINDOW = 1000 };

typedef struct {
    int gen;            /* generation that produced the samples */
    sp_sample *s;       /* owned */
    long n;
} replay_gen;

typedef struct {
    int window;         /* generations kept, 1..REPLAY_MAX_WINDOW */
    int ngens;          /* generations held (<= window), oldest first */
    replay_gen g[REPLAY_MAX_WINDOW];
} replay_buffer;

/* Empty window of `window` generations (clamped to 1..REPLAY_MAX_WINDOW). */
void replay_init(replay_buffer *rb, int window);
void replay_free(replay_buffer *rb); /* frees every held array; accepts a zeroed buffer */
/* Appends generation gen's samples (takes ownership of s, a malloc'd array) and drops the oldest
 * generations beyond the window. */
void replay_add(replay_buffer *rb, int gen, sp_sample *s, long n);
long replay_sample_count(const replay_buffer *rb);

/* The training set: n distinct positions (by key, in order of first appearance, oldest generation
 * first), x[n][81] inputs, tp[n][9] mean root visit distributions, tv[n] mean results, count[n] how
 * many samples were averaged. All arrays malloc'd; replay_dataset_free releases them. */
typedef struct {
    long n;
    uint64_t *key;
    float *x, *tp, *tv;
    int *count;
} replay_dataset;

nrps_status replay_build(const replay_buffer *rb, replay_dataset *ds);
void replay_dataset_free(replay_dataset *ds); /* accepts a zeroed dataset */

#endif
