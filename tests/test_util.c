/* test_util.c - PRNG reproducibility and distribution, strict number parsing, atomic writes (targets resolved
 * through symlinks, devices and descriptors in place, a FIFO without a reader, 255-byte names), the registry of a
 * command's inputs and outputs, temp files removed by a second stop signal, file reads, SHA-256 against a known
 * digest. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "util/textwrap.h"
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

/* Number of entries in dir other than . and .. */
static int count_entries(const char *dir) {
    DIR *d = opendir(dir);
    int n = 0;
    if (!d) return -1;
    for (struct dirent *e; (e = readdir(d));) n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    closedir(d);
    return n;
}

static void test_out_resolve(void) {
    char dir[] = "/tmp/nrps_res_XXXXXX";
    REQUIRE(mkdtemp(dir));
    char link[300], target[300], dangling[300], missing[300];
    snprintf(link, sizeof link, "%s/link.json", dir);
    snprintf(target, sizeof target, "%s/real.json", dir);
    snprintf(dangling, sizeof dangling, "%s/dangling.json", dir);
    snprintf(missing, sizeof missing, "%s/nope/x.json", dir);
    REQUIRE(symlink("real.json", link) == 0);
    REQUIRE(symlink("new.json", dangling) == 0);
    nrps_out_target t;
    char want[600];
    /* a symlink: the target is the file written, not the link */
    REQUIRE(nrps_out_resolve(link, &t) == NRPS_OK);
    CHECK(t.kind == NRPS_OUT_REPLACE && !t.exists);
    CHECK(realpath(dir, want) && strcat(want, "/real.json") && !strcmp(t.target, want));
    /* a dangling symlink: the file it names is created */
    REQUIRE(nrps_out_resolve(dangling, &t) == NRPS_OK);
    CHECK(t.kind == NRPS_OUT_REPLACE && !t.exists && !strcmp(strrchr(t.target, '/'), "/new.json"));
    /* devices and descriptors */
    REQUIRE(nrps_out_resolve("/dev/null", &t) == NRPS_OK);
    CHECK(t.kind == NRPS_OUT_INPLACE && t.exists);
    REQUIRE(nrps_out_resolve("/dev/stdout", &t) == NRPS_OK);
    CHECK(t.kind == NRPS_OUT_FD && t.fd == 1);
    REQUIRE(nrps_out_resolve("/dev/fd/2", &t) == NRPS_OK);
    CHECK(t.kind == NRPS_OUT_FD && t.fd == 2);
    /* errors: a missing folder, a folder */
    CHECK(nrps_out_resolve(missing, &t) == NRPS_ERR_IO && strstr(nrps_last_error(), "does not exist"));
    CHECK(nrps_out_resolve(dir, &t) == NRPS_ERR_IO && strstr(nrps_last_error(), "is a folder"));
    CHECK(nrps_out_check(missing) == NRPS_ERR_IO);
    CHECK(nrps_out_check(link) == NRPS_OK && count_entries(dir) == 2); /* the probe left nothing */
    CHECK(nrps_out_check("/dev/stdout") == NRPS_OK && nrps_out_check("/dev/null") == NRPS_OK);
    unlink(link);
    unlink(dangling);
    CHECK(rmdir(dir) == 0);
}

