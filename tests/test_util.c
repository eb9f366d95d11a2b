/* test_util.c - PRNG reproducibility and distribution, strict number parsing, atomic writes, file reads,
 * SHA-256 against a known digest. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "util/util.h"

static void test_rng_reproducible(void) {
    nrps_rng a, b;
    nrps_rng_seed(&a, 42);
    nrps_rng_seed(&b, 42);
    for (int i = 0; i < 1000; i++) CHECK(nrps_rng_next(&a) == nrps_rng_next(&b));
    /* Pinned value: the stream must be identical on every machine (deals depend on it). */
    nrps_rng_seed(&a, 1);
    CHECK(nrps_rng_next(&a) == 0xb3f2af6d0fc710c5ULL);
}

static void test_rng_below_uniform(void) {
    nrps_rng r;
    nrps_rng_seed(&r, 7);
    int counts[7] = {0};
    const int n = 70000;
    for (int i = 0; i < n; i++) {
        uint32_t v = nrps_rng_below(&r, 7);
        REQUIRE(v < 7);
        counts[v]++;
    }
    for (int i = 0; i < 7; i++) CHECK(counts[i] > 9500 && counts[i] < 10500);
    double sum = 0;
    for (int i = 0; i < 20000; i++) {
        double u = nrps_rng_uniform(&r);
        CHECK(u >= 0 && u < 1);
        sum += u;
    }
    CHECK_NEAR(sum / 20000, 0.5, 0.01);
}

static void test_rng_gamma_mean(void) {
    nrps_rng r;
    nrps_rng_seed(&r, 3);
    const double alphas[] = {0.3, 1.0, 2.5};
    for (int k = 0; k < 3; k++) {
        double sum = 0;
        for (int i = 0; i < 40000; i++) {
            double g = nrps_rng_gamma(&r, alphas[k]);
            CHECK(g >= 0);
            sum += g;
        }
        CHECK_NEAR(sum / 40000, alphas[k], 0.05 * alphas[k] + 0.01); /* E[Gamma(a,1)] = a */
    }
}

static void test_parse(void) {
    long v;
    double d;
    CHECK(nrps_parse_long("64", 1, 100, &v) && v == 64);
    CHECK(!nrps_parse_long("0", 1, 100, &v));
    CHECK(!nrps_parse_long("-5", 1, 100, &v));
    CHECK(!nrps_parse_long("12abc", 1, 100, &v));
    CHECK(!nrps_parse_long("", 1, 100, &v));
    CHECK(!nrps_parse_long("99999999999999999999999", 1, 100, &v));
    CHECK(nrps_parse_double("0.25", 0, 1, &d) && d == 0.25);
    CHECK(!nrps_parse_double("nan", 0, 1, &d));
    CHECK(!nrps_parse_double("inf", 0, 1e300, &d));
    CHECK(!nrps_parse_double("2", 0, 1, &d));
}

static void test_atomic_write_and_read(void) {
    char dir[] = "/tmp/nrps_test_XXXXXX";
    REQUIRE(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/out.txt", dir);
    CHECK(nrps_write_file_atomic(path, "hello", 5) == NRPS_OK);
    char *data;
    size_t len;
    REQUIRE(nrps_read_file(path, 1000, &data, &len) == NRPS_OK);
    CHECK(len == 5 && !strcmp(data, "hello"));
    free(data);
    /* Abort leaves the old content and no temp file. */
    nrps_atomic_file af;
    REQUIRE(nrps_atomic_open(&af, path, "wb") == NRPS_OK);
    fputs("partial", af.f);
    nrps_atomic_abort(&af);
    REQUIRE(nrps_read_file(path, 1000, &data, &len) == NRPS_OK);
    CHECK(!strcmp(data, "hello"));
    free(data);
    /* Too large, directory, missing. */
    CHECK(nrps_read_file(path, 3, &data, &len) == NRPS_ERR_FORMAT);
    CHECK(nrps_read_file(dir, 1000, &data, &len) == NRPS_ERR_IO);
    CHECK(strstr(nrps_last_error(), "directory") != NULL);
    char missing[300];
    snprintf(missing, sizeof missing, "%s/nope/out.txt", dir);
    CHECK(nrps_write_file_atomic(missing, "x", 1) == NRPS_ERR_IO);
    CHECK(strstr(nrps_last_error(), "nope") != NULL);
    char sha[65];
    CHECK(nrps_sha256_file(path, sha) == NRPS_OK);
    CHECK(!strcmp(sha, "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"));
    remove(path);
    rmdir(dir);
}

static void test_second_sigint_removes_temp_files(void) {
    /* A child opens an atomic file, then gets Ctrl-C twice: it must exit 130 at once, leaving neither the
     * target nor the temp file. */
    char dir[] = "/tmp/nrps_sig_XXXXXX";
    REQUIRE(mkdtemp(dir));
    char path[256], tmp[300];
    snprintf(path, sizeof path, "%s/out.json", dir);
    fflush(NULL);
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        nrps_install_sigint_handler();
        nrps_atomic_file af;
        if (nrps_atomic_open(&af, path, "w") != NRPS_OK) _exit(3);
        fputs("{\"half\":", af.f);
        fflush(af.f);
        raise(SIGINT); /* first: sets the flag */
        raise(SIGINT); /* second: leaves now */
        _exit(4);      /* not reached */
    }
    int status = 0;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 130);
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)pid);
    CHECK(access(path, F_OK) != 0);
    CHECK(access(tmp, F_OK) != 0);
    CHECK(rmdir(dir) == 0); /* empty */
}

/* The cap: a regular file or a pipe of exactly max_bytes is read whole, one byte more is refused. */
static void test_read_file_cap(void) {
    char path[] = "/tmp/nrps_cap_XXXXXX";
    int fd = mkstemp(path);
    REQUIRE(fd >= 0);
    char buf[4097];
    memset(buf, 'x', sizeof buf);
    REQUIRE(write(fd, buf, 4096) == 4096);
    close(fd);
    char *data = NULL;
    size_t len = 0;
    CHECK(nrps_read_file(path, 4096, &data, &len) == NRPS_OK && len == 4096 && data[4096] == 0);
    free(data);
    CHECK(nrps_read_file(path, 4095, &data, &len) == NRPS_ERR_FORMAT && !data);
    CHECK(strstr(nrps_last_error(), path) != NULL);
    for (int extra = 0; extra < 2; extra++) { /* a pipe: exactly the cap, then one byte more */
        int p[2];
        REQUIRE(pipe(p) == 0);
        pid_t pid = fork();
        if (pid == 0) {
            close(p[0]);
            ssize_t w = write(p[1], buf, (size_t)(4096 + extra));
            _exit(w == 4096 + extra ? 0 : 1);
        }
        close(p[1]);
        char dev[64];
        snprintf(dev, sizeof dev, "/proc/self/fd/%d", p[0]);
        nrps_status st = nrps_read_file(dev, 4096, &data, &len);
        CHECK(extra ? st == NRPS_ERR_FORMAT : st == NRPS_OK && len == 4096);
        free(data);
        data = NULL;
        close(p[0]);
        waitpid(pid, NULL, 0);
    }
    unlink(path);
}

int main(void) {
    RUN(test_rng_reproducible);
    RUN(test_rng_below_uniform);
    RUN(test_rng_gamma_mean);
    RUN(test_parse);
    RUN(test_atomic_write_and_read);
    RUN(test_second_sigint_removes_temp_files);
    RUN(test_read_file_cap);
    return check_summary("util");
}
