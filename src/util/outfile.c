/* outfile.c - where an output path really goes, atomic writes (temp + rename, or in place for devices, FIFOs and
 * descriptors) and the registry that refuses an output that is an input or another output (see util.h,
 * "output files"). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/tmpfiles.h"
#include "util/util.h"

enum { MAX_HOPS = 40, TMP_SUFFIX = 23 /* ".tmp." + pid (at most 10 digits) + "." + 6 digits + NUL room */ };

/* ---- resolving ---- */

/* Sets "PATH: cannot write: <why>" and returns NRPS_ERR_IO. */
static nrps_status cannot(const char *path, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static nrps_status cannot(const char *path, const char *fmt, ...) {
    char why[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    nrps_set_error("%s: cannot write: %s", path, why);
    return NRPS_ERR_IO;
}

/* Splits p into its folder (copied into dir: "." when p has no '/', "/" for the root) and its last component
 * (a pointer into p, "" when p ends with '/'). Returns 0 when the folder does not fit in dn bytes. */
static int split_path(const char *p, char *dir, size_t dn, const char **base) {
    const char *slash = strrchr(p, '/');
    size_t n = !slash ? 1 : slash == p ? 1 : (size_t)(slash - p);
    if (n >= dn) return 0;
    if (!slash) memcpy(dir, ".", 2);
    else if (slash == p) memcpy(dir, "/", 2);
    else memcpy(dir, p, n), dir[n] = 0;
    *base = slash ? slash + 1 : p;
    return 1;
}

/* True (and *fd set) when rdir/base names one of this process's descriptors: rdir is the realpath of
 * /proc/self/fd or /proc/thread-self/fd ("/proc/PID/fd", "/proc/PID/task/TID/fd") and base is a number. */
static int fd_alias(const char *rdir, const char *base, int *fd) {
    char self[64];
    int n = snprintf(self, sizeof self, "/proc/%ld/", (long)getpid());
    size_t len = strlen(rdir);
    if (strncmp(rdir, self, (size_t)n) || len < 3 || strcmp(rdir + len - 3, "/fd")) return 0;
    const char *mid = rdir + n; /* "fd" or "task/TID/fd" */
    if (strcmp(mid, "fd") && strncmp(mid, "task/", 5)) return 0;
    long v;
    if (!nrps_parse_long(base, 0, INT_MAX, &v)) return 0;
    *fd = (int)v;
    return 1;
}

/* Joins a and "/" b into out (no doubled '/' after the root). Returns 0 when it does not fit. */
static int join(char *out, size_t n, const char *a, const char *b) {
    int k = snprintf(out, n, "%s%s%s", a, strcmp(a, "/") ? "/" : "", b);
    return k >= 0 && (size_t)k < n;
}

/* Fills t's kind and stat fields from its (non-symlink or missing) target. */
static nrps_status classify(const char *path, nrps_out_target *t) {
    struct stat sb;
    if (stat(t->target, &sb) != 0) {
        if (errno != ENOENT) return cannot(path, "%s", strerror(errno));
        t->kind = NRPS_OUT_REPLACE; /* a new file */
        return NRPS_OK;
    }
    if (S_ISDIR(sb.st_mode)) {
        nrps_set_error("%s is a folder, expected a file name", path);
        return NRPS_ERR_IO;
    }
    t->exists = 1;
    t->mode = (unsigned)sb.st_mode;
    t->dev = (unsigned long long)sb.st_dev;
    t->ino = (unsigned long long)sb.st_ino;
    t->kind = S_ISREG(sb.st_mode) ? NRPS_OUT_REPLACE : NRPS_OUT_INPLACE;
    return NRPS_OK;
}

/* A path ending in "/", "." or "..": a folder, or no file name at all. */
static nrps_status no_file_name(const char *path) {
    struct stat sb;
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        nrps_set_error("%s is a folder, expected a file name", path);
        return NRPS_ERR_IO;
    }
    return cannot(path, "expected a file name");
}

nrps_status nrps_out_resolve(const char *path, nrps_out_target *t) {
    memset(t, 0, sizeof *t);
    t->fd = -1;
    char cur[PATH_MAX], dir[PATH_MAX], rdir[PATH_MAX], link[PATH_MAX];
    if (!path || !path[0]) return cannot("(empty)", "expected a file name");
    if (strlen(path) >= sizeof cur) return cannot(path, "%s", strerror(ENAMETOOLONG));
    snprintf(cur, sizeof cur, "%s", path);
    for (int hop = 0; hop < MAX_HOPS; hop++) {
        const char *base;
        if (!split_path(cur, dir, sizeof dir, &base)) return cannot(path, "%s", strerror(ENAMETOOLONG));
        if (!base[0] || !strcmp(base, ".") || !strcmp(base, "..")) return no_file_name(path);
        if (!realpath(dir, rdir)) {
            if (errno == ENOENT) return cannot(path, "folder '%s' does not exist", dir);
            return cannot(path, "%s", strerror(errno));
        }
        if (fd_alias(rdir, base, &t->fd)) {
            t->kind = NRPS_OUT_FD;
            snprintf(t->target, sizeof t->target, "/proc/self/fd/%d", t->fd);
            return NRPS_OK;
        }
        if (!join(t->target, sizeof t->target, rdir, base)) return cannot(path, "%s", strerror(ENAMETOOLONG));
        struct stat sb;
        if (lstat(t->target, &sb) != 0 || !S_ISLNK(sb.st_mode)) return classify(path, t);
        ssize_t n = readlink(t->target, link, sizeof link - 1);
        if (n < 0) return cannot(path, "%s", strerror(errno));
        link[n] = 0;
        if (link[0] == '/') snprintf(cur, sizeof cur, "%s", link);
        else if (!join(cur, sizeof cur, rdir, link)) return cannot(path, "%s", strerror(ENAMETOOLONG));
    }
    return cannot(path, "%s", strerror(ELOOP));
}

/* ---- temp files ---- */

/* A number in [0, 10^6): from getrandom, or (no entropy yet) from the clock, the pid and a counter. */
static unsigned long long random_digits(void) {
    static unsigned long long counter;
    unsigned long long r;
    if (getrandom(&r, sizeof r, GRND_NONBLOCK) != (ssize_t)sizeof r) {
        r = nrps_now_ns() ^ ((unsigned long long)getpid() << 32) ^ (++counter * 0x9e3779b97f4a7c15ULL);
        r = (r ^ (r >> 31)) * 0xbf58476d1ce4e5b9ULL;
        r ^= r >> 29;
    }
    return r % 1000000ULL;
}

/* Creates "<folder of target>/<its name, cut to fit NAME_MAX>.tmp.<pid>.<6 random digits>" with O_CREAT|O_EXCL (a
 * name already taken, even by a symlink, is never opened: another is drawn). The pid lets a later run tell a
 * killed process's leftovers (src/train/train_lock.c) from anyone else's files. perm: the replaced file's permissions, or
 * -1 for a new file (0666 less the umask). Returns the descriptor and the malloc'd path in *tmp, or -1 with
 * errno set. */
static int tmp_create(const char *target, int perm, char **tmp) {
    const char *slash = strrchr(target, '/'), *base = slash + 1; /* target is absolute */
    size_t dlen = (size_t)(base - target), blen = strlen(base);
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%.*s", (int)(dlen > 1 ? dlen - 1 : 1), target);
    long name_max = pathconf(dir, _PC_NAME_MAX);
    if (name_max <= TMP_SUFFIX || name_max > 4096) name_max = 255;
    size_t keep = blen < (size_t)name_max - TMP_SUFFIX ? blen : (size_t)name_max - TMP_SUFFIX;
    while (keep > 0 && ((unsigned char)base[keep] & 0xC0) == 0x80) keep--; /* not inside a UTF-8 character */
    size_t n = dlen + keep + TMP_SUFFIX + 1;
    if (!(*tmp = malloc(n))) return errno = ENOMEM, -1;
    for (int attempt = 0; attempt < 100; attempt++) {
        snprintf(*tmp, n, "%.*s%.*s.tmp.%ld.%06llu", (int)dlen, target, (int)keep, base, (long)getpid(),
                 random_digits());
        int fd = open(*tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd >= 0) {
            if (perm >= 0) (void)fchmod(fd, (mode_t)perm);
            return fd;
        }
        if (errno != EEXIST) break;
    }
    int err = errno;
    free(*tmp);
    *tmp = NULL;
    errno = err;
    return -1;
}

/* NRPS_OK when descriptor fd is open for writing, else an error naming path. */
static nrps_status fd_writable(const char *path, int fd) {
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0) return cannot(path, "descriptor %d is not open", fd);
    if ((fl & O_ACCMODE) == O_RDONLY) return cannot(path, "descriptor %d is open for reading only", fd);
    return NRPS_OK;
}

