/* tessera-engine-run.c — from the editor's request to the pipeline's and back. What goes
 * into the pipeline's request follows the mode's row in the mode table. */
#include "tessera-engine-run.h"

#include <string.h>

/* The request's straight RGBA as RGB, and its mask, in the pipeline's image type. Outpaint
 * gets the original picture only: the canvas's new border is what the pipeline adds. */
gboolean
tessera_engine_run_request_images (const TesseraJobRequest *r, TsImage **image, TsImage **mask,
                                   GError **error)
{
  gboolean outpaint = ts_mode_has (r->params->mode, TS_MODE_NEEDS_EXTEND);
  int x0 = outpaint ? r->extend_left : 0, y0 = outpaint ? r->extend_top : 0;
  int w = outpaint ? r->width - r->extend_left - r->extend_right : r->width;
  int h = outpaint ? r->height - r->extend_top - r->extend_bottom : r->height;
  if (w <= 0 || h <= 0) {
    g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                         "outpaint: the extension is larger than the canvas");
    return FALSE;
  }
  *image = ts_image_new (w, h, 3, error);
  *mask = *image ? ts_image_new (r->width, r->height, 1, error) : NULL;
  if (!*mask)
    return FALSE;
  const guint8 *src = g_bytes_get_data (r->rgba, NULL);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      memcpy ((*image)->pixels + ((gsize) y * w + x) * 3,
              src + ((gsize) (y + y0) * r->width + x + x0) * 4, 3);
  if (r->mask)
    memcpy ((*mask)->pixels, g_bytes_get_data (r->mask, NULL), (gsize) r->width * r->height);
  return TRUE;
}

/* One result image as straight RGBA of width × height. Edits come back at the input's size
 * (outpaint: the extended canvas's), already composited by the pipeline; Generate on a canvas
 * no larger than the model comes back at the model's size and replaces it, scaled. */
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

void
tessera_engine_run_fill_request (const TesseraJobRequest *r, int native_size,
                                 const TsImage *image, const TsImage *mask,
                                 TsPipelineRequest *req)
{
  TsPipelineMode mode = r->params->mode;
  ts_pipeline_request_init (req, mode);
  req->prompt = r->params->prompt;
  req->negative_prompt = r->params->negative_prompt;
  req->steps = r->params->steps;
  req->guidance = r->params->guidance;
  req->seed = r->params->seed;
  req->n_variants = r->params->n_variants;
  /* The settings the window shows for the mode; the others keep the mode's defaults. */
  if (ts_mode_has (mode, TS_MODE_ASKS_STRENGTH))
    req->strength = r->params->strength;
  if (ts_mode_has (mode, TS_MODE_ITERATES))
    req->edit_iterations = r->params->edit_iterations;
  /* Generate on a picture larger than the model works on it (a frame of it, or all of it
   * scaled) rather than replacing it with an upscaled native-size picture. */
  gboolean larger = r->width > native_size || r->height > native_size;
  if (ts_mode_has (mode, TS_MODE_NEEDS_IMAGE)
      || (ts_mode_has (mode, TS_MODE_TAKES_IMAGE) && larger))
    req->image = image;
  if (req->image && ts_mode_has (mode, TS_MODE_FRAMES)) {
    req->use_frame = r->use_frame;
    req->frame_x = r->frame_x;
    req->frame_y = r->frame_y;
  }
  if (ts_mode_has (mode, TS_MODE_NEEDS_MASK)) {
    req->mask = mask;
    req->grow = r->grow;
    req->feather = r->feather;
  }
  if (ts_mode_has (mode, TS_MODE_NEEDS_EXTEND)) {
    req->extend_left = r->extend_left;
    req->extend_top = r->extend_top;
    req->extend_right = r->extend_right;
    req->extend_bottom = r->extend_bottom;
  }
}

TesseraJobResult *
tessera_engine_run_request (TsPipeline *pipeline, const TesseraJobRequest *r,
                            GCancellable *cancellable, TsProgressFunc progress,
                            gpointer progress_data, gboolean *device_lost, GError **error)
{
  g_autoptr (TsImage) image = NULL;
  g_autoptr (TsImage) mask = NULL;
  if (!tessera_engine_run_request_images (r, &image, &mask, error))
    return NULL;
  TsPipelineRequest req;
  tessera_engine_run_fill_request (r, ts_pipeline_native_size (pipeline), image, mask, &req);
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
