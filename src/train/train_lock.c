/* train_lock.c - a training run folder's lock (flock on DIR/.lock) and the removal of its earlier runs' temp files
 * (see train_lock.h). */
#include "train/train_lock.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "train/train.h"

#define LOCK_NAME ".lock"
#define JOURNAL_MAX 65536

static void lock_path(char *out, size_t n, const char *dir) { snprintf(out, n, "%s/" LOCK_NAME, dir); }

/* The pids listed in the journal of fd (decimal numbers, one a line; other lines are ignored), the newest
 * TRAIN_LOCK_MAX_PIDS of them, without repeats. Returns how many. */
static int journal_read(int fd, long *pids) {
    char buf[JOURNAL_MAX + 1];
    ssize_t n = pread(fd, buf, JOURNAL_MAX, 0);
    if (n <= 0) return 0;
    buf[n] = '\0';
    int k = 0;
    for (char *line = buf, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next) *next++ = '\0';
        char *end = NULL;
        errno = 0;
        long p = line[0] >= '1' && line[0] <= '9' ? strtol(line, &end, 10) : 0;
        if (!end || *end || errno || p <= 0) continue;
        int seen = 0;
        for (int i = 0; i < k && !seen; i++) seen = pids[i] == p;
        if (seen) continue;
        if (k == TRAIN_LOCK_MAX_PIDS) { /* keep the newest */
            memmove(pids, pids + 1, (TRAIN_LOCK_MAX_PIDS - 1) * sizeof *pids);
            k--;
        }
        pids[k++] = p;
    }
    return k;
}

/* Replaces the journal with lk->prev, then this process when self. 0 on success. */
static int journal_write(const train_lock *lk, int self) {
    char buf[(TRAIN_LOCK_MAX_PIDS + 1) * 24];
    size_t len = 0;
    for (int i = 0; i < lk->n_prev; i++) len += (size_t)snprintf(buf + len, sizeof buf - len, "%ld\n", lk->prev[i]);
    if (self) len += (size_t)snprintf(buf + len, sizeof buf - len, "%ld\n", (long)getpid());
    if (pwrite(lk->fd, buf, len, 0) != (ssize_t)len || ftruncate(lk->fd, (off_t)len) != 0) return -1;
    return fdatasync(lk->fd);
}

/* "DIR: another training run holds this folder (pid N, lock DIR/.lock)": N is the journal's newest pid. */
static nrps_status held_error(int fd, const char *dir, const char *path) {
    long pids[TRAIN_LOCK_MAX_PIDS];
    int n = journal_read(fd, pids);
    char who[48] = "";
    if (n > 0) snprintf(who, sizeof who, "pid %ld, ", pids[n - 1]);
    nrps_set_error("%s: another training run holds this folder (%slock %s); wait for it to end or use another --out",
                   dir, who, path);
    return NRPS_ERR_IO;
}

nrps_status train_lock_check(const char *dir) {
    char path[1100];
    lock_path(path, sizeof path, dir);
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) return NRPS_OK; /* no lock file: no run has held the folder (or it cannot be opened: the real
                                   attempt reports that) */
    nrps_status rc = NRPS_OK;
    if (flock(fd, LOCK_SH | LOCK_NB) != 0) {
        if (errno == EWOULDBLOCK) rc = held_error(fd, dir, path);
    } else {
        flock(fd, LOCK_UN);
    }
    close(fd);
    return rc;
}

nrps_status train_lock_acquire(const char *dir, train_lock *lk) {
    memset(lk, 0, sizeof *lk);
    lk->fd = -1;
    snprintf(lk->dir, sizeof lk->dir, "%s", dir);
    char path[1100];
    lock_path(path, sizeof path, dir);
    for (int attempt = 0;; attempt++) {
        int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0666);
        if (fd < 0) {
            nrps_set_error("%s: cannot open the run folder's lock file: %s", path, strerror(errno));
            return NRPS_ERR_IO;
        }
        if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
            int err = errno;
            nrps_status rc = NRPS_ERR_IO;
            if (err == EWOULDBLOCK) rc = held_error(fd, dir, path);
            else nrps_set_error("%s: cannot lock the run folder: %s", path, strerror(err));
            close(fd);
            return rc;
        }
        /* the file locked must still be the one at the path (it is never removed by us, but be sure) */
        struct stat a, b;
        if (fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino) {
            lk->fd = fd;
            break;
        }
        close(fd);
        if (attempt == 3) {
            nrps_set_error("%s: the lock file keeps being replaced; is another program removing it?", path);
            return NRPS_ERR_IO;
        }
    }
    lk->n_prev = journal_read(lk->fd, lk->prev);
    if (journal_write(lk, 1) != 0) {
        nrps_set_error("%s: cannot write the lock file: %s", path, strerror(errno));
        close(lk->fd);
        lk->fd = -1;
        return NRPS_ERR_IO;
    }
    return NRPS_OK;
}

