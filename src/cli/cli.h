/* cli.h - the subcommands of the neural_rps binary and the helpers they share for flags and errors.
 * Each subcommand lives in src/cli/cmd_<name>.c, takes argv starting at the subcommand name (argv[0]
 * is e.g. "benchmark"), and returns the process exit code: 0 success, 1 failure, 2 usage error. */
#ifndef NRPS_CLI_H
#define NRPS_CLI_H

#include <getopt.h>

#include "search/agent.h"
#include "util/util.h"

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

/* Output-path check before any work is done (nrps_out_check: a file to replace is probed with a temp file beside its
 * target, a device or FIFO is not opened). On failure prints one line "neural_rps CMD: --FLAG <reason>" (e.g.
 * "--json out/x.json: cannot write: folder 'out' does not exist", "--json d is a folder, expected a file name") and
 * returns 0: the caller exits 2 (a usage error, as for every bad flag); returns 1 when the path can be written. */
int cli_out_path_check(const char *cmd, const char *flag, const char *path);

/* The files a command reads and writes: declare every input and output (paths are not copied), then call
 * cli_io_check once, before any work. */
typedef nrps_io_set cli_io;
void cli_io_init(cli_io *io);
/* An input file (NULL ignored) given by --flag, or by a positional argument shown as name (e.g. "FILE.model"). */
void cli_io_input(cli_io *io, const char *flag, const char *path);
void cli_io_arg(cli_io *io, const char *name, const char *path);
/* The network files an agent spec (net, mcts-net) reads, under flag. */
void cli_io_agent(cli_io *io, const char *flag, const agent_spec *spec);
/* An output file (NULL ignored): cli_out_path_check, then declared. 0 after its one-line error. */
int cli_io_output(cli_io *io, const char *cmd, const char *flag, const char *path);
/* Refuses an output that is an input or another output with one line naming both flags; frees io either way.
 * Returns 1 when there is none, 0 after the line (the caller exits 2). */
int cli_io_check(cli_io *io, const char *cmd);

/* --mpi (train, arena; util/mpi_dist.h). Every rank parses the same flags; only rank 0 prints: on the other ranks
 * cli_usage_error and cli_fail keep their line as the error message, and cli_mpi_agree hands the first failing
 * rank's line to rank 0.
 * cli_flag_given: 1 when the option with value val is among argv's flags (getopt_long's reading, silently; optind is
 * reset), so that a command can join the MPI job before it parses (and prints) anything. */
int cli_flag_given(int argc, char **argv, const struct option *opts, int val);
/* Joins the MPI job (nrps_dist_start) and checks that every rank runs this build. Returns 0, or the exit status
 * after one line on stderr (not built with MPI, no MPI launcher: 2; ranks of different builds: 1). COLLECTIVE. */
int cli_mpi_start(const char *cmd);
/* Every rank's exit status so far (0 = go on) into one, the same on every rank: 0 when all are 0, otherwise the first
 * failing rank's (2 for a usage error, else 1), whose line rank 0 prints when it is another rank's. Returns rc
 * unchanged without an MPI job. COLLECTIVE. */
int cli_mpi_agree(const char *cmd, int rc);
/* Leaves the MPI job (if any) and returns rc: every command that called cli_mpi_start returns through it. */
int cli_mpi_end(int rc);

/* True when stdout/stderr is a terminal (progress bars only then). */
int cli_isatty_err(void);

#endif
