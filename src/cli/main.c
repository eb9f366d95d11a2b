/* main.c - the neural_rps binary: dispatches to the subcommands declared in cli.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <onnxruntime_c_api.h>

#include "cli/cli.h"
#include "util/mpi_dist.h"
#include "util/util.h"

typedef struct {
    const char *name;
    int (*fn)(int, char **);
    const char *help;
} command;

static const command COMMANDS[] = {
    {"benchmark", cmd_benchmark, "time ONNX models through ONNX Runtime (CPU/GPU providers) and native C/CUDA"},
    {"train", cmd_train, "AlphaZero-style self-play training; writes policy/value ONNX models"},
    {"arena", cmd_arena, "pit two agents against each other over paired deals, with intervals and Elo"},
    {"play", cmd_play, "play a game in the terminal against an agent"},
    {"replay", cmd_replay, "replay JSON-lines game records and print final boards/results"},
    {"solve", cmd_solve, "exact game-theoretic value and best moves of a position"},
    {"import-go", cmd_import_go, "convert the original project's .model JSON into ONNX"},
    {"info", cmd_info, "describe an ONNX model: inputs, outputs, layers, metadata"},
};
#define NCOMMANDS (sizeof COMMANDS / sizeof COMMANDS[0])

/* The exit status once cmd has returned rc: output lost to a full disk or a closed pipe must not look like success,
 * and a signal caught on the way decides the status (128 + signal; 141 when standard output's reader left, after one
 * line saying so). */
static int finish(const char *cmd, int rc) {
    errno = 0;
    int lost = fflush(stdout) != 0 || ferror(stdout);
    if (nrps_stdout_closed())
        fprintf(stderr, "neural_rps %s: standard output was closed (SIGPIPE): the rest of it was dropped\n", cmd);
    else if (lost) {
        fprintf(stderr, "neural_rps %s: cannot write standard output%s%s\n", cmd, errno ? ": " : "",
                errno ? strerror(errno) : "");
        if (!rc) rc = 1;
    }
    return nrps_signal_exit_status(rc);
}

static void usage(FILE *f) {
    fprintf(f, "neural_rps %s - a 3x3 rock-paper-scissors card game lab and neural-network inference benchmark\n\n",
            NRPS_VERSION);
    fprintf(f, "usage: neural_rps <command> [flags]     (neural_rps <command> --help for its flags)\n\ncommands:\n");
    for (size_t i = 0; i < NCOMMANDS; i++) fprintf(f, "  %-10s %s\n", COMMANDS[i].name, COMMANDS[i].help);
    fprintf(f, "\n  --version  print the version and the ONNX Runtime version loaded\n  --help     this text\n");
}

/* Descriptors 0, 1 and 2 closed at start (`neural_rps benchmark >&-`) would be handed to the next file opened (ONNX
 * Runtime's profile, an output's temp file, a model) and printf would then write into that file. Each closed one gets
 * /dev/null read-only: it holds the number, reads see end-of-file, and writes fail (EBADF), so a report lost with a
 * closed stdout fails the run (stdout_finish) instead of landing elsewhere. */
static void hold_std_fds(void) {
    for (int fd = 0; fd <= 2; fd++) {
        if (fcntl(fd, F_GETFD) != -1 || errno != EBADF) continue;
        int got = open("/dev/null", O_RDONLY); /* the lowest free number: fd itself, the lower ones are held */
        if (got > fd) { /* (defensive) */
            dup2(got, fd);
            close(got);
        } /* no /dev/null (a bare chroot): carry on as before */
    }
}

int main(int argc, char **argv) {
    hold_std_fds();
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *c = argv[1];
    if (!strcmp(c, "--help") || !strcmp(c, "-h") || !strcmp(c, "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(c, "--version")) {
        printf("neural_rps %s\nONNX Runtime %s (C API version %d)\n", NRPS_VERSION,
               OrtGetApiBase()->GetVersionString(), ORT_API_VERSION);
#ifdef NRPS_HAVE_CUDA
        printf("native CUDA backend: compiled in\n");
#else
        printf("native CUDA backend: not compiled in (no nvcc at build time)\n");
#endif
        if (nrps_dist_built()) printf("MPI (--mpi): compiled in (%s)\n", nrps_dist_library());
        else printf("MPI (--mpi): not compiled in (no mpicc at build time)\n");
        return 0;
    }
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (!strcmp(c, COMMANDS[i].name)) {
            char prefix[64];
            snprintf(prefix, sizeof prefix, "neural_rps %s", c);
            nrps_signals_install(prefix); /* commands with long loops switch to nrps_install_signal_handlers */
            return finish(c, COMMANDS[i].fn(argc - 1, argv + 1));
        }
    fprintf(stderr, "neural_rps: unknown command '%s' (see 'neural_rps --help')\n", c);
    return 2;
}
