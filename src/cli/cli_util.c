/* cli_util.c - flag parsing and one-line errors shared by the subcommands (see cli.h). */
#include "cli/cli.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "util/util.h"

static void vline(const char *cmd, const char *fmt, va_list ap) {
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
