/* util.c - see util.h. */
#define _POSIX_C_SOURCE 200809L
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <sched.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

const char *nrps_status_str(nrps_status s) {
    switch (s) {
    case NRPS_OK: return "ok";
    case NRPS_ERR_IO: return "I/O error";
    case NRPS_ERR_FORMAT: return "malformed input";
    case NRPS_ERR_UNSUPPORTED: return "unsupported";
    case NRPS_ERR_ARG: return "bad argument";
    case NRPS_ERR_NOMEM: return "out of memory";
    case NRPS_ERR_BACKEND: return "backend error";
    case NRPS_ERR_UNAVAILABLE: return "unavailable";
    case NRPS_ERR_ILLEGAL: return "illegal move";
    case NRPS_ERR_INTERRUPTED: return "interrupted";
    }
    return "unknown status";
}

static _Thread_local char g_err[1024];

void nrps_set_error(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g_err, sizeof g_err, fmt, ap);
    va_end(ap);
    /* names quoted from files (ONNX node/tensor names, JSON keys) may hold newlines or control bytes:
     * the message must stay one printable line */
    for (char *p = g_err; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f) *p = '?';
}

const char *nrps_last_error(void) { return g_err[0] ? g_err : "no error detail"; }

/* ---- PRNG ---- */
static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void nrps_rng_seed(nrps_rng *r, uint64_t seed) {
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t nrps_rng_next(nrps_rng *r) {
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

uint32_t nrps_rng_below(nrps_rng *r, uint32_t n) {
    /* Lemire's nearly divisionless method with rejection: unbiased. */
    uint64_t m = (nrps_rng_next(r) >> 32) * (uint64_t)n;
    uint32_t l = (uint32_t)m;
    if (l < n) {
        uint32_t t = (uint32_t)(-n) % n;
        while (l < t) {
            m = (nrps_rng_next(r) >> 32) * (uint64_t)n;
            l = (uint32_t)m;
        }
    }
    return (uint32_t)(m >> 32);
}

double nrps_rng_uniform(nrps_rng *r) { return (double)(nrps_rng_next(r) >> 11) * 0x1.0p-53; }

double nrps_rng_normal(nrps_rng *r) {
    double u1 = nrps_rng_uniform(r), u2 = nrps_rng_uniform(r);
    if (u1 < 1e-300) u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

double nrps_rng_gamma(nrps_rng *r, double alpha) {
    if (alpha < 1.0) {
        /* Boost: Gamma(a) = Gamma(a+1) * U^(1/a). */
        double u = nrps_rng_uniform(r);
        if (u < 1e-300) u = 1e-300;
        return nrps_rng_gamma(r, alpha + 1.0) * pow(u, 1.0 / alpha);
    }
    double d = alpha - 1.0 / 3.0, c = 1.0 / sqrt(9.0 * d);
    for (;;) {
        double x, v;
        do {
            x = nrps_rng_normal(r);
            v = 1.0 + c * x;
        } while (v <= 0.0);
        v = v * v * v;
        double u = nrps_rng_uniform(r);
        if (u < 1.0 - 0.0331 * x * x * x * x) return d * v;
        if (log(u) < 0.5 * x * x + d * (1.0 - v + log(v))) return d * v;
    }
}

/* ---- clock ---- */
int nrps_cpus_usable(void) {
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0) return CPU_COUNT(&set);
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n >= 1 ? (n > 1 << 20 ? 1 << 20 : (int)n) : 1;
}

uint64_t nrps_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

double nrps_now_s(void) { return (double)nrps_now_ns() * 1e-9; }

/* ---- files (output files: outfile.c) ---- */

/* How long a FIFO may wait for its writer: NRPS_FIFO_WAIT_S seconds (0..3600; the tests use 1), default 10. */
static int fifo_wait_ms(void) {
    const char *e = getenv("NRPS_FIFO_WAIT_S");
    long v;
    return e && nrps_parse_long(e, 0, 3600, &v) ? (int)v * 1000 : 10000;
}

/* Opens path for reading without blocking on a FIFO that has no writer: waits at most fifo_wait_ms() for one,
 * then reads block as usual. *st receives fstat of what was opened. Returns the fd or -1 (error set). */
static int open_input(const char *path, struct stat *st) {
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        nrps_set_error("%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    if (fstat(fd, st) != 0) {
        nrps_set_error("%s: cannot stat: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    if (S_ISDIR(st->st_mode)) {
        nrps_set_error("%s: is a directory, expected a file", path);
        close(fd);
        return -1;
    }
    if ((S_ISCHR(st->st_mode) && !isatty(fd)) || S_ISBLK(st->st_mode)) { /* /dev/zero, /dev/urandom, disks */
        nrps_set_error("%s: is a device, expected a file or a pipe", path);
        close(fd);
        return -1;
    }
    if (S_ISFIFO(st->st_mode)) {
        struct pollfd pf = {.fd = fd, .events = POLLIN};
        int r;
        int wait_ms = fifo_wait_ms();
        while ((r = poll(&pf, 1, wait_ms)) < 0 && errno == EINTR && !nrps_interrupted) {}
        if (r <= 0) {
            nrps_set_error("%s: a FIFO with no writer (waited %d s)", path, wait_ms / 1000);
            close(fd);
            return -1;
        }
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0) fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    return fd;
}

/* Reads fd to its end into a buffer of at most max_bytes (+1 for the NUL); -1 when there is more. */
static nrps_status read_all(int fd, const char *path, size_t max_bytes, size_t hint, char **data, size_t *len) {
    size_t cap = (hint < max_bytes ? hint : max_bytes) + 1, n = 0;
    char *buf = malloc(cap + 1);
    if (!buf) goto nomem;
    for (;;) {
        if (n == cap) { /* grown or a stream: extend, never past max_bytes + 1 */
            if (cap > max_bytes) {
                free(buf);
                nrps_set_error("%s: larger than the %zu bytes allowed", path, max_bytes);
                return NRPS_ERR_FORMAT;
            }
            size_t ncap = cap * 2 > max_bytes + 1 ? max_bytes + 1 : cap * 2;
            char *nb = realloc(buf, ncap + 1);
            if (!nb) goto nomem;
            buf = nb, cap = ncap;
        }
        ssize_t got = read(fd, buf + n, cap - n);
        if (got < 0 && errno == EINTR && !nrps_interrupted) continue;
        if (got < 0) {
            free(buf);
            nrps_set_error("%s: read error: %s", path, strerror(errno));
            return NRPS_ERR_IO;
        }
        if (got == 0) break;
        n += (size_t)got;
    }
    buf[n] = 0;
    *data = buf, *len = n;
    return NRPS_OK;
nomem:
    free(buf);
    nrps_set_error("%s: out of memory", path);
    return NRPS_ERR_NOMEM;
}

nrps_status nrps_read_file(const char *path, size_t max_bytes, char **data, size_t *len) {
    *data = NULL;
    *len = 0;
    struct stat sb;
    int fd = open_input(path, &sb);
    if (fd < 0) return NRPS_ERR_IO;
    if (S_ISREG(sb.st_mode) && (uint64_t)sb.st_size > max_bytes) {
        close(fd);
        nrps_set_error("%s: file is %lld bytes, more than the %zu allowed", path, (long long)sb.st_size, max_bytes);
        return NRPS_ERR_FORMAT;
    }
    size_t hint = S_ISREG(sb.st_mode) ? (size_t)sb.st_size : 65536;
    nrps_status st = read_all(fd, path, max_bytes, hint, data, len);
    close(fd);
    return st;
}

nrps_status nrps_buffers_fit(double bytes, int batch, const char *what) {
    double phys = (double)sysconf(_SC_PHYS_PAGES) * (double)sysconf(_SC_PAGESIZE);
    if (phys <= 0 || bytes <= 0.5 * phys) return NRPS_OK;
    nrps_set_error("batch size %d needs about %.1f GiB of buffers for %s, more than half of this machine's %.1f GiB; "
                   "use a smaller --batch-size/--sweep", batch, bytes / (1 << 30), what, phys / (1 << 30));
    return NRPS_ERR_ARG;
}

int nrps_parse_long(const char *s, long lo, long hi, long *out) {
    if (!s || !*s) return 0;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < lo || v > hi) return 0;
    *out = v;
    return 1;
}

int nrps_parse_double(const char *s, double lo, double hi, double *out) {
    if (!s || !*s) return 0;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || *end || !isfinite(v) || v < lo || v > hi) return 0;
    *out = v;
    return 1;
}

nrps_status nrps_sha256_file(const char *path, char out_hex[65]) {
    out_hex[0] = 0;
    FILE *f = fopen(path, "rb");
    if (!f) {
        nrps_set_error("%s: cannot open: %s", path, strerror(errno));
        return NRPS_ERR_IO;
    }
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    nrps_status st = NRPS_OK;
    if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
        st = NRPS_ERR_NOMEM;
        goto cleanup;
    }
    unsigned char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) EVP_DigestUpdate(ctx, buf, n);
    if (ferror(f)) {
        nrps_set_error("%s: read error", path);
        st = NRPS_ERR_IO;
        goto cleanup;
    }
    unsigned char md[32];
    unsigned int mdlen = 0;
    EVP_DigestFinal_ex(ctx, md, &mdlen);
    for (unsigned i = 0; i < 32; i++) snprintf(out_hex + 2 * i, 3, "%02x", md[i]);
cleanup:
    EVP_MD_CTX_free(ctx);
    fclose(f);
    return st;
}

nrps_status nrps_sha256_buffer(const void *data, size_t len, char out_hex[65]) {
    unsigned char md[32];
    unsigned int mdlen = 0;
    out_hex[0] = 0;
    if (EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32) {
        nrps_set_error("SHA-256 failed");
        return NRPS_ERR_NOMEM;
    }
    for (unsigned i = 0; i < 32; i++) snprintf(out_hex + 2 * i, 3, "%02x", md[i]);
    return NRPS_OK;
}
