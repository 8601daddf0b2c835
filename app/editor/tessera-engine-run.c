/* tessera-engine-run.c — from the editor's request to the pipeline's and back. */
#include "tessera-engine-run.h"

#include <string.h>

static const TsPipelineMode pipeline_modes[TESSERA_N_MODES] = {
  [TESSERA_MODE_GENERATE] = TS_MODE_GENERATE,
  [TESSERA_MODE_INPAINT] = TS_MODE_INPAINT,
  /* The editor grows the canvas itself and masks the new border. */
  [TESSERA_MODE_OUTPAINT] = TS_MODE_INPAINT,
  [TESSERA_MODE_BACKGROUND] = TS_MODE_BACKGROUND,
  [TESSERA_MODE_EDIT] = TS_MODE_EDIT,
  [TESSERA_MODE_RESTYLE] = TS_MODE_RESTYLE,
};

/* The request's straight RGBA as RGB, and its mask, in the pipeline's image type. */
static gboolean
request_images (const TesseraJobRequest *r, TsImage **image, TsImage **mask, GError **error)
{
  gsize n = (gsize) r->width * r->height;
  *image = ts_image_new (r->width, r->height, 3, error);
  *mask = *image ? ts_image_new (r->width, r->height, 1, error) : NULL;
  if (!*mask)
    return FALSE;
  const guint8 *src = g_bytes_get_data (r->rgba, NULL);
  for (gsize i = 0; i < n; i++)
    memcpy ((*image)->pixels + i * 3, src + i * 4, 3);
  if (r->mask)
    memcpy ((*mask)->pixels, g_bytes_get_data (r->mask, NULL), n);
  return TRUE;
}

/* One result image as straight RGBA of width × height. Edits come back at the input's size,
 * already composited by the pipeline; Generate comes back at the model's size and replaces
 * the canvas, scaled to cover it. */
static GBytes *
variant_rgba (const TsImage *im, int width, int height)
{
  guint8 *px = g_malloc ((gsize) width * height * 4);
  for (int y = 0; y < height; y++)
    for (int x = 0; x < width; x++) {
      const guint8 *g = im->pixels + ((gsize) (y * im->height / height) * im->width
                                      + x * im->width / width) * 3;
      guint8 *o = px + ((gsize) y * width + x) * 4;
      o[0] = g[0]; o[1] = g[1]; o[2] = g[2]; o[3] = 255;
    }
  return g_bytes_new_take (px, (gsize) width * height * 4);
}

TesseraJobResult *
tessera_engine_run_request (TsPipeline *pipeline, const TesseraJobRequest *r,
                            GCancellable *cancellable, TsProgressFunc progress,
                            gpointer progress_data, gboolean *device_lost, GError **error)
{
  g_autoptr (TsImage) image = NULL;
  g_autoptr (TsImage) mask = NULL;
  if (!request_images (r, &image, &mask, error))
    return NULL;
  TsPipelineRequest req;
  TsPipelineMode mode = pipeline_modes[r->params->mode];
  ts_pipeline_request_init (&req, mode);
  req.prompt = r->params->prompt;
  req.negative_prompt = r->params->negative_prompt;
  req.steps = r->params->steps;
  req.guidance = r->params->guidance;
  req.seed = r->params->seed;
  req.n_variants = r->params->n_variants;
  if (mode == TS_MODE_EDIT || mode == TS_MODE_RESTYLE)
    req.strength = r->params->strength;
  if (mode != TS_MODE_GENERATE)
    req.image = image;
  if (mode == TS_MODE_INPAINT || mode == TS_MODE_BACKGROUND)
    req.mask = mask;
  req.progress = progress;
  req.progress_data = progress_data;
  req.cancellable = cancellable;

  g_autoptr (TsPipelineResult) res = ts_pipeline_run (pipeline, &req, error);
  /* The editor may now sit idle for long: the CPU backend's cache of freed blocks (up to
   * 256 MiB) goes back to the system; mapping it again costs the next request milliseconds. */
  ts_pipeline_trim (pipeline);
  /* A lost GPU stays lost: the pipeline ran (or will run) on the CPU backend instead. */
  gboolean lost = ts_backend_is_lost (ts_pipeline_backend (pipeline));
  if (device_lost)
    *device_lost = lost;
  if (!res)
    return NULL;
  TesseraJobResult *out = g_new0 (TesseraJobResult, 1);
  out->width = r->width;
  out->height = r->height;
  out->first_seed = r->params->seed;
  out->variants = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  for (int v = 0; v < res->n_images; v++)
    g_ptr_array_add (out->variants, variant_rgba (res->images[v], r->width, r->height));
  out->notice = g_strdup (res->notice);
  out->backend = g_strdup (res->backend);
  out->device_lost = lost;
  return out;
}
