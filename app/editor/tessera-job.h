/* tessera-job.h — one request as the editor hands it to the engine, and what comes back.
 *
 * Kept apart from the engine's own request type so the UI does not depend on how the
 * pipeline is driven; tessera-engine.c translates. */
#pragma once

#include <glib.h>

#include "tessera-params.h"

G_BEGIN_DECLS

typedef struct {
  TesseraParams *params;
  int width, height;   /* the document's size */
  GBytes *rgba;        /* straight RGBA, stride width*4 */
  GBytes *mask;        /* stride width; non-zero = the region to repaint, as painted (the
                          pipeline grows and feathers it: see ts-pipeline.h) */
  int grow, feather;   /* inpaint, background: pixels the repainted region grows beyond the
                          mask, and the width of the composite's soft edge */
  /* Outpaint: the border of rgba that is new (the canvas was extended by this much); the
   * picture inside it is the original, which the pipeline extends and blends into. */
  int extend_left, extend_top, extend_right, extend_bottom;
  /* Generate, Edit, Restyle on a picture larger than the model's native size: TRUE works on
   * the native-size frame at (frame_x, frame_y), composited back; FALSE on the whole picture
   * scaled to the native size and back (the result's notice says so). */
  gboolean use_frame;
  int frame_x, frame_y;
} TesseraJobRequest;

TesseraJobRequest *tessera_job_request_new (const TesseraParams *params, int width, int height,
                                            GBytes *rgba, GBytes *mask);
void               tessera_job_request_free (TesseraJobRequest *request);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TesseraJobRequest, tessera_job_request_free)

/* After each sampler step: the token maps of every variant, mask_id where still hidden. */
typedef struct {
  int step, n_steps;   /* step counts from 1 */
  int n_rows, token_width, token_height;
  int mask_id;
  double seconds_left; /* the remaining steps at the pace so far; -1: not known yet */
  int32_t tokens[];    /* n_rows × token_height × token_width */
} TesseraJobProgress;

TesseraJobProgress *tessera_job_progress_new (int step, int n_steps, int n_rows,
                                              int token_width, int token_height, int mask_id,
                                              const int32_t *tokens);

/* Results: each variant is straight RGBA of width × height (the document's size) and
 * differs from the input only where the request allowed. */
typedef struct {
  int width, height;
  GPtrArray *variants;   /* GBytes */
  guint32 first_seed;
  char *notice;          /* what the engine did differently to get it (a smaller batch, the
                            CPU instead of the GPU), for the user; NULL if nothing */
  char *backend;         /* the backend that made it, e.g. "cpu" */
  gboolean device_lost;  /* the GPU was lost, during this request or before */
} TesseraJobResult;

void tessera_job_result_free (TesseraJobResult *result);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TesseraJobResult, tessera_job_result_free)

G_END_DECLS

G_BEGIN_DECLS
/* A stable colour for a token id, 0xAARRGGBB: the live preview draws revealed tokens as a
 * mosaic before the VQ decoder has run. */
guint32 tessera_token_color (int32_t token);
G_END_DECLS