nrps_status nrps_out_check(const char *path) {
    nrps_out_target t;
    nrps_status st = nrps_out_resolve(path, &t);
    if (st) return st;
    if (t.kind == NRPS_OUT_FD) return fd_writable(path, t.fd);
    if (t.kind == NRPS_OUT_INPLACE) /* never opened here: a FIFO's reader would see end-of-file */
        return access(t.target, W_OK) == 0 ? NRPS_OK : cannot(path, "%s", strerror(errno));
    char *tmp;
    int fd = tmp_create(t.target, -1, &tmp);
    if (fd < 0) return cannot(path, "%s", strerror(errno));
    close(fd);
    unlink(tmp);
    free(tmp);
    return NRPS_OK;
}

/* ---- atomic files ---- */

static void af_free(nrps_atomic_file *af) {
    nrps_tmp_unregister(af->slot - 1);
    free(af->path);
    free(af->tmp);
    free(af->target);
    memset(af, 0, sizeof *af);
}

/* A duplicate of t's descriptor (stdout/stderr flushed first, so the file's bytes follow what was printed). */
static int open_fd(const char *path, const nrps_out_target *t) {
    if (fd_writable(path, t->fd)) return -1;
    if (t->fd == STDOUT_FILENO) fflush(stdout);
    if (t->fd == STDERR_FILENO) fflush(stderr);
    int fd = fcntl(t->fd, F_DUPFD_CLOEXEC, 3);
    if (fd < 0) cannot(path, "%s", strerror(errno));
    return fd;
}

