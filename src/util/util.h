/* util.h - shared helpers for every module: status codes with messages, a portable PRNG,
 * a monotonic clock, atomic file writes (temp + rename) and small string helpers.
 * Nothing here knows about the game, networks or ONNX Runtime. */
#ifndef NRPS_UTIL_H
#define NRPS_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>

#define NRPS_VERSION "0.1.0"

/* Status codes returned by library functions. 0 is success. */
typedef enum {
    NRPS_OK = 0,
    NRPS_ERR_IO,          /* file could not be opened / read / written */
    NRPS_ERR_FORMAT,      /* malformed content (JSON, protobuf, record) */
    NRPS_ERR_UNSUPPORTED, /* well-formed but not something we handle (operator, shape) */
    NRPS_ERR_ARG,         /* bad argument value */
    NRPS_ERR_NOMEM,       /* allocation failed or request too large */
    NRPS_ERR_BACKEND,     /* inference backend (ONNX Runtime, CUDA) failed */
    NRPS_ERR_UNAVAILABLE, /* optional component missing (no GPU, provider not built) */
    NRPS_ERR_ILLEGAL,     /* illegal game move */
    NRPS_ERR_INTERRUPTED  /* stopped by a signal (nrps_interrupted) */
} nrps_status;

const char *nrps_status_str(nrps_status s);

/* Error detail: library functions that fail write a one-line human message here (control characters,
 * e.g. newlines in names quoted from a file, are replaced by '?')
 * (thread-local), e.g. "models/x.onnx: unsupported operator 'Conv' (node 3)". */
void nrps_set_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
const char *nrps_last_error(void);

/* Portable PRNG (xoshiro256**, seeded with splitmix64): same seed, same stream on every machine. */
typedef struct { uint64_t s[4]; } nrps_rng;
void nrps_rng_seed(nrps_rng *r, uint64_t seed);
uint64_t nrps_rng_next(nrps_rng *r);
/* Uniform integer in [0, n), n > 0, without modulo bias. */
uint32_t nrps_rng_below(nrps_rng *r, uint32_t n);
/* Uniform double in [0, 1). */
double nrps_rng_uniform(nrps_rng *r);
/* Standard normal (Box-Muller). */
double nrps_rng_normal(nrps_rng *r);
/* Gamma(alpha, 1) sample, alpha > 0 (Marsaglia-Tsang); used for Dirichlet noise. */
double nrps_rng_gamma(nrps_rng *r, double alpha);

/* The CPUs this process may run on (its affinity mask: taskset, a cpuset), at least 1; the online count where the
 * mask cannot be read. Thread-count flags are bounded by it: more busy threads than CPUs only wait on each other. */
int nrps_cpus_usable(void);

/* Monotonic clock in nanoseconds / seconds. */
uint64_t nrps_now_ns(void);
double nrps_now_s(void);

/* ---- output files (outfile.c) ----
 * One mechanism for every file a command writes (--json, --csv, --plot, --out, --record, checkpoints, caches):
 * nrps_out_resolve says where a path really goes, nrps_out_check probes it up front, nrps_atomic_open/commit/abort
 * write it, and an nrps_io_set refuses an output that is also an input or another output. */

/* How an output path is written. */
typedef enum {
    NRPS_OUT_REPLACE, /* a regular file or a new name: a temp file beside the target, renamed over it */
    NRPS_OUT_INPLACE, /* an existing device or FIFO: opened (FIFO: non-blocking) only when the data is ready */
    NRPS_OUT_FD       /* /dev/stdout, /dev/stderr, /dev/fd/N, /proc/self/fd/N: descriptor N, duplicated */
} nrps_out_kind;

typedef struct {
    nrps_out_kind kind;
    int fd;                /* NRPS_OUT_FD: the descriptor */
    int exists;            /* the target exists: mode, dev and ino are its stat */
    unsigned mode;
    unsigned long long dev, ino;
    char target[4096];     /* the file written: realpath of the folder + the name after following final symlinks */
} nrps_out_target;

/* Resolves path without opening or creating anything. Fails with NRPS_ERR_IO and a one-line error
 * ("PATH: cannot write: folder 'D' does not exist", "PATH: cannot write: <reason>", "PATH is a folder, expected a
 * file name") when no file can be written there. */
nrps_status nrps_out_resolve(const char *path, nrps_out_target *t);

/* Up-front check that path can be written, touching nothing a reader could see: a file to replace is probed by
 * creating and removing a temp file beside its target; a device or FIFO is not opened (only access(W_OK)); a
 * descriptor must be open for writing. NRPS_OK or NRPS_ERR_IO with an error as nrps_out_resolve. */
nrps_status nrps_out_check(const char *path);

/* Atomic file writing. nrps_atomic_open resolves path (above); for NRPS_OUT_REPLACE it creates, with
 * O_CREAT|O_EXCL and the replaced file's permissions, a temp "<name>.tmp.<pid>.<6 random digits>" beside the target
 * (name cut to fit NAME_MAX); nrps_atomic_commit flushes, fsyncs and renames it over the target (a symlink keeps
 * pointing at the new file), or, when a write failed (the stream's error flag: call it right after the writes, so
 * errno still holds the reason), removes it with "PATH: write failed: <reason>"; nrps_atomic_abort removes it. On failure the target is never touched and an error is
 * set. A device or FIFO is written in place (tmp stays NULL; a FIFO without a reader fails at once, never blocks);
 * a descriptor path is written through a duplicate of the descriptor. Temp files are removed by the signal
 * handlers below when a signal ends the process. mode: "w" or "wb". */
