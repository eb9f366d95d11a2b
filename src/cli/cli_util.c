/* cli_util.c - flag parsing and one-line errors shared by the subcommands (see cli.h). */
#include "cli/cli.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
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
    struct stat sb;
    if (!path || !path[0]) {
        cli_usage_error(cmd, "--%s expects a file name", flag);
        return 0;
    }
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        cli_usage_error(cmd, "--%s %s is a folder, expected a file name", flag, path);
        return 0;
    }
    nrps_atomic_file af;
    if (nrps_atomic_open(&af, path, "wb") != NRPS_OK) {
        cli_usage_error(cmd, "--%s %s", flag, nrps_last_error());
        return 0;
    }
    nrps_atomic_abort(&af);
    return 1;
}

int cli_isatty_err(void) { return isatty(STDERR_FILENO); }
