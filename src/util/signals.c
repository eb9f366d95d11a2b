/* signals.c - the signal handlers of every command and the registry of temp files they remove (see util.h,
 * "signals", and tmpfiles.h). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "util/tmpfiles.h"
#include "util/util.h"

/* ---- temp files ----
 * A slot's path is filled before its flag is set and the flag is cleared after the rename/remove, so a handler
 * never unlinks a file it should keep (only ever a temp file this process created with O_EXCL). */
enum { TMP_SLOTS = 16, TMP_PATH = 4096 };
static char g_tmp_path[TMP_SLOTS][TMP_PATH];
static volatile sig_atomic_t g_tmp_used[TMP_SLOTS];
static pthread_mutex_t g_tmp_lock = PTHREAD_MUTEX_INITIALIZER;

int nrps_tmp_register(const char *path) {
    if (strlen(path) >= TMP_PATH) return -1;
    int slot = -1;
    pthread_mutex_lock(&g_tmp_lock);
    for (int i = 0; i < TMP_SLOTS && slot < 0; i++)
        if (!g_tmp_used[i]) {
            snprintf(g_tmp_path[i], TMP_PATH, "%s", path);
            g_tmp_used[i] = 1;
            slot = i;
        }
    pthread_mutex_unlock(&g_tmp_lock);
    return slot;
}

void nrps_tmp_unregister(int slot) {
    if (slot < 0 || slot >= TMP_SLOTS) return;
    pthread_mutex_lock(&g_tmp_lock);
    g_tmp_used[slot] = 0;
    pthread_mutex_unlock(&g_tmp_lock);
}

void nrps_tmp_unlink_all(void) {
    for (int i = 0; i < TMP_SLOTS; i++)
        if (g_tmp_used[i]) unlink(g_tmp_path[i]);
}

/* ---- handlers ---- */
volatile sig_atomic_t nrps_interrupted = 0;
static volatile sig_atomic_t g_stdout_closed = 0;
static volatile sig_atomic_t g_file_too_large = 0;
static volatile sig_atomic_t g_cooperative = 0;
static char g_prefix[96] = "neural_rps";

const char *nrps_signal_name(int sig) {
    switch (sig) {
    case SIGINT: return "SIGINT";
    case SIGTERM: return "SIGTERM";
    case SIGHUP: return "SIGHUP";
    case SIGPIPE: return "SIGPIPE";
    case SIGXFSZ: return "SIGXFSZ";
    }
    return "signal";
}

int nrps_stdout_closed(void) { return g_stdout_closed != 0; }

int nrps_signal_exit_status(int rc) {
    if (nrps_interrupted) return 128 + nrps_interrupted;
    if (g_stdout_closed) return 128 + SIGPIPE;
    return g_file_too_large && rc != 0 ? 128 + SIGXFSZ : rc;
}

/* True when standard output is a pipe or socket whose reader has gone (poll reports an error or hang-up).
 * Async-signal-safe. */
static int stdout_broken(void) {
    struct pollfd p = {.fd = STDOUT_FILENO, .events = POLLOUT};
    return poll(&p, 1, 0) == 1 && (p.revents & (POLLERR | POLLHUP));
}

/* Points descriptor 1 at /dev/null: later writes to stdout succeed and go nowhere. Async-signal-safe. */
static void silence_stdout(void) {
    int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (fd < 0) return;
    dup2(fd, STDOUT_FILENO);
    close(fd);
}

/* Writes "PREFIX: stopped by SIG...; temp files removed" as one line on stderr. Async-signal-safe. */
static void say_stopped(int sig) {
    const char *parts[] = {g_prefix, ": stopped by ", nrps_signal_name(sig), sig == SIGPIPE ? " (standard output closed)" : "",
                           "\n"};
    for (size_t i = 0; i < sizeof parts / sizeof *parts; i++) {
        ssize_t n = write(STDERR_FILENO, parts[i], strlen(parts[i]));
        (void)n;
    }
}

/* Removes the temp files and exits 128 + sig. Async-signal-safe. */
static void leave_now(int sig) {
    nrps_tmp_unlink_all();
    _exit(128 + sig);
}

static void on_signal(int sig) {
    int saved = errno;
    if (sig == SIGPIPE) {
        if (stdout_broken()) { /* else another pipe: that write fails with EPIPE and its writer says so */
            silence_stdout();
            if (!g_cooperative) say_stopped(sig), leave_now(sig);
            g_stdout_closed = 1;
        }
    } else if (sig == SIGXFSZ) { /* the write fails with EFBIG; its writer reports it and removes its temp file */
        g_file_too_large = 1;
    } else if (!g_cooperative) {
        say_stopped(sig);
        leave_now(sig);
    } else if (nrps_interrupted) { /* a second stop signal: leave now, without temp files */
        leave_now(sig);
    } else {
        nrps_interrupted = sig;
    }
    errno = saved;
}

static void install(void) {
    static const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGXFSZ};
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART; /* stdio reads and writes are not cut short by EINTR */
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++) sigaddset(&sa.sa_mask, sigs[i]);
    for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++) {
        struct sigaction old;
        /* nohup's ignored SIGHUP stays ignored (SIGINT is taken even when ignored, as background jobs get it) */
        if (sigs[i] == SIGHUP && sigaction(SIGHUP, NULL, &old) == 0 && old.sa_handler == SIG_IGN) continue;
        sigaction(sigs[i], &sa, NULL);
    }
}

void nrps_signals_install(const char *prefix) {
    snprintf(g_prefix, sizeof g_prefix, "%s", prefix && *prefix ? prefix : "neural_rps");
    g_cooperative = 0;
    install();
}

void nrps_install_signal_handlers(void) {
    g_cooperative = 1;
    install();
}