typedef struct {
    FILE *f;
    char *path;   /* as given, for messages */
    char *tmp;    /* the temp file's path, NULL when written in place */
    char *target; /* what the temp file is renamed to */
    int slot;     /* internal: temp-file registration + 1, 0 = none */
} nrps_atomic_file;
nrps_status nrps_atomic_open(nrps_atomic_file *af, const char *path, const char *mode);
nrps_status nrps_atomic_commit(nrps_atomic_file *af);
void nrps_atomic_abort(nrps_atomic_file *af);
/* Whole-buffer convenience wrapper around the three calls above. */
nrps_status nrps_write_file_atomic(const char *path, const void *data, size_t len);

/* The files one command reads and writes, declared before any work: nrps_io_conflicts refuses an output that is an
 * input or another output. Files are the same when their device and inode are (both exist), else when their
 * resolved paths are; devices and descriptor paths (/dev/null, /dev/stdout) never conflict. */
enum { NRPS_IO_MAX = 24 };
typedef struct {
    char label[64];          /* how the file was given: "--json", "--p1", "FILE.model" */
    const char *path;        /* not copied: must outlive the set */
    int output, skip, exists;
    unsigned long long dev, ino;
    char *key;               /* resolved path (malloc'd) */
} nrps_io_entry;
typedef struct {
    nrps_io_entry e[NRPS_IO_MAX];
    int n;
} nrps_io_set;
void nrps_io_init(nrps_io_set *s);
/* Declares path (NULL or "" ignored; beyond NRPS_IO_MAX entries ignored) under label (copied). */
void nrps_io_add(nrps_io_set *s, const char *label, const char *path, int output);
/* NRPS_OK, or NRPS_ERR_ARG with "--OUT PATH is also the input of --IN: refusing to overwrite it" or
 * "--OUT2 PATH is the same file as --OUT1 PATH: give each output its own file" (labels as declared). */
nrps_status nrps_io_conflicts(const nrps_io_set *s);
void nrps_io_free(nrps_io_set *s);

/* Reads a whole file, pipe or device into a malloc'd buffer (NUL-terminated; *len excludes the NUL), once: the
 * size cap comes from fstat of the opened file (a regular file over max_bytes is refused before reading) and a
 * stream is read up to max_bytes + 1 bytes at most. A FIFO with no writer is refused after a bounded wait (10 s)
 * instead of blocking in open(). Refuses directories and devices other than a terminal. Errors are one line naming
 * the file. */
nrps_status nrps_read_file(const char *path, size_t max_bytes, char **data, size_t *len);

/* NRPS_OK when bytes of buffers for batch samples fit in half of this machine's memory (or it cannot be told);
 * else NRPS_ERR_ARG with "batch size B needs about X GiB of buffers for WHAT, more than half of this machine's
 * Y GiB; use a smaller --batch-size/--sweep". */
nrps_status nrps_buffers_fit(double bytes, int batch, const char *what);

/* Strict number parsing for flags: whole string must be a number within [lo, hi]. */
int nrps_parse_long(const char *s, long lo, long hi, long *out);
int nrps_parse_double(const char *s, double lo, double hi, double *out);

/* SHA-256 of a file as 64 lowercase hex chars + NUL. */
nrps_status nrps_sha256_file(const char *path, char out_hex[65]);
/* SHA-256 of data[len] as 64 lowercase hex chars + NUL. */
nrps_status nrps_sha256_buffer(const void *data, size_t len, char out_hex[65]);

/* ---- signals (signals.c) ----
 * SIGINT, SIGTERM, SIGHUP ("stop signals"), SIGPIPE and SIGXFSZ. nrps_signals_install (main, for every command): a
 * stop signal removes the temp files being written, prints "PREFIX: stopped by SIGTERM" and exits 128+signal at
 * once. nrps_install_signal_handlers (commands with long loops that poll nrps_interrupted): the first stop signal
 * only sets nrps_interrupted, so the command saves what it has and leaves; a second one leaves at once (temp files
 * removed, exit 128+signal). SIGPIPE on standard output (its reader has gone) points stdout at /dev/null and is
 * remembered: cooperative commands go on and still write their files (exit 141), the others leave at once as for a
 * stop signal; SIGPIPE from another pipe (a FIFO output) only makes that write fail with EPIPE. SIGXFSZ (a write
 * past `ulimit -f`) only makes that write fail with EFBIG: its writer reports it and removes its temp file, and
 * the command exits 153 if it fails. */
extern volatile sig_atomic_t nrps_interrupted; /* the first stop signal caught (its number), 0 = none */
void nrps_signals_install(const char *prefix);
void nrps_install_signal_handlers(void);
/* 1 once SIGPIPE said standard output's reader has gone. */
int nrps_stdout_closed(void);
/* The exit status of a command that would exit rc, given the signals caught: 128 + nrps_interrupted after a stop
 * signal, else 141 after SIGPIPE on stdout, else 153 when rc != 0 after SIGXFSZ, else rc. */
int nrps_signal_exit_status(int rc);
/* "SIGINT", "SIGTERM", ... ("signal" for others). */
const char *nrps_signal_name(int sig);

/* A spin-wait hint (pause / yield) for loops polling memory another thread writes. */
static inline void nrps_cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

#endif