/* A device or FIFO, opened without O_CREAT/O_TRUNC; a FIFO non-blocking, so that one without a reader fails
 * (ENXIO) instead of waiting, then switched back to blocking writes. */
static int open_inplace(const char *path, const nrps_out_target *t) {
    int fifo = S_ISFIFO((mode_t)t->mode);
    int fd = open(t->target, O_WRONLY | O_NOCTTY | O_CLOEXEC | (fifo ? O_NONBLOCK : 0));
    if (fd < 0) {
        if (fifo && errno == ENXIO) cannot(path, "no process is reading the FIFO");
        else cannot(path, "%s", strerror(errno));
        return -1;
    }
    if (fifo) (void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    return fd;
}

/* A new temp file beside t's target, registered for removal by the signal handlers. */
static int open_replace(nrps_atomic_file *af, const nrps_out_target *t) {
    int fd = tmp_create(t->target, t->exists ? (int)(t->mode & 0777) : -1, &af->tmp);
    if (fd < 0) return cannot(af->path, "%s", strerror(errno)), -1;
    af->slot = nrps_tmp_register(af->tmp) + 1;
    if (!(af->target = strdup(t->target))) {
        close(fd);
        unlink(af->tmp);
        nrps_set_error("%s: out of memory", af->path);
        return -1;
    }
    return fd;
}

nrps_status nrps_atomic_open(nrps_atomic_file *af, const char *path, const char *mode) {
    memset(af, 0, sizeof *af);
    nrps_out_target t;
    nrps_status st = nrps_out_resolve(path, &t);
    if (st) return st;
    if (!(af->path = strdup(path))) {
        nrps_set_error("%s: out of memory", path);
        return NRPS_ERR_NOMEM;
    }
    int fd = t.kind == NRPS_OUT_FD ? open_fd(path, &t) : t.kind == NRPS_OUT_INPLACE ? open_inplace(path, &t)
                                                                                     : open_replace(af, &t);
    if (fd >= 0 && !(af->f = fdopen(fd, mode))) {
        cannot(path, "%s", strerror(errno));
        close(fd);
    }
    if (!af->f) {
        if (af->tmp && fd >= 0) unlink(af->tmp);
        af_free(af);
        return NRPS_ERR_IO;
    }
    return NRPS_OK;
}

/* fsync of the folder holding path, so the rename survives a power loss (best effort). */
static void sync_folder(const char *path) {
    char dir[PATH_MAX];
    const char *base;
    if (!split_path(path, dir, sizeof dir, &base)) return;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return;
    (void)fsync(fd);
    close(fd);
}

nrps_status nrps_atomic_commit(nrps_atomic_file *af) {
    if (!af->f) return NRPS_ERR_ARG;
    int earlier = errno; /* a write that failed just before (the stream's error flag) left its reason here */
    errno = 0;
    int bad = fflush(af->f) != 0 || ferror(af->f);
    int err = errno ? errno : ferror(af->f) ? earlier : 0;
    if (!bad && af->tmp && fsync(fileno(af->f)) != 0) bad = 1, err = errno;
    if (fclose(af->f) != 0 && !bad) bad = 1, err = errno;
    af->f = NULL;
    nrps_status st = NRPS_OK;
    if (bad) {
        nrps_set_error("%s: write failed%s%s", af->path, err ? ": " : "", err ? strerror(err) : "");
        if (af->tmp) unlink(af->tmp);
        st = NRPS_ERR_IO;
    } else if (af->tmp && rename(af->tmp, af->target) != 0) {
        nrps_set_error("%s: cannot rename temp file into place: %s", af->path, strerror(errno));
        unlink(af->tmp);
        st = NRPS_ERR_IO;
    } else if (af->tmp) {
        sync_folder(af->target);
    }
    af_free(af);
    return st;
}

void nrps_atomic_abort(nrps_atomic_file *af) {
    if (af->f) fclose(af->f);
    if (af->tmp) unlink(af->tmp);
    af_free(af);
}

nrps_status nrps_write_file_atomic(const char *path, const void *data, size_t len) {
    nrps_atomic_file af;
    nrps_status st = nrps_atomic_open(&af, path, "wb");
    if (st) return st;
    if (len && fwrite(data, 1, len, af.f) != len) {
        nrps_set_error("%s: write failed: %s", path, strerror(errno));
        nrps_atomic_abort(&af);
        return NRPS_ERR_IO;
    }
    return nrps_atomic_commit(&af);
}

/* ---- inputs and outputs of one command ---- */

void nrps_io_init(nrps_io_set *s) { memset(s, 0, sizeof *s); }

void nrps_io_add(nrps_io_set *s, const char *label, const char *path, int output) {
    if (!path || !path[0] || s->n == NRPS_IO_MAX) return;
    nrps_io_entry *e = &s->e[s->n++];
    memset(e, 0, sizeof *e);
    snprintf(e->label, sizeof e->label, "%s", label);
    e->path = path, e->output = output;
    nrps_out_target t;
    if (nrps_out_resolve(path, &t) != NRPS_OK) { /* compared as given; its own check reports the problem */
        e->key = strdup(path);
        return;
    }
    mode_t m = (mode_t)t.mode;
    e->skip = t.kind == NRPS_OUT_FD || (t.exists && (S_ISCHR(m) || S_ISBLK(m)));
    e->exists = t.exists, e->dev = t.dev, e->ino = t.ino;
    e->key = strdup(t.target);
}

/* The same file: device + inode when both exist, else the resolved paths; devices and descriptors never. */
static int same_file(const nrps_io_entry *a, const nrps_io_entry *b) {
    if (a->skip || b->skip) return 0;
    if (a->exists && b->exists) return a->dev == b->dev && a->ino == b->ino;
    return !a->exists && !b->exists && a->key && b->key && !strcmp(a->key, b->key);
}

nrps_status nrps_io_conflicts(const nrps_io_set *s) {
    for (int j = 0; j < s->n; j++)
        for (int i = 0; i < j; i++) {
            const nrps_io_entry *a = &s->e[i], *b = &s->e[j];
            if ((!a->output && !b->output) || !same_file(a, b)) continue;
            if (a->output && b->output)
                nrps_set_error("%s %s is the same file as %s %s: give each output its own file", b->label, b->path,
                               a->label, a->path);
            else {
                const nrps_io_entry *out = a->output ? a : b, *in = a->output ? b : a;
                nrps_set_error("%s %s is also the input of %s: refusing to overwrite it", out->label, out->path,
                               in->label);
            }
            return NRPS_ERR_ARG;
        }
    return NRPS_OK;
}

void nrps_io_free(nrps_io_set *s) {
    for (int i = 0; i < s->n; i++) free(s->e[i].key);
    s->n = 0;
}
