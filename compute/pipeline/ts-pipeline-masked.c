/* ts-pipeline-masked.c — inpaint, outpaint and background swap: one masked re-sampling in a
 * context window, composited back so that pixels outside the grown mask never change. */
#include "ts-pipeline-private.h"

#include <string.h>

typedef struct {
  int x, y, w, h;
} Rect;

/* The canvas and the region to repaint that each mode hands to the common path. */
typedef struct {
  TsImage *canvas;  /* RGB */
  TsImage *mask;    /* 1 channel, 255 = repaint */
  gboolean hard;    /* composite with the exact mask (outpaint keeps every original pixel) */
} Masked;

static void
masked_clear (Masked *m)
{
  ts_image_free (m->canvas);
  ts_image_free (m->mask);
}

static gboolean
mask_bbox (const TsImage *mask, Rect *box)
{
  int x0 = mask->width, y0 = mask->height, x1 = -1, y1 = -1;
  for (int y = 0; y < mask->height; y++)
    for (int x = 0; x < mask->width; x++)
      if (mask->pixels[(gsize) y * mask->width + x]) {
        x0 = MIN (x0, x);
        x1 = MAX (x1, x);
        y0 = MIN (y0, y);
        y1 = MAX (y1, y);
      }
  *box = (Rect) { x0, y0, x1 - x0 + 1, y1 - y0 + 1 };
  return x1 >= 0;
}

/* One axis of the context window: the mask's extent plus padding, at least the native size
 * where the image allows, inside the image. */
static void
window_axis (int start, int len, int pad, int native, int size, int *w_start, int *w_len)
{
  int lo = start - pad, hi = start + len + pad;
  if (hi - lo < native) {
    int grow = native - (hi - lo);
    lo -= grow / 2;
    hi += grow - grow / 2;
  }
  if (lo < 0) {
    hi -= lo;
    lo = 0;
  }
  if (hi > size) {
    lo -= hi - size;
    hi = size;
  }
  *w_start = MAX (lo, 0);
  *w_len = hi - *w_start;
}

static Rect
context_window (const TsImage *canvas, const Rect *box, int pad, int max_side)
{
  if (MAX (canvas->width, canvas->height) <= max_side)
    return (Rect) { 0, 0, canvas->width, canvas->height };
  Rect win;
  window_axis (box->x, box->w, pad, max_side, canvas->width, &win.x, &win.w);
  window_axis (box->y, box->h, pad, max_side, canvas->height, &win.y, &win.h);
  return win;
}

/* Chessboard distance (in pixels) from each window pixel inside the grown mask to the nearest
 * pixel outside it; beyond the window's sides counts as outside unless that side is the
 * canvas edge. Two chamfer passes over a grid with a one-pixel ring. */
static guint16 *
inside_distance (const guint8 *grown, int w, int h, gboolean open[4])
{
  int W = w + 2, H = h + 2;
  guint16 *d = g_new (guint16, (gsize) W * H);
  const guint16 far = 60000;
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++) {
      guint16 v;
      if (x == 0 || y == 0 || x == W - 1 || y == H - 1) {
        gboolean side_open = (x == 0 && open[0]) || (y == 0 && open[1]) ||
                             (x == W - 1 && open[2]) || (y == H - 1 && open[3]);
        v = side_open ? 0 : far;
      } else {
        v = grown[(gsize) (y - 1) * w + x - 1] ? far : 0;
      }
      d[(gsize) y * W + x] = v;
    }
  for (int y = 1; y < H - 1; y++)
    for (int x = 1; x < W - 1; x++) {
      guint16 *c = &d[(gsize) y * W + x];
      guint16 m = MIN (MIN (c[-1], c[-W - 1]), MIN (c[-W], c[-W + 1]));
      *c = MIN (*c, m + 1);
    }
  for (int y = H - 2; y >= 1; y--)
    for (int x = W - 2; x >= 1; x--) {
      guint16 *c = &d[(gsize) y * W + x];
      guint16 m = MIN (MIN (c[1], c[W + 1]), MIN (c[W], c[W - 1]));
      *c = MIN (*c, m + 1);
    }
  return d;
}

/* Blends `fresh` (window-sized) into out inside the grown mask; alpha is 1 on the user's mask
 * and ramps up from the grown mask's edge over `feather` pixels elsewhere. */
