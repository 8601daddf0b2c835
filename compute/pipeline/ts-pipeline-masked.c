/* ts-pipeline-masked.c — inpaint, outpaint and background swap: one masked re-sampling in a
 * context window, composited back so that pixels outside the grown mask never change. */
#include "ts-pipeline-private.h"

#include <math.h>
#include <string.h>

typedef struct {
  int x, y, w, h;
} Rect;

/* The canvas and the composite's alpha that each mode hands to the common path. */
typedef struct {
  TsImage *canvas;  /* RGB */
  TsImage *alpha;   /* 1 channel, the canvas's size: 0 = keep, 255 = the generated pixel; the
                       tokens holding any non-zero pixel are repainted */
} Masked;

static void
masked_clear (Masked *m)
{
  ts_image_free (m->canvas);
  ts_image_free (m->alpha);
}

/* The bounding box of the non-zero pixels of a 1-channel image. */
static gboolean
nonzero_bbox (const TsImage *mask, Rect *box)
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

/* ---- grow and feather (see "masks and blending" in ts-pipeline.h) ---- */

#define FAR 1e20

/* One line of the exact squared Euclidean distance transform (Felzenszwalb & Huttenlocher's
 * lower envelope of parabolas): d[q] = min over p of (q − p)² + f[p]. v and z are scratch of
 * n and n + 1. */
static double
parabola_meet (const double *f, int q, int r)
{
  return ((f[q] + (double) q * q) - (f[r] + (double) r * r)) / (2.0 * (q - r));
}

static void
edt_line (const double *f, int n, double *d, int *v, double *z)
{
  int k = 0;
  v[0] = 0;
  z[0] = -FAR; /* below any meeting point: FAR is at most halved there */
  z[1] = FAR;
  for (int q = 1; q < n; q++) {
    double s = parabola_meet (f, q, v[k]);
    while (s <= z[k]) {
      k--;
      s = parabola_meet (f, q, v[k]);
    }
    k++;
    v[k] = q;
    z[k] = s;
    z[k + 1] = FAR;
  }
  k = 0;
  for (int q = 0; q < n; q++) {
    while (z[k + 1] < q)
      k++;
    d[q] = (double) (q - v[k]) * (q - v[k]) + f[v[k]];
  }
}

/* Squared distance from each pixel of a w×h grid to the nearest pixel where feature[] is
 * set (FAR-ish where there is none): columns, then rows. */
static double *
squared_distance (const guint8 *feature, int w, int h)
{
  double *d = g_new (double, (gsize) w * h);
  int n = MAX (w, h);
  g_autofree double *f = g_new (double, n), *out = g_new (double, n), *z = g_new (double, n + 1);
  g_autofree int *v = g_new (int, n);
  for (int x = 0; x < w; x++) {
    for (int y = 0; y < h; y++)
      f[y] = feature[(gsize) y * w + x] ? 0.0 : FAR;
    edt_line (f, h, out, v, z);
    for (int y = 0; y < h; y++)
      d[(gsize) y * w + x] = out[y];
  }
  for (int y = 0; y < h; y++) {
    memcpy (f, d + (gsize) y * w, w * sizeof (double));
    edt_line (f, w, d + (gsize) y * w, v, z);
  }
  return d;
}

/* The alpha of one pixel from its distance t to the mask (pixel centres; inside the mask
 * 1 − the distance to the nearest unmasked pixel, so the mask's rim is 0 and its
 * neighbours outside 1): 1 within grow, ramping over feather pixels centred on the grown
 * edge at grow + ½. */
static guint8
grown_alpha (double t, double t_squared, int grow, int feather)
{
  if (feather == 0) /* exact: squared distances are whole numbers */
    return (t <= 0 || t_squared <= (double) grow * grow) ? 255 : 0;
  float a = ts_smoothstep ((float) ((grow + 0.5 + feather / 2.0 - t) / feather));
  return (guint8) lroundf (255.0f * a);
}

/* The mask (non-zero = repaint) grown and feathered into the composite's alpha. Only a box
 * around the mask is looked at: farther pixels are 0 anyway. */
