/* cli.h — tessera-cli subcommands. Each returns the process exit status. */
#pragma once

#include "tessera.h"
#include "pipeline/ts-mode-table.h"
#include "pipeline/ts-pipeline.h"

/* Exit statuses shared by every subcommand. */
enum {
  CLI_EXIT_OK = 0,
  CLI_EXIT_FAILURE = 1, /* the job ran and failed (a check did not pass, a model error) */
  CLI_EXIT_USAGE = 2,   /* bad command line */
};

int cli_info (int argc, char **argv);
int cli_selfcheck (int argc, char **argv);
/* `tessera-cli MODE`: a subcommand for each row of the mode table (cli-generate.c). */
int cli_run_mode (const TsModeInfo *mode, int argc, char **argv);

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

/* Open the backend named by --device (or TESSERA_DEVICE); prints why on failure. When
 * `report_fallback` (info, or --verbose) it also says so when no usable Vulkan GPU made it
 * fall back to the CPU backend; otherwise that is not worth a line on every call. */
TsBackend *cli_open_backend (const char *device, gboolean report_fallback);

/* Checks before any work (cli-checks.c). */

/* Whether `path` can be created: its folder exists and is writable, and it is no folder. */
gboolean cli_output_writable (const char *path, GError **error);
/* The configs of `model_dir` (from cli_model_dir) open; when `warn`, prints a warning for a prompt
 * (or negative prompt) longer than the model reads and for a generate size other than the
 * model's native one. Reads configs and headers only, not the weights. *native: the model's
 * native side in pixels. */
gboolean cli_check_model_request (const char *command, const char *model_dir,
                                  const TsPipelineRequest *request, gboolean warn, int *native,
                                  GError **error);

/* "Step 5 of 12 · about 0.4 s left" on stderr, rewritten in place on a terminal. */
typedef struct {
  const char *command;
  gboolean    in_place;
  gboolean    shown;
} CliProgress;

void cli_progress_init (CliProgress *progress, const char *command, gboolean in_place);
/* A TsProgressFunc; `data` is the CliProgress. */
void cli_progress_step (const TsPipelineProgress *step, gpointer data);
/* What happens before the first step ("loading the model…"), shown like a step. */
void cli_progress_phase (CliProgress *progress, const char *text);
/* Ends the in-place line (clears it) before results are printed. */
void cli_progress_finish (CliProgress *progress);
