/* tessera-job.c — request, progress and result records. */
#include "tessera-job.h"

#include <math.h>
#include <string.h>

TesseraJobRequest *
tessera_job_request_new (const TesseraParams *params, int width, int height, GBytes *rgba,
                         GBytes *mask)
{
  TesseraJobRequest *r = g_new0 (TesseraJobRequest, 1);
  r->params = tessera_params_copy (params);
  r->width = width;
  r->height = height;
  r->rgba = rgba ? g_bytes_ref (rgba) : NULL;
  r->mask = mask ? g_bytes_ref (mask) : NULL;
  return r;
}

void
tessera_job_request_free (TesseraJobRequest *r)
{
  if (!r)
    return;
  tessera_params_free (r->params);
  g_clear_pointer (&r->rgba, g_bytes_unref);
  g_clear_pointer (&r->mask, g_bytes_unref);
  g_free (r);
}

TesseraJobProgress *
tessera_job_progress_new (int step, int n_steps, int n_rows, int token_width, int token_height,
                          int mask_id, const int32_t *tokens)
{
  gsize n = (gsize) n_rows * token_width * token_height;
  TesseraJobProgress *p = g_malloc (sizeof *p + n * sizeof (int32_t));
  *p = (TesseraJobProgress) { step, n_steps, n_rows, token_width, token_height, mask_id, -1 };
  memcpy (p->tokens, tokens, n * sizeof (int32_t));
  return p;
}

void
tessera_job_result_free (TesseraJobResult *r)
{
  if (!r)
    return;
  g_clear_pointer (&r->variants, g_ptr_array_unref);
  g_free (r->notice);
  g_free (r->backend);
  g_free (r);
}

guint32
tessera_token_color (int32_t token)
{
  /* Golden-ratio hue steps keep neighbouring ids apart; fixed saturation and value keep the
   * mosaic readable over any picture. */
  double h = fmod (token * 0.61803398875, 1.0) * 6.0;
  double f = h - floor (h), v = 0.85, s = 0.55;
  double p = v * (1 - s), q = v * (1 - s * f), t = v * (1 - s * (1 - f));
  double rgb[6][3] = { { v, t, p }, { q, v, p }, { p, v, t }, { p, q, v }, { t, p, v }, { v, p, q } };
  const double *c = rgb[(int) h % 6];
  return 0xff000000u | ((guint32) (c[0] * 255) << 16) | ((guint32) (c[1] * 255) << 8)
         | (guint32) (c[2] * 255);
}
