/* cli-checks.c — what tessera-cli checks before it loads a model, so that a mistake costs a
 * second and not a whole generation: the output folder, the model folder, the prompt's
 * length in tokens and the size asked for; and the progress line shown while it works. */
#include "cli.h"
#include "model/ts-model-folder.h"

#include <errno.h>
#include <glib/gi18n.h>
#include <stdio.h>
#include <unistd.h>

gboolean
cli_output_writable (const char *path, GError **error)
{
  if (g_file_test (path, G_FILE_TEST_IS_DIR)) {
    g_set_error (error, TS_ERROR, TS_ERROR_IO,
                 _("cannot write “%s”: it is a folder; give a file name such as %s/out.png"),
                 path, path);
    return FALSE;
  }
  g_autofree char *folder = g_path_get_dirname (path);
  if (!g_file_test (folder, G_FILE_TEST_IS_DIR)) {
    g_set_error (error, TS_ERROR, TS_ERROR_IO,
                 _("cannot write “%s”: the folder “%s” does not exist"), path, folder);
    return FALSE;
  }
  if (access (folder, W_OK | X_OK) != 0) {
    int saved = errno;
    g_set_error (error, TS_ERROR, TS_ERROR_IO,
                 _("cannot write “%s”: the folder “%s” is not writable (%s)"), path, folder,
                 g_strerror (saved));
    return FALSE;
  }
  return TRUE;
}

/* The tokenizer's count includes its start and end tokens; the user's words are the rest. */
static void
warn_if_truncated (TsTokenizer *tok, const char *command, const char *text, gboolean negative)
{
  if (!text || !*text)
    return;
  int max_length = ts_tokenizer_model_max_length (tok);
  g_autofree int64_t *ids = g_new (int64_t, max_length);
  int n_untruncated = 0;
  g_autoptr (GError) error = NULL;
  if (!ts_tokenizer_encode (tok, text, max_length, ids, NULL, &n_untruncated, &error) ||
      n_untruncated <= max_length)
    return; /* invalid UTF-8 is the pipeline's error to report */
  int read = max_length - 2, total = n_untruncated - 2, dropped = n_untruncated - max_length;
  if (negative)
    fprintf (stderr, _("tessera-cli %s: warning: the negative prompt is %d tokens long but the "
                       "model reads only the first %d; the last %d are dropped\n"),
             command, total, read, dropped);
  else
    fprintf (stderr, _("tessera-cli %s: warning: the prompt is %d tokens long but the model "
                       "reads only the first %d; the last %d are dropped\n"),
             command, total, read, dropped);
}

/* Pixels per token side: the VQ-GAN's downscale, 2 per block after the first (what
 * ts_pipeline_token_size says once the networks are loaded; read from the configs here so
 * the checks come before the load). */
static int
token_size (const TsModelFolder *folder)
{
  return 1 << (ts_model_folder_vq_config (folder)->n_blocks - 1);
}

gboolean
cli_check_model_request (const char *command, const char *model_dir,
                         const TsPipelineRequest *request, gboolean warn, int *native,
                         GError **error)
{
  /* Opening reads the configs, the tokenizer and the weights' headers; the weights stay on
   * disk until the pipeline loads them. */
  g_autoptr (TsModelFolder) folder = ts_model_folder_open (model_dir, NULL, error);
  if (!folder)
    return FALSE;
  const TsUVitConfig *uvit = ts_model_folder_transformer_config (folder);
  *native = (int) uvit->sample_size * token_size (folder);
  /* Generate's sizes: whole tokens, and an even number of them when the transformer
   * downsamples its grid (the pipeline refuses anything else, after the load). */
  int quantum = token_size (folder) * (uvit->downsample ? 2 : 1);
  int width = request->width > 0 ? request->width : *native;
  int height = request->height > 0 ? request->height : *native;
  if (ts_mode_has (request->mode, TS_MODE_TAKES_SIZE) && (width % quantum || height % quantum)) {
    g_set_error (error, TS_ERROR, TS_ERROR_INVALID_ARGUMENT,
                 _("the size %d×%d does not fit this model: width and height must be "
                   "multiples of %d (its native size is %d×%d)"), width, height, quantum,
                 *native, *native);
    return FALSE;
  }
  if (!warn)
    return TRUE;
  TsTokenizer *tok = ts_model_folder_tokenizer (folder);
  warn_if_truncated (tok, command, request->prompt, FALSE);
  if (request->guidance > 1)
    warn_if_truncated (tok, command, request->negative_prompt, TRUE);
  if (ts_mode_has (request->mode, TS_MODE_TAKES_SIZE) && (width != *native || height != *native))
    fprintf (stderr, _("tessera-cli %s: warning: the model's native size is %d×%d; at %d×%d "
                       "pictures may repeat or lose their composition\n"),
             command, *native, *native, width, height);
  return TRUE;
}

/* ---- progress ---- */

void
cli_progress_init (CliProgress *progress, const char *command, gboolean in_place)
{
  *progress = (CliProgress) { .command = command, .in_place = in_place };
}

void
cli_progress_step (const TsPipelineProgress *step, gpointer data)
{
  CliProgress *progress = data;
  double left = MAX (0.0, ts_pipeline_progress_eta (step)); /* the editor shows the same */
  /* The time left: tenths of a second where it is short, calmer where it is long. Whole
   * sentences, so that translators see each one. */
  g_autofree char *line = NULL;
  int whole = (int) (left + 0.5);
  if (step->step >= step->n_steps)
    line = g_strdup_printf (_("Step %d of %d · finishing"), step->step, step->n_steps);
  else if (left < 10)
    line = g_strdup_printf (_("Step %d of %d · about %.1f s left"), step->step, step->n_steps,
                            left);
  else if (left < 60)
    line = g_strdup_printf (_("Step %d of %d · about %d s left"), step->step, step->n_steps,
                            whole);
  else
    line = g_strdup_printf (_("Step %d of %d · about %d min %02d s left"), step->step,
                            step->n_steps, whole / 60, whole % 60);
  cli_progress_phase (progress, line);
}

void
cli_progress_phase (CliProgress *progress, const char *text)
{
  /* In place on a terminal (\r, then erase what a longer line left); one line each in a pipe
   * or a log, where \r would pile up. */
  if (progress->in_place)
    fprintf (stderr, "\r%s: %s\033[K", progress->command, text);
  else
    fprintf (stderr, "%s: %s\n", progress->command, text);
  fflush (stderr);
  progress->shown = TRUE;
}

void
cli_progress_finish (CliProgress *progress)
{
  /* The terminal's line is cleared so the results print on a clean line. */
  if (progress->in_place && progress->shown)
    fprintf (stderr, "\r\033[K");
  progress->shown = FALSE;
}
