/* train_lock.h - PRIVATE to src/train: the lock of a training run folder, and the removal of the temp files that
 * earlier runs of the folder left behind (train_lock.c).
 *
 * DIR/.lock is the lock: a run holds flock(LOCK_EX) on it from before it reads or writes anything in DIR until it
 * ends. flock belongs to the open file, so the kernel releases it when the process dies in any way (SIGKILL, a
 * crash, power loss); the file itself is never removed (removing it would let two runs lock two different files).
 * A second run on the folder fails at once, touching nothing.
 *
 * The file's text is a journal of pids, one decimal number per line: every run that held the lock and may have
 * left temp files of its atomic writes in DIR. A run adds its own pid as soon as it holds the lock (before it
 * writes anything), and removes it on a clean exit (every temp file it made is renamed or removed by then); a run
 * killed outright stays listed. Once the folder is accepted (a fresh run: no run there; --resume: the checkpoint
 * reads), the new holder removes, for every listed pid P other than its own, exactly the files that run could
 * have left: "<F>.tmp.<P>" for each file F that training writes (DIR/{rps_policy,rps_value,rps_net}.onnx,
 * DIR/summary.json, DIR/checkpoint/LATEST, DIR/checkpoint/gen_NNNN/{policy,value,net}.ckpt and state.bin,
 * DIR/generations/gNNNN/{rps_policy,rps_value,rps_net}.onnx); then only its own pid stays listed. Nothing else
 * in DIR is ever removed. */
#ifndef NRPS_TRAIN_LOCK_H
#define NRPS_TRAIN_LOCK_H

#include "util/util.h"

enum { TRAIN_LOCK_MAX_PIDS = 64 };

typedef struct {
    int fd;                         /* the locked DIR/.lock; -1 when not held */
    char dir[1024];
    int n_prev;                     /* pids of earlier holders whose temp files are not removed yet */
    long prev[TRAIN_LOCK_MAX_PIDS];
} train_lock;

/* Takes DIR's lock (creating DIR/.lock; DIR must exist) and lists this process in its journal. Fails without
 * waiting when another process holds it: "DIR: another training run holds this folder (pid N, lock DIR/.lock)",
 * NRPS_ERR_IO; other failures name the lock file. lk->fd is -1 unless it returns NRPS_OK. */
nrps_status train_lock_acquire(const char *dir, train_lock *lk);
/* After the folder is accepted: removes the temp files of the earlier holders (see above), then lists only this
 * process. */
void train_lock_sweep(train_lock *lk);
/* Ends the hold (accepts a lock that was not taken): this process leaves the journal (the earlier holders not
 * swept yet stay), and the lock is released. */
void train_lock_release(train_lock *lk);

#endif
