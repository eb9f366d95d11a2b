/* cmd_play.c - placeholder until the module lands (being written now). */
#include "cli/cli.h"
int cmd_play(int argc, char **argv) { (void)argc; return cli_fail(argv[0], "not implemented yet"); }