static void
composite (TsImage *out, const TsImage *fresh, const Rect *win, const guint8 *grown,
           const TsImage *mask, int feather, gboolean hard)
{
  gboolean open[4] = { win->x > 0, win->y > 0, win->x + win->w < out->width,
                       win->y + win->h < out->height };
  g_autofree guint16 *dist = inside_distance (grown, win->w, win->h, open);
  for (int y = 0; y < win->h; y++)
    for (int x = 0; x < win->w; x++) {
      if (!grown[(gsize) y * win->w + x])
        continue;
      gsize o = (gsize) (win->y + y) * out->width + win->x + x;
      float a = 1.0f;
      if (!mask->pixels[o]) {
        guint16 d = dist[(gsize) (y + 1) * (win->w + 2) + x + 1];
        a = hard ? 0.0f : MIN (1.0f, (float) d / (float) (feather + 1));
      }
      const guint8 *src = fresh->pixels + ((gsize) y * win->w + x) * 3;
      guint8 *dst = out->pixels + o * 3;
      for (int c = 0; c < 3; c++)
        dst[c] = (guint8) (dst[c] + a * ((float) src[c] - dst[c]) + 0.5f);
    }
}

/* The common path: window, encode, mask tokens, sample, decode, composite. */
static TsPipelineResult *
run_masked_canvas (TsPipeline *p, const TsPipelineRequest *r, const Masked *m, GError **error)
{
  Rect box;
  if (!mask_bbox (m->mask, &box)) {
    g_set_error (error, TS_ERROR, TS_ERROR_INVALID_ARGUMENT, "the mask is empty: nothing to "
                 "repaint");
    return NULL;
  }
  int max_side = ts_pipeline_max_side (p, r);
  Rect win = context_window (m->canvas, &box, r->context_padding, max_side);
  int work_w, work_h;
  ts_pipeline_fit (p, max_side, win.w, win.h, &work_w, &work_h);
  int tw = work_w / p->scale, th = work_h / p->scale;
  int64_t L = (int64_t) tw * th;

  /* Grow: a token is repainted when any mask pixel falls in it. */
  g_autofree guint8 *token_mask = g_new0 (guint8, L);
  for (int y = 0; y < win.h; y++)
    for (int x = 0; x < win.w; x++)
      if (m->mask->pixels[(gsize) (win.y + y) * m->canvas->width + win.x + x]) {
        int ty = (int) ((gint64) y * work_h / win.h) / p->scale;
        int tx = (int) ((gint64) x * work_w / win.w) / p->scale;
        token_mask[(gsize) ty * tw + tx] = 1;
      }
  g_autofree guint8 *grown = g_new (guint8, (gsize) win.w * win.h);
  for (int y = 0; y < win.h; y++)
    for (int x = 0; x < win.w; x++) {
      int ty = (int) ((gint64) y * work_h / win.h) / p->scale;
      int tx = (int) ((gint64) x * work_w / win.w) / p->scale;
      grown[(gsize) y * win.w + x] = token_mask[(gsize) ty * tw + tx];
    }

  TsPipelineTimings t = { 0 };
  double t0 = ts_pipeline_now ();
  g_autoptr (TsImage) crop = ts_image_crop (m->canvas, win.x, win.y, win.w, win.h, error);
  g_autoptr (TsImage) work = crop ? ts_image_resize (crop, work_w, work_h, error) : NULL;
  g_autofree float *planar = work ? ts_image_to_planar (work, error) : NULL;
  g_autofree int32_t *image_ids = g_new (int32_t, L);
  if (!planar || !ts_vqmodel_encode_ids (p->vq, planar, 1, work_h, work_w, image_ids, error))
    return NULL;
  t.image_encode = ts_pipeline_now () - t0;

  int rows = r->n_variants;
  g_autofree guint64 *seeds = g_new (guint64, rows);
  g_autofree const char **prompts = g_new (const char *, rows);
  g_autofree const char **negatives = g_new (const char *, rows);
  g_autofree int32_t *tokens = g_new (int32_t, (gsize) rows * L);
  int64_t n_masked = 0;
  for (int64_t i = 0; i < L; i++)
    n_masked += token_mask[i];
  for (int b = 0; b < rows; b++) {
    seeds[b] = r->seed + (guint64) b;
    prompts[b] = r->prompt ? r->prompt : "";
    negatives[b] = r->negative_prompt ? r->negative_prompt : "";
    for (int64_t i = 0; i < L; i++)
      tokens[b * L + i] = token_mask[i] ? p->mask_id : image_ids[i];
  }
  t0 = ts_pipeline_now ();
  TsCondRequest cr = { rows, prompts, negatives, r->guidance, work_w, work_h,
                       { r->crop_coord[0], r->crop_coord[1] }, r->aesthetic_score };
  g_autoptr (TsUvitCond) cond = ts_pipeline_encode (p, &cr, error);
  t.text_encode = ts_pipeline_now () - t0;
  if (!cond)
    return NULL;

  /* Upstream's inpainting switches the scheduler to the linear schedule. */
  g_autoptr (TsSchedule) s = ts_schedule_new (r->steps, (float) r->temperature[0],
                                              (float) r->temperature[1], TS_MASKING_LINEAR,
                                              p->mask_id, p->codebook_size);
  TsSampleLoop l = {
    .schedule = s, .first = ts_pipeline_first_step (r->steps, r->strength), .rows = rows,
    .h = th, .w = tw, .cfg = r->guidance > 1.0, .guidance = (float) r->guidance,
    .guided_steps = r->guided_steps,
    .starting_mask_ratio = (float) n_masked / (float) L, .seeds = seeds, .draws = r->draws,
    .draws_data = r->draws_data, .progress = r->progress, .progress_data = r->progress_data,
    .cancellable = r->cancellable,
  };
  t0 = ts_pipeline_now ();
  if (!ts_pipeline_sample (p, cond, &l, tokens, error))
    return NULL;
  t.sampling = ts_pipeline_now () - t0;
  t.steps_run = r->steps - l.first;

  t0 = ts_pipeline_now ();
  TsImage **fresh = ts_pipeline_decode (p, tokens, rows, th, tw, error);
  t.decode = ts_pipeline_now () - t0;
  if (!fresh)
    return NULL;

  t0 = ts_pipeline_now ();
  g_autoptr (TsPipelineResult) res = ts_pipeline_result_new (rows, tw, th);
  gboolean ok = TRUE;
  for (int b = 0; b < rows; b++) {
    g_autoptr (TsImage) back = ok ? ts_image_resize (fresh[b], win.w, win.h, error) : NULL;
    res->images[b] = back ? ts_image_copy (m->canvas, error) : NULL;
    ok = res->images[b] != NULL;
    if (ok)
      composite (res->images[b], back, &win, grown, m->mask, r->feather, m->hard);
    res->seeds[b] = seeds[b];
    res->tokens[b] = g_memdup2 (tokens + b * L, L * sizeof (int32_t));
    ts_image_free (fresh[b]);
  }
  g_free (fresh);
  if (!ok)
    return NULL;
  res->grown_mask = ts_image_new (m->canvas->width, m->canvas->height, 1, error);
  if (!res->grown_mask)
    return NULL;
  for (int y = 0; y < win.h; y++)
    for (int x = 0; x < win.w; x++)
      res->grown_mask->pixels[(gsize) (win.y + y) * m->canvas->width + win.x + x] =
        grown[(gsize) y * win.w + x] ? 255 : 0;
  t.composite = ts_pipeline_now () - t0;
  res->timings = t;
  return g_steal_pointer (&res);
}