static void test_atomic_symlink_and_long_name(void) {
    char dir[] = "/tmp/nrps_sym_XXXXXX";
    REQUIRE(mkdtemp(dir));
    char link[300], target[300], name[600], *data;
    size_t len;
    snprintf(link, sizeof link, "%s/link.json", dir);
    snprintf(target, sizeof target, "%s/real.json", dir);
    REQUIRE(symlink("real.json", link) == 0);
    REQUIRE(nrps_write_file_atomic(target, "old", 3) == NRPS_OK);
    REQUIRE(chmod(target, 0600) == 0);
    CHECK(nrps_write_file_atomic(link, "new", 3) == NRPS_OK);
    struct stat sb;
    CHECK(lstat(link, &sb) == 0 && S_ISLNK(sb.st_mode));                /* the link is kept */
    CHECK(stat(target, &sb) == 0 && (sb.st_mode & 0777) == 0600);       /* the file's permissions too */
    REQUIRE(nrps_read_file(target, 100, &data, &len) == NRPS_OK);
    CHECK(!strcmp(data, "new"));
    free(data);
    /* a 255-byte name: the temp file's name is cut to fit NAME_MAX */
    int n = snprintf(name, sizeof name, "%s/", dir);
    memset(name + n, 'x', 250);
    snprintf(name + n + 250, sizeof name - (size_t)n - 250, ".json");
    nrps_atomic_file af;
    REQUIRE(nrps_atomic_open(&af, name, "w") == NRPS_OK);
    CHECK(af.tmp && strlen(strrchr(af.tmp, '/') + 1) <= 255 && strstr(af.tmp, ".tmp."));
    fputs("long", af.f);
    CHECK(nrps_atomic_commit(&af) == NRPS_OK);
    CHECK(stat(name, &sb) == 0 && sb.st_size == 4);
    unlink(name);
    CHECK(count_entries(dir) == 2);
    unlink(link);
    unlink(target);
    CHECK(rmdir(dir) == 0);
}

static void test_atomic_fifo_without_reader(void) {
    char dir[] = "/tmp/nrps_fifo_XXXXXX";
    REQUIRE(mkdtemp(dir));
    char fifo[300];
    snprintf(fifo, sizeof fifo, "%s/f", dir);
    REQUIRE(mkfifo(fifo, 0600) == 0);
    CHECK(nrps_out_check(fifo) == NRPS_OK); /* not opened: a reader would see end-of-file */
    nrps_atomic_file af;
    double t0 = nrps_now_s();
    CHECK(nrps_atomic_open(&af, fifo, "w") == NRPS_ERR_IO && strstr(nrps_last_error(), "no process is reading"));
    CHECK(nrps_now_s() - t0 < 1.0);
    struct stat sb;
    CHECK(stat(fifo, &sb) == 0 && S_ISFIFO(sb.st_mode));
    unlink(fifo);
    CHECK(rmdir(dir) == 0);
}

static void test_io_conflicts(void) {
    char dir[] = "/tmp/nrps_io_XXXXXX";
    REQUIRE(mkdtemp(dir));
    char model[300], other[300], alias[300], fresh[300], fresh2[300];
    snprintf(model, sizeof model, "%s/m.onnx", dir);
    snprintf(other, sizeof other, "%s/./m.onnx", dir);
    snprintf(alias, sizeof alias, "%s/alias.onnx", dir);
    snprintf(fresh, sizeof fresh, "%s/out.json", dir);
    snprintf(fresh2, sizeof fresh2, "%s/../%s/out.json", dir, strrchr(dir, '/') + 1);
    REQUIRE(nrps_write_file_atomic(model, "m", 1) == NRPS_OK);
    REQUIRE(symlink("m.onnx", alias) == 0);
    nrps_io_set s;
    /* an output that is an input, spelled differently or through a symlink */
    const char *outs[] = {model, other, alias};
    for (int i = 0; i < 3; i++) {
        nrps_io_init(&s);
        nrps_io_add(&s, "--model-path", model, 0);
        nrps_io_add(&s, "--csv", outs[i], 1);
        CHECK(nrps_io_conflicts(&s) == NRPS_ERR_ARG && strstr(nrps_last_error(), "--csv") &&
              strstr(nrps_last_error(), "--model-path"));
        nrps_io_free(&s);
    }
    /* two outputs on one new file */
    nrps_io_init(&s);
    nrps_io_add(&s, "--json", fresh, 1);
    nrps_io_add(&s, "--csv", fresh2, 1);
    CHECK(nrps_io_conflicts(&s) == NRPS_ERR_ARG && strstr(nrps_last_error(), "same file"));
    nrps_io_free(&s);
    /* devices and descriptors never conflict; two inputs on one file are fine */
    nrps_io_init(&s);
    nrps_io_add(&s, "--json", "/dev/null", 1);
    nrps_io_add(&s, "--csv", "/dev/null", 1);
    nrps_io_add(&s, "--plot", "/dev/stdout", 1);
    nrps_io_add(&s, "--record", "/dev/stdout", 1);
    nrps_io_add(&s, "--p1", model, 0);
    nrps_io_add(&s, "--p2", alias, 0);
    CHECK(nrps_io_conflicts(&s) == NRPS_OK);
    nrps_io_free(&s);
    unlink(alias);
    unlink(model);
    CHECK(rmdir(dir) == 0);
}

