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
    NRPS_ERR_INTERRUPTED  /* stopped by SIGINT */
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

/* Monotonic clock in nanoseconds / seconds. */
uint64_t nrps_now_ns(void);
double nrps_now_s(void);

/* Atomic file writing: nrps_atomic_open creates "<path>.tmp.<pid>" in the same folder;
 * nrps_atomic_commit flushes, fsyncs and renames it over path; nrps_atomic_abort removes it.
 * On failure the target file is never touched and an error is set. An existing device or FIFO (/dev/null,
 * /dev/stdout) is written in place instead (tmp stays NULL): a rename would replace the node itself. */
typedef struct { FILE *f; char *path; char *tmp; int slot; /* internal: registration + 1, 0 = none */ } nrps_atomic_file;
nrps_status nrps_atomic_open(nrps_atomic_file *af, const char *path, const char *mode);
nrps_status nrps_atomic_commit(nrps_atomic_file *af);
void nrps_atomic_abort(nrps_atomic_file *af);
/* Whole-buffer convenience wrapper around the three calls above. */
nrps_status nrps_write_file_atomic(const char *path, const void *data, size_t len);

/* Reads a whole file, pipe or device into a malloc'd buffer (NUL-terminated; *len excludes the NUL), once: the
 * size cap comes from fstat of the opened file (a regular file over max_bytes is refused before reading) and a
 * stream is read up to max_bytes + 1 bytes at most. A FIFO with no writer is refused after a bounded wait (10 s)
 * instead of blocking in open(). Refuses directories and devices other than a terminal. Errors are one line naming
 * the file. */
nrps_status nrps_read_file(const char *path, size_t max_bytes, char **data, size_t *len);

/* Strict number parsing for flags: whole string must be a number within [lo, hi]. */
int nrps_parse_long(const char *s, long lo, long hi, long *out);
int nrps_parse_double(const char *s, double lo, double hi, double *out);

/* SHA-256 of a file as 64 lowercase hex chars + NUL. */
nrps_status nrps_sha256_file(const char *path, char out_hex[65]);
/* SHA-256 of data[len] as 64 lowercase hex chars + NUL. */
nrps_status nrps_sha256_buffer(const void *data, size_t len, char out_hex[65]);

/* Set by the CLI's SIGINT handler; long loops poll it and stop cleanly. */
extern volatile sig_atomic_t nrps_interrupted;
void nrps_install_sigint_handler(void);

#endif
