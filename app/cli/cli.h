/* cli.h — tessera-cli subcommands. Each returns the process exit status. */
#pragma once

#include "tessera.h"
#include "pipeline/ts-pipeline.h"

/* Exit statuses shared by every subcommand. */
enum {
  CLI_EXIT_OK = 0,
  CLI_EXIT_FAILURE = 1, /* the job ran and failed (a check did not pass, a model error) */
  CLI_EXIT_USAGE = 2,   /* bad command line */
};

int cli_info (int argc, char **argv);
int cli_selfcheck (int argc, char **argv);
int cli_generate (int argc, char **argv);
int cli_edit (int argc, char **argv);
int cli_inpaint (int argc, char **argv);
int cli_outpaint (int argc, char **argv);
int cli_background (int argc, char **argv);
int cli_restyle (int argc, char **argv);

/* Image files (cli-image.c): RGB (channels 3) or a binarised mask (channels 1). Read through
 * app/common/tessera-image-decode.h, with its formats and size limits. */
TsImage *cli_image_load (const char *path, int channels, GError **error);
/* The decoder's straight RGBA as the engine's image: alpha dropped (channels 3) or the mask
 * binarised (channels 1). What cli_image_load does after decoding; the fuzz target calls it. */
TsImage *cli_image_from_rgba (GBytes *rgba, int width, int height, int channels,
                              GError **error);
gboolean cli_image_save (const TsImage *image, const char *path, GError **error);
/* Whether `path` names a format that can be written here. */
gboolean cli_image_format_ok (const char *path, GError **error);

/* The model folder: --model, else the shipped one; NULL with a message when there is none. */
char *cli_model_dir (const char *option, GError **error);

/* Open the backend named by --device (or TESSERA_DEVICE); prints why on failure. */
TsBackend *cli_open_backend (const char *device);