static gboolean
mask_alpha (const TsImage *mask, int grow, int feather, Masked *m, GError **error)
{
  m->alpha = ts_image_new (mask->width, mask->height, 1, error);
  Rect box;
  if (!m->alpha || !nonzero_bbox (mask, &box))
    return m->alpha != NULL;
  int reach = grow + feather / 2 + 2;
  int x0 = MAX (0, box.x - reach), y0 = MAX (0, box.y - reach);
  int x1 = MIN (mask->width, box.x + box.w + reach);
  int y1 = MIN (mask->height, box.y + box.h + reach);
  int w = x1 - x0, h = y1 - y0;
  g_autofree guint8 *on = g_new (guint8, (gsize) w * h), *off = g_new (guint8, (gsize) w * h);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      gboolean set = mask->pixels[(gsize) (y0 + y) * mask->width + x0 + x] != 0;
      on[(gsize) y * w + x] = set;
      off[(gsize) y * w + x] = !set;
    }
  g_autofree double *to_mask = squared_distance (on, w, h);
  g_autofree double *to_outside = squared_distance (off, w, h);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      gsize i = (gsize) y * w + x;
      double t2 = to_mask[i];
      double t = on[i] ? 1.0 - sqrt (to_outside[i]) : sqrt (t2);
      m->alpha->pixels[(gsize) (y0 + y) * mask->width + x0 + x] =
        grown_alpha (t, t2, grow, feather);
    }
  return TRUE;
}

/* One axis of the context window: the region's extent plus padding (reduced so the window
 * keeps to the working size when the region fits it: no scaling), at least the working size
 * where the image allows, inside the image. */