/* Outpaint: the image on a larger canvas, the border filled by repeating the edge pixels
 * (something plausible for the VQ encoder), the border as the mask. */
static gboolean
outpaint_canvas (const TsPipelineRequest *r, Masked *m, GError **error)
{
  const TsImage *im = r->image;
  int W = im->width + r->extend_left + r->extend_right;
  int H = im->height + r->extend_top + r->extend_bottom;
  m->canvas = ts_image_new (W, H, 3, error);
  m->mask = m->canvas ? ts_image_new (W, H, 1, error) : NULL;
  if (!m->mask)
    return FALSE;
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++) {
      int sx = CLAMP (x - r->extend_left, 0, im->width - 1);
      int sy = CLAMP (y - r->extend_top, 0, im->height - 1);
      gboolean inside = sx == x - r->extend_left && sy == y - r->extend_top;
      memcpy (m->canvas->pixels + ((gsize) y * W + x) * 3,
              im->pixels + ((gsize) sy * im->width + sx) * 3, 3);
      m->mask->pixels[(gsize) y * W + x] = inside ? 0 : 255;
    }
  m->hard = TRUE;
  return TRUE;
}

TsPipelineResult *
ts_pipeline_run_masked (TsPipeline *p, const TsPipelineRequest *r, GError **error)
{
  Masked m = { 0 };
  gboolean ok;
  if (r->mode == TS_MODE_OUTPAINT) {
    ok = outpaint_canvas (r, &m, error);
  } else {
    m.canvas = ts_image_copy (r->image, error);
    m.mask = m.canvas ? ts_image_copy (r->mask, error) : NULL;
    ok = m.mask != NULL;
    for (gsize i = 0; ok && i < ts_image_bytes (m.mask); i++) {
      gboolean on = m.mask->pixels[i] != 0;
      m.mask->pixels[i] = (r->mode == TS_MODE_BACKGROUND ? !on : on) ? 255 : 0;
    }
  }
  TsPipelineResult *res = ok ? run_masked_canvas (p, r, &m, error) : NULL;
  masked_clear (&m);
  return res;
}