/* ------------------------------------------------------------------------------------------------
 * The earlier holders' temp files
 * ---------------------------------------------------------------------------------------------- */

/* "<name>.tmp.<pid>.<digits>": the temp file src/util/outfile.c makes for "<name>" in process pid. */
static int tmp_of(const char *entry, const char *name, long pid) {
    char head[1100];
    int n = snprintf(head, sizeof head, "%s.tmp.%ld.", name, pid);
    if (n < 0 || (size_t)n >= sizeof head || strncmp(entry, head, (size_t)n) != 0 || !entry[n]) return 0;
    for (const char *c = entry + n; *c; c++)
        if (*c < '0' || *c > '9') return 0;
    return 1;
}

/* Removes from folder the temp files of names left by every earlier holder (not this process). */
static void unlink_tmps(const train_lock *lk, const char *folder, const char *const *names, size_t n_names) {
    const long self = (long)getpid();
    DIR *d = opendir(folder);
    if (!d) return;
    char p[2400];
    for (struct dirent *e; (e = readdir(d));)
        for (size_t i = 0; i < n_names; i++)
            for (int k = 0; k < lk->n_prev; k++)
                if (lk->prev[k] != self && tmp_of(e->d_name, names[i], lk->prev[k])) {
                    snprintf(p, sizeof p, "%s/%s", folder, e->d_name);
                    unlink(p);
                }
    closedir(d);
}

/* "<prefix><digits>" (gen_0003, g0012). */
static int numbered(const char *name, const char *prefix) {
    size_t n = strlen(prefix);
    if (strncmp(name, prefix, n) != 0 || !name[n]) return 0;
    for (const char *c = name + n; *c; c++)
        if (*c < '0' || *c > '9') return 0;
    return 1;
}

/* The numbered subfolders of parent (gen_NNNN of checkpoint/, gNNNN of generations/), each swept for names. */
static void sweep_numbered(const train_lock *lk, const char *parent, const char *prefix, const char *const *names,
                           size_t n_names) {
    DIR *d = opendir(parent);
    if (!d) return;
    char p[2100];
    for (struct dirent *e; (e = readdir(d));) {
        if (!numbered(e->d_name, prefix)) continue;
        snprintf(p, sizeof p, "%s/%s", parent, e->d_name);
        struct stat sb;
        if (lstat(p, &sb) == 0 && S_ISDIR(sb.st_mode)) unlink_tmps(lk, p, names, n_names);
    }
    closedir(d);
}

void train_lock_sweep(train_lock *lk) {
    if (lk->fd < 0) return;
    static const char *const top[] = {"rps_policy.onnx", "rps_value.onnx", "rps_net.onnx", "summary.json"};
    static const char *const latest[] = {"LATEST"};
    static const char *const ckpt[] = {"policy.ckpt", "value.ckpt", "net.ckpt", "state.bin"};
    static const char *const nets[] = {"rps_policy.onnx", "rps_value.onnx", "rps_net.onnx"};
    if (lk->n_prev > 0) {
        char p[1200];
        unlink_tmps(lk, lk->dir, top, sizeof top / sizeof *top);
        snprintf(p, sizeof p, "%s/checkpoint", lk->dir);
        unlink_tmps(lk, p, latest, 1);
        sweep_numbered(lk, p, "gen_", ckpt, sizeof ckpt / sizeof *ckpt);
        snprintf(p, sizeof p, "%s/generations", lk->dir);
        sweep_numbered(lk, p, "g", nets, sizeof nets / sizeof *nets);
    }
    lk->n_prev = 0;
    journal_write(lk, 1); /* a failure keeps the earlier pids listed: harmless, the next run sweeps again */
}

void train_lock_release(train_lock *lk) {
    if (lk->fd < 0) return;
    journal_write(lk, 0);
    close(lk->fd); /* releases the flock */
    lk->fd = -1;
}