static void test_second_sigint_removes_temp_files(void) {
    /* A child opens an atomic file, then gets Ctrl-C twice: it must exit 130 at once, leaving neither the
     * target nor the temp file. */
    char dir[] = "/tmp/nrps_sig_XXXXXX";
    REQUIRE(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/out.json", dir);
    fflush(NULL);
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        nrps_install_signal_handlers();
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
    CHECK(access(path, F_OK) != 0);
    CHECK(rmdir(dir) == 0); /* empty: no temp file either */
}

static void test_sigterm_without_polling(void) {
    /* nrps_signals_install (a command that does not poll): SIGTERM removes the temp file and exits 143 at once. */
    char dir[] = "/tmp/nrps_term_XXXXXX";
    REQUIRE(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/out.json", dir);
    fflush(NULL);
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, 2); /* its one line */
        nrps_signals_install("test");
        nrps_atomic_file af;
        if (nrps_atomic_open(&af, path, "w") != NRPS_OK) _exit(3);
        fputs("{\"half\":", af.f);
        fflush(af.f);
        raise(SIGTERM);
        _exit(4); /* not reached */
    }
    int status = 0;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 143);
    CHECK(rmdir(dir) == 0);
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

/* nrps_wrap: breaks at spaces within the width, continuation lines indented, long words cut, embedded newlines. */
static void test_wrap(void) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    REQUIRE(f != NULL);
    nrps_wrap(f, 20, 4, "alpha beta gamma delta epsilon zeta");
    nrps_wrapf(f, 20, 2, "%s", "short");
    nrps_wrap(f, 20, 2, "abcdefghijklmnopqrstuvwxyz0123");
    nrps_wrap(f, 20, 2, "one\ntwo three");
    fclose(f);
    const char *want = "alpha beta gamma\n    delta epsilon\n    zeta\nshort\nabcdefghijklmnopqrst\n  uvwxyz0123\n"
                       "one\n  two three\n";
    CHECK_MSG(!strcmp(buf, want), "got [%s]", buf);
    free(buf);
    unsetenv("COLUMNS");
    FILE *g = tmpfile(); /* not a terminal */
    REQUIRE(g != NULL);
    CHECK(nrps_term_width(g) == NRPS_DEFAULT_WIDTH);
    setenv("COLUMNS", "72", 1);
    CHECK(nrps_term_width(g) == 72);
    setenv("COLUMNS", "wide", 1);
    CHECK(nrps_term_width(g) == NRPS_DEFAULT_WIDTH);
    unsetenv("COLUMNS");
    fclose(g);
}

int main(void) {
    RUN(test_wrap);
    RUN(test_rng_reproducible);
    RUN(test_rng_below_uniform);
    RUN(test_rng_gamma_mean);
    RUN(test_parse);
    RUN(test_atomic_write_and_read);
    RUN(test_out_resolve);
    RUN(test_atomic_symlink_and_long_name);
    RUN(test_atomic_fifo_without_reader);
    RUN(test_io_conflicts);
    RUN(test_second_sigint_removes_temp_files);
    RUN(test_read_file_cap);
    RUN(test_sigterm_without_polling);
    return check_summary("util");
}