static void
window_axis (int start, int len, int pad, int side, int size, int *w_start, int *w_len)
{
  if (len <= side)
    pad = MIN (pad, (side - len) / 2);
  int lo = start - pad, hi = start + len + pad;
  if (hi - lo < side) {
    int grow = side - (hi - lo);
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

/* The tokens of the window's w×h working grid that hold a pixel of non-zero alpha, and
 * which window pixels those tokens cover (`covered`, win.w × win.h). */
static void
token_mask (const Masked *m, const Rect *win, int work_w, int work_h, int scale,
            guint8 *tokens, guint8 *covered)
{
  int tw = work_w / scale;
  for (int y = 0; y < win->h; y++)
    for (int x = 0; x < win->w; x++)
      if (m->alpha->pixels[(gsize) (win->y + y) * m->canvas->width + win->x + x]) {
        int ty = (int) ((gint64) y * work_h / win->h) / scale;
        int tx = (int) ((gint64) x * work_w / win->w) / scale;
        tokens[(gsize) ty * tw + tx] = 1;
      }
  for (int y = 0; y < win->h; y++)
    for (int x = 0; x < win->w; x++) {
      int ty = (int) ((gint64) y * work_h / win->h) / scale;
      int tx = (int) ((gint64) x * work_w / win->w) / scale;
      covered[(gsize) y * win->w + x] = tokens[(gsize) ty * tw + tx];
    }
}

/* The common path: window, encode, mask tokens, sample, decode, composite. */
static TsPipelineResult *
run_masked_canvas (TsPipeline *p, const TsPipelineRequest *r, const Masked *m, GError **error)
{
  Rect box;
  if (!nonzero_bbox (m->alpha, &box)) {
    g_set_error (error, TS_ERROR, TS_ERROR_INVALID_ARGUMENT, "the mask is empty: nothing to "
                 "repaint");
    return NULL;
  }
  int max_side = ts_pipeline_max_side (p, r);
  Rect win = context_window (m->canvas, &box, r->context_padding, max_side);
  int work_w, work_h;
  ts_pipeline_fit (p, max_side, win.w, win.h, &work_w, &work_h);
  ts_pipeline_notice_scaled (p, max_side, work_w, work_h, win.w, win.h);
  int tw = work_w / p->scale, th = work_h / p->scale;
  int64_t L = (int64_t) tw * th;

  g_autofree guint8 *tmask = g_new0 (guint8, L);
  g_autofree guint8 *grown = g_new (guint8, (gsize) win.w * win.h);
  token_mask (m, &win, work_w, work_h, p->scale, tmask, grown);

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
    n_masked += tmask[i];
  for (int b = 0; b < rows; b++) {
    seeds[b] = r->seed + (guint64) b;
    prompts[b] = r->prompt ? r->prompt : "";
    negatives[b] = r->negative_prompt ? r->negative_prompt : "";
    for (int64_t i = 0; i < L; i++)
      tokens[b * L + i] = tmask[i] ? p->mask_id : image_ids[i];
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
      ts_image_blend (res->images[b], back, win.x, win.y, m->alpha);
    res->seeds[b] = seeds[b];
    res->tokens[b] = g_memdup2 (tokens + b * L, L * sizeof (int32_t));
    ts_image_free (fresh[b]);
  }
  g_free (fresh);
  if (!ok)
    return NULL;
  res->grown_mask = ts_image_new (m->canvas->width, m->canvas->height, 1, error);
  res->blend_mask = res->grown_mask ? ts_image_copy (m->alpha, error) : NULL;
  if (!res->blend_mask)
    return NULL;
  for (int y = 0; y < win.h; y++)
    for (int x = 0; x < win.w; x++)
      res->grown_mask->pixels[(gsize) (win.y + y) * m->canvas->width + win.x + x] =
        grown[(gsize) y * win.w + x] ? 255 : 0;
  t.composite = ts_pipeline_now () - t0;
  res->timings = t;
  return g_steal_pointer (&res);
}

/* The overlap's alpha at `e` pixels (centre) from the old edge: 1 there, 0 `overlap` in. */
static float
overlap_alpha (float e, int overlap)
{
  return overlap > 0 ? ts_smoothstep (1.0f - e / (float) overlap) : 0.0f;
}

/* Outpaint: the image on a larger canvas, the border filled by repeating the edge pixels
 * (something plausible for the VQ encoder); alpha 1 on the border, ramping down across the
 * `overlap` pixels of the image along each extended side. */
static gboolean
outpaint_canvas (TsPipeline *p, const TsPipelineRequest *r, Masked *m, GError **error)
{
  const TsImage *im = r->image;
  int W = im->width + r->extend_left + r->extend_right;
  int H = im->height + r->extend_top + r->extend_bottom;
  int overlap = r->overlap >= 0 ? r->overlap : 2 * p->scale;
  m->canvas = ts_image_new (W, H, 3, error);
  m->alpha = m->canvas ? ts_image_new (W, H, 1, error) : NULL;
  if (!m->alpha)
    return FALSE;
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++) {
      int ix = x - r->extend_left, iy = y - r->extend_top;
      int sx = CLAMP (ix, 0, im->width - 1), sy = CLAMP (iy, 0, im->height - 1);
      memcpy (m->canvas->pixels + ((gsize) y * W + x) * 3,
              im->pixels + ((gsize) sy * im->width + sx) * 3, 3);
      float a = 1.0f;
      if (sx == ix && sy == iy) {
        /* Distance from the nearest extended side's old edge, pixel centres. */
        float e = G_MAXFLOAT;
        if (r->extend_left)
          e = MIN (e, ix + 0.5f);
        if (r->extend_right)
          e = MIN (e, im->width - ix - 0.5f);
        if (r->extend_top)
          e = MIN (e, iy + 0.5f);
        if (r->extend_bottom)
          e = MIN (e, im->height - iy - 0.5f);
        a = overlap_alpha (e, overlap);
      }
      m->alpha->pixels[(gsize) y * W + x] = (guint8) lroundf (255.0f * a);
    }
  return TRUE;
}

TsPipelineResult *
ts_pipeline_run_masked (TsPipeline *p, const TsPipelineRequest *r, GError **error)
{
  Masked m = { 0 };
  gboolean ok;
  if (r->mode == TS_MODE_OUTPAINT) {
    ok = outpaint_canvas (p, r, &m, error);
  } else {
    /* Background: the subject (non-zero) is kept, everything else repainted. */
    gboolean subject = r->mode == TS_MODE_BACKGROUND;
    g_autoptr (TsImage) repaint = ts_image_copy (r->mask, error);
    for (gsize i = 0; repaint && i < ts_image_bytes (repaint); i++)
      repaint->pixels[i] = subject ? !repaint->pixels[i] : repaint->pixels[i] != 0;
    m.canvas = repaint ? ts_image_copy (r->image, error) : NULL;
    ok = m.canvas && mask_alpha (repaint, r->grow, r->feather, &m, error);
  }
  TsPipelineResult *res = ok ? run_masked_canvas (p, r, &m, error) : NULL;
  masked_clear (&m);
  return res;
}
