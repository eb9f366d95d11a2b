/* cli.h - the subcommands of the neural_rps binary and the helpers they share for flags and errors.
 * Each subcommand lives in src/cli/cmd_<name>.c, takes argv starting at the subcommand name (argv[0]
 * is e.g. "benchmark"), and returns the process exit code: 0 success, 1 failure, 2 usage error. */
#ifndef NRPS_CLI_H
#define NRPS_CLI_H

#include <getopt.h>

int cmd_benchmark(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_arena(int argc, char **argv);
int cmd_play(int argc, char **argv);
int cmd_replay(int argc, char **argv);
int cmd_solve(int argc, char **argv);
int cmd_import_go(int argc, char **argv);
int cmd_info(int argc, char **argv);

/* Prints "neural_rps CMD: <message>" on stderr as one line and returns 2 (usage error). */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints "neural_rps CMD: <message>" on stderr as one line and returns 1 (runtime failure). */
int cli_fail(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Strict flag values: on a bad value print "neural_rps CMD: --FLAG expects ..., got 'X'" and return 0. */
int cli_long(const char *cmd, const char *flag, const char *val, long lo, long hi, long *out);
int cli_double(const char *cmd, const char *flag, const char *val, double lo, double hi, double *out);

/* getopt_long wrapper with uniform error messages: returns the option value like getopt_long,
 * or -2 after printing a one-line error for an unknown flag or a missing value.
 * Call with opterr irrelevant; it resets optind on first use of a new argv. */
int cli_getopt(const char *cmd, int argc, char **argv, const struct option *opts);

/* Output-path check before any work is done: path must not be a folder and a file must be creatable next to it
 * (probed with nrps_atomic_open + nrps_atomic_abort: nothing is left behind). On failure prints
 * "neural_rps CMD: --FLAG PATH is a folder, expected a file name" or "neural_rps CMD: --FLAG <reason>" and
 * returns 0 (the caller picks the exit code); returns 1 when the path can be written. */
int cli_out_path_check(const char *cmd, const char *flag, const char *path);

/* True when stdout/stderr is a terminal (progress bars only then). */
int cli_isatty_err(void);

#endif
