/* cli_util.c - flag parsing and one-line errors shared by the subcommands (see cli.h). */
#include "cli/cli.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "search/arena.h"
#include "train/selfplay.h"
#include "train/train.h"
#include "util/mpi_dist.h"
#include "util/util.h"

/* The line on stderr; on ranks other than 0 of an MPI job kept as the error message instead, for cli_mpi_agree to
 * hand to rank 0 (one line per job, not one per rank). */
static void vline(const char *cmd, const char *fmt, va_list ap) {
    if (nrps_dist_rank() != 0) {
        char msg[1024];
        vsnprintf(msg, sizeof msg, fmt, ap);
        nrps_set_error("%s", msg);
        return;
    }
    fprintf(stderr, "neural_rps %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

int cli_usage_error(const char *cmd, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vline(cmd, fmt, ap);
    va_end(ap);
    return 2;
}

int cli_fail(const char *cmd, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vline(cmd, fmt, ap);
    va_end(ap);
    return 1;
}

int cli_long(const char *cmd, const char *flag, const char *val, long lo, long hi, long *out) {
    if (nrps_parse_long(val, lo, hi, out)) return 1;
    cli_usage_error(cmd, "--%s expects an integer in [%ld, %ld], got '%s'", flag, lo, hi, val ? val : "");
    return 0;
}

int cli_double(const char *cmd, const char *flag, const char *val, double lo, double hi, double *out) {
    if (nrps_parse_double(val, lo, hi, out)) return 1;
    cli_usage_error(cmd, "--%s expects a number in [%g, %g], got '%s'", flag, lo, hi, val ? val : "");
    return 0;
}

int cli_getopt(const char *cmd, int argc, char **argv, const struct option *opts) {
    opterr = 0;
    int idx = 0;
    int c = getopt_long(argc, argv, ":", opts, &idx);
    if (c == '?') {
        const char *bad = argv[optind - 1];
        if (optopt)
            cli_usage_error(cmd, "unknown flag '-%c' (see 'neural_rps %s --help')", optopt, cmd);
        else
            cli_usage_error(cmd, "unknown flag '%s' (see 'neural_rps %s --help')", bad, cmd);
        return -2;
    }
    if (c == ':') {
        cli_usage_error(cmd, "flag '%s' needs a value", argv[optind - 1]);
        return -2;
    }
    return c;
}

int cli_out_path_check(const char *cmd, const char *flag, const char *path) {
    if (!path || !path[0]) {
        cli_usage_error(cmd, "--%s expects a file name", flag);
        return 0;
    }
    if (nrps_out_check(path) != NRPS_OK) {
        cli_usage_error(cmd, "--%s %s", flag, nrps_last_error());
        return 0;
    }
    return 1;
}

void cli_io_init(cli_io *io) { nrps_io_init(io); }

void cli_io_input(cli_io *io, const char *flag, const char *path) {
    char label[64];
    snprintf(label, sizeof label, "--%s", flag);
    nrps_io_add(io, label, path, 0);
}

void cli_io_arg(cli_io *io, const char *name, const char *path) { nrps_io_add(io, name, path, 0); }

void cli_io_agent(cli_io *io, const char *flag, const agent_spec *spec) {
    if (spec->kind != AGENT_MCTS_NET && spec->kind != AGENT_NET) return;
    if (spec->net_path[0]) {
        cli_io_input(io, flag, spec->net_path);
        return;
    }
    cli_io_input(io, flag, spec->policy_path);
    if (spec->kind == AGENT_MCTS_NET) cli_io_input(io, flag, spec->value_path);
}

int cli_io_output(cli_io *io, const char *cmd, const char *flag, const char *path) {
    if (!path) return 1;
    if (!cli_out_path_check(cmd, flag, path)) return 0;
    char label[64];
    snprintf(label, sizeof label, "--%s", flag);
    nrps_io_add(io, label, path, 1);
    return 1;
}

int cli_io_check(cli_io *io, const char *cmd) {
    int ok = nrps_io_conflicts(io) == NRPS_OK;
    if (!ok) cli_usage_error(cmd, "%s", nrps_last_error());
    nrps_io_free(io);
    return ok;
}

int cli_isatty_err(void) { return isatty(STDERR_FILENO); }

int cli_flag_given(int argc, char **argv, const struct option *opts, int val) {
    char **copy = malloc(((size_t)argc + 1) * sizeof *copy); /* getopt_long permutes the array it is given */
    if (!copy) return 0;
    memcpy(copy, argv, (size_t)argc * sizeof *copy);
    copy[argc] = NULL;
    int found = 0, c, idx;
    opterr = 0;
    optind = 0;
    while ((c = getopt_long(argc, copy, ":", opts, &idx)) != -1) found |= c == val;
    optind = 0;
    free(copy);
    return found;
}

int cli_mpi_start(const char *cmd) {
    char label[64];
    snprintf(label, sizeof label, "neural_rps %s", cmd);
    if (nrps_dist_start(label) != NRPS_OK) {
        if (nrps_dist_launch_rank() <= 0) fprintf(stderr, "neural_rps %s: %s\n", cmd, nrps_last_error());
        return 2;
    }
    char sig[128]; /* what the ranks exchange as bytes must have one layout */
    snprintf(sig, sizeof sig, "%s, structures %zu/%zu/%zu bytes", NRPS_VERSION, sizeof(train_config),
             sizeof(arena_game), sizeof(sp_sample));
    int rc = cli_mpi_agree(cmd, nrps_dist_check_build(sig) == NRPS_OK ? 0 : 1);
    if (rc != 0) nrps_dist_end();
    return rc;
}

int cli_mpi_agree(const char *cmd, int rc) {
    if (!nrps_dist_active()) return rc;
    nrps_status st = nrps_dist_agree(rc == 0 ? NRPS_OK : rc == 2 ? NRPS_ERR_ARG : NRPS_ERR_IO);
    if (st == NRPS_OK) return 0;
    if (nrps_dist_rank() == 0 && rc == 0) cli_fail(cmd, "%s", nrps_last_error()); /* another rank's line */
    return st == NRPS_ERR_ARG ? 2 : 1;
}

int cli_mpi_end(int rc) {
    nrps_dist_end();
    return rc;
}
