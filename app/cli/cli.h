/* cli.h — tessera-cli subcommands. Each returns the process exit status. */
#pragma once

#include "tessera.h"

/* Exit statuses shared by every subcommand. */
enum {
  CLI_EXIT_OK = 0,
  CLI_EXIT_FAILURE = 1, /* the job ran and failed (a check did not pass, a model error) */
  CLI_EXIT_USAGE = 2,   /* bad command line */
};

int cli_info (int argc, char **argv);
int cli_selfcheck (int argc, char **argv);

/* Open the backend named by --device (or TESSERA_DEVICE); prints why on failure. */
TsBackend *cli_open_backend (const char *device);
