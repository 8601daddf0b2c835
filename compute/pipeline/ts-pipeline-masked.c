/* ts-pipeline-masked.c — inpaint, outpaint and background swap: the mask grown and feathered
 * into the composite's alpha, masked re-sampling in a context window (or a row of them along
 * a long region), composited back so that pixels where the alpha is 0 never change. */
#include "ts-mode-table.h"
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

/* ---- windows: one around the region, or a row/grid of them along a long region ---- */

/* A working-size window and how it blends with the windows run before it: on a side where
 * an earlier window lies, the first `ramp` pixels are left as that window made them
 * (context the model sees) and the next `ramp` pixels blend from it to this one. */
typedef struct {
  Rect     win;
  gboolean after_left, after_top;
} Tile;

/* Larger regions than this many windows are processed scaled instead. */
#define MAX_TILES 48

/* The weight of window pixel (x, y) against the earlier windows' pixels. */
static float
tile_weight (const Tile *t, int x, int y, int ramp)
{
  float w = 1.0f;
  if (t->after_left)
    w = MIN (w, ts_smoothstep ((x + 0.5f - ramp) / (float) ramp));
  if (t->after_top)
    w = MIN (w, ts_smoothstep ((y + 0.5f - ramp) / (float) ramp));
  return w;
}

/* Window starts covering [start, start + len) with windows of `side` that overlap by at
 * least 2·ramp; returns their number (starts filled only up to max). */
static int
axis_starts (int start, int len, int side, int ramp, int *starts, int max)
{
  int stride = side - 2 * ramp;
  int n = len <= side ? 1 : (len - side + stride - 1) / stride + 1;
  for (int i = 0; i < MIN (n, max); i++)
    starts[i] = n == 1 ? start : start + (int) ((gint64) i * (len - side) / (n - 1));
  return n;
}

/* Whether the window has a pixel the region repaints where its weight is above 0. */
static gboolean
tile_has_work (const Masked *m, const Tile *t, int ramp)
{
  for (int y = 0; y < t->win.h; y++)
    for (int x = 0; x < t->win.w; x++)
      if (m->alpha->pixels[(gsize) (t->win.y + y) * m->canvas->width + t->win.x + x] &&
          tile_weight (t, x, y, ramp) > 0)
        return TRUE;
  return FALSE;
}

/* The windows for the region `box`: one context window when the region fits the working
 * size; else, for any outpaint or a region that fits across and is more than twice as long
 * (a long stroke), working-size windows along it, run one after the other (those with
 * nothing to repaint left out); else — an object a little larger than the model is better
 * made whole, slightly scaled — or when that takes more than MAX_TILES windows, one window
 * scaled to the working size. */
static GArray *
plan_tiles (const Masked *m, const Rect *box, int pad, int side, int ramp, gboolean outpaint)
{
  GArray *tiles = g_array_new (FALSE, TRUE, sizeof (Tile));
  const TsImage *c = m->canvas;
  Tile single = { context_window (c, box, pad, side), FALSE, FALSE };
  gboolean fits = box->w <= side && box->h <= side;
  gboolean long_thin = (box->w <= side || box->h <= side) && MAX (box->w, box->h) > 2 * side;
  if (fits || MAX (c->width, c->height) <= side || !(long_thin || outpaint)) {
    g_array_append_val (tiles, single);
    return tiles;
  }
  /* Padded for context along the long axes, inside the canvas. */
  int x0 = box->w > side ? MAX (0, box->x - pad) : single.win.x;
  int x1 = box->w > side ? MIN (c->width, box->x + box->w + pad) : single.win.x + single.win.w;
  int y0 = box->h > side ? MAX (0, box->y - pad) : single.win.y;
  int y1 = box->h > side ? MIN (c->height, box->y + box->h + pad) : single.win.y + single.win.h;
  int win_w = MIN (side, x1 - x0), win_h = MIN (side, y1 - y0);
  int xs[MAX_TILES], ys[MAX_TILES];
  int nx = axis_starts (x0, x1 - x0, win_w, ramp, xs, MAX_TILES);
  int ny = axis_starts (y0, y1 - y0, win_h, ramp, ys, MAX_TILES);
  for (int j = 0; j < ny && j < MAX_TILES && tiles->len <= MAX_TILES; j++)
    for (int i = 0; i < nx && i < MAX_TILES && tiles->len <= MAX_TILES; i++) {
      Tile t = { { xs[i], ys[j], win_w, win_h }, i > 0, j > 0 };
      if (tile_has_work (m, &t, ramp))
        g_array_append_val (tiles, t);
    }
  if (tiles->len == 0 || tiles->len > MAX_TILES || nx > MAX_TILES || ny > MAX_TILES) {
    g_array_set_size (tiles, 0);
    g_array_append_val (tiles, single);
  }
  return tiles;
}

/* ---- running the windows ---- */

/* What the windows of one request share. */
typedef struct {
  const TsPipelineRequest *r;
  const Masked            *m;
  int                      rows, ramp, n_tiles, steps_run;
  guint64                 *seeds;
  Rect                     span;       /* the windows' bounding box */
  TsImage                **generated;  /* [rows] span-sized: the windows' pixels, blended */
  TsPipelineResult        *res;        /* images: the canvas with generated composited */
  TsPipelineTimings        t;
} MaskedRun;

/* The tokens of the window's work_w×work_h grid that hold a pixel with alpha and weight
 * above 0; the window pixels those tokens cover are marked in the result's grown_mask. */
static void
tile_token_mask (MaskedRun *run, const Tile *tile, int work_w, int work_h, int scale,
                 guint8 *tokens)
{
  const Rect *win = &tile->win;
  int W = run->m->canvas->width, tw = work_w / scale;
  for (int y = 0; y < win->h; y++)
    for (int x = 0; x < win->w; x++)
      if (run->m->alpha->pixels[(gsize) (win->y + y) * W + win->x + x] &&
          tile_weight (tile, x, y, run->ramp) > 0) {
        int ty = (int) ((gint64) y * work_h / win->h) / scale;
        int tx = (int) ((gint64) x * work_w / win->w) / scale;
        tokens[(gsize) ty * tw + tx] = 1;
      }
  for (int y = 0; y < win->h; y++)
    for (int x = 0; x < win->w; x++) {
      int ty = (int) ((gint64) y * work_h / win->h) / scale;
      int tx = (int) ((gint64) x * work_w / win->w) / scale;
      if (tokens[(gsize) ty * tw + tx])
        run->res->grown_mask->pixels[(gsize) (win->y + y) * W + win->x + x] = 255;
    }
}

/* The VQ tokens of each row's picture so far inside the window, at the working size. The
 * first window sees the same canvas in every row: encoded once. */
static gboolean
encode_window (TsPipeline *p, MaskedRun *run, const Rect *win, int work_w, int work_h,
               gboolean first, int32_t *ids, GError **error)
{
  int64_t L = (int64_t) (work_w / p->scale) * (work_h / p->scale);
  int n = first ? 1 : run->rows;
  gsize plane = (gsize) 3 * work_w * work_h;
  g_autofree float *planar = g_try_new (float, plane * n);
  if (!planar) {
    g_set_error (error, TS_ERROR, TS_ERROR_OUT_OF_MEMORY, "out of memory for the window");
    return FALSE;
  }
  for (int b = 0; b < n; b++) {
    const TsImage *from = first ? run->m->canvas : run->res->images[b];
    g_autoptr (TsImage) crop = ts_image_crop (from, win->x, win->y, win->w, win->h, error);
    g_autoptr (TsImage) work = crop ? ts_image_resize (crop, work_w, work_h, error) : NULL;
    g_autofree float *one = work ? ts_image_to_planar (work, error) : NULL;
    if (!one)
      return FALSE;
    memcpy (planar + b * plane, one, plane * sizeof (float));
  }
  if (!ts_vqmodel_encode_ids (p->vq, planar, n, work_h, work_w, ids, error))
    return FALSE;
  for (int b = n; b < run->rows; b++)
    memcpy (ids + b * L, ids, L * sizeof (int32_t));
  return TRUE;
}

/* Blends the window's fresh pixels of row b into the generated layer by the window's
 * weight, and composites the layer over the canvas by alpha:
 * out = canvas + alpha·(generated − canvas). */
static void
composite_window (MaskedRun *run, const Tile *tile, int b, const TsImage *fresh)
{
  const TsImage *canvas = run->m->canvas, *alpha = run->m->alpha;
  TsImage *gen = run->generated[b], *out = run->res->images[b];
  for (int y = 0; y < tile->win.h; y++)
    for (int x = 0; x < tile->win.w; x++) {
      gsize o = (gsize) (tile->win.y + y) * canvas->width + tile->win.x + x;
      float w = tile_weight (tile, x, y, run->ramp);
      if (!alpha->pixels[o] || w <= 0)
        continue;
      float a = alpha->pixels[o] / 255.0f;
      const guint8 *f = fresh->pixels + ((gsize) y * tile->win.w + x) * 3;
      guint8 *g = gen->pixels + ((gsize) (tile->win.y + y - run->span.y) * gen->width +
                                 tile->win.x + x - run->span.x) * 3;
      const guint8 *in = canvas->pixels + o * 3;
      guint8 *d = out->pixels + o * 3;
      for (int c = 0; c < 3; c++) {
        g[c] = (guint8) (g[c] + w * ((float) f[c] - g[c]) + 0.5f);
        d[c] = (guint8) (in[c] + a * ((float) g[c] - in[c]) + 0.5f);
      }
    }
}

/* One window: encode, mask the tokens, sample, decode, composite. */
static gboolean
run_tile (TsRunContext *ctx, MaskedRun *run, const Tile *tile, int index, GError **error)
{
  TsPipeline *p = ctx->pipeline;
  const TsPipelineRequest *r = run->r;
  int max_side = ts_pipeline_max_side (p, r), work_w, work_h;
  ts_pipeline_fit (p, max_side, tile->win.w, tile->win.h, &work_w, &work_h);
  ts_run_context_notice_scaled (ctx, max_side, work_w, work_h, tile->win.w, tile->win.h);
  int tw = work_w / p->scale, th = work_h / p->scale, rows = run->rows;
  int64_t L = (int64_t) tw * th;
  g_autofree guint8 *tmask = g_new0 (guint8, L);
  tile_token_mask (run, tile, work_w, work_h, p->scale, tmask);

  double t0 = ts_pipeline_now ();
  g_autofree int32_t *tokens = g_new (int32_t, (gsize) rows * L);
  if (!encode_window (p, run, &tile->win, work_w, work_h, index == 0, tokens, error))
    return FALSE;
  run->t.image_encode += ts_pipeline_now () - t0;
  int64_t n_masked = 0;
  for (int64_t i = 0; i < L; i++)
    n_masked += tmask[i];
  for (int b = 0; b < rows; b++)
    for (int64_t i = 0; i < L; i++)
      if (tmask[i])
        tokens[b * L + i] = p->mask_id;

  g_autofree const char **prompts = g_new (const char *, rows);
  g_autofree const char **negatives = g_new (const char *, rows);
  for (int b = 0; b < rows; b++) {
    prompts[b] = r->prompt ? r->prompt : "";
    negatives[b] = r->negative_prompt ? r->negative_prompt : "";
  }
  t0 = ts_pipeline_now ();
  TsCondRequest cr = { rows, prompts, negatives, r->guidance, work_w, work_h,
                       { r->crop_coord[0], r->crop_coord[1] }, r->aesthetic_score };
  g_autoptr (TsUvitCond) cond = ts_pipeline_encode (ctx, &cr, error);
  run->t.text_encode += ts_pipeline_now () - t0;
  run->t.text_context += ctx->context_seconds;
  if (!cond)
    return FALSE;

  /* Upstream's inpainting switches the scheduler to the linear schedule. Later windows
   * number their steps on, so their random draws differ from the first's. */
  g_autoptr (TsSchedule) s = ts_schedule_new (r->steps, (float) r->temperature[0],
                                              (float) r->temperature[1], TS_MASKING_LINEAR,
                                              p->mask_id, p->codebook_size);
  TsSampleLoop l = {
    .schedule = s, .first = ts_pipeline_first_step (r->steps, r->strength), .rows = rows,
    .h = th, .w = tw, .cfg = r->guidance > 1.0, .guidance = (float) r->guidance,
    .guided_steps = r->guided_steps,
    .starting_mask_ratio = (float) n_masked / (float) L, .seeds = run->seeds,
    .step_base = index * run->steps_run, .progress_total = run->n_tiles * run->steps_run,
    .draws = r->draws, .draws_data = r->draws_data, .progress = r->progress,
    .progress_data = r->progress_data, .cancellable = r->cancellable,
  };
  t0 = ts_pipeline_now ();
  if (!ts_pipeline_sample (ctx, cond, &l, tokens, error))
    return FALSE;
  run->t.sampling += ts_pipeline_now () - t0;
  run->t.steps_run += run->steps_run;

  t0 = ts_pipeline_now ();
  TsImage **fresh = ts_pipeline_decode (p, tokens, rows, th, tw, error);
  run->t.decode += ts_pipeline_now () - t0;
  if (!fresh)
    return FALSE;
  t0 = ts_pipeline_now ();
  gboolean ok = TRUE;
  for (int b = 0; b < rows; b++) {
    g_autoptr (TsImage) back = ok ? ts_image_resize (fresh[b], tile->win.w, tile->win.h,
                                                     error) : NULL;
    ok = back != NULL;
    if (ok)
      composite_window (run, tile, b, back);
    g_free (run->res->tokens[b]);
    run->res->tokens[b] = g_memdup2 (tokens + b * L, L * sizeof (int32_t));
    ts_image_free (fresh[b]);
  }
  g_free (fresh);
  run->res->token_width = tw;
  run->res->token_height = th;
  run->t.composite += ts_pipeline_now () - t0;
  return ok;
}

static Rect
tiles_span (GArray *tiles)
{
  Rect *first = &g_array_index (tiles, Tile, 0).win;
  int x0 = first->x, y0 = first->y, x1 = x0 + first->w, y1 = y0 + first->h;
  for (guint i = 1; i < tiles->len; i++) {
    Rect *w = &g_array_index (tiles, Tile, i).win;
    x0 = MIN (x0, w->x);
    y0 = MIN (y0, w->y);
    x1 = MAX (x1, w->x + w->w);
    y1 = MAX (y1, w->y + w->h);
  }
  return (Rect) { x0, y0, x1 - x0, y1 - y0 };
}

static void
masked_run_clear (MaskedRun *run)
{
  for (int b = 0; run->generated && b < run->rows; b++)
    ts_image_free (run->generated[b]);
  g_free (run->generated);
  g_free (run->seeds);
  g_clear_pointer (&run->res, ts_pipeline_result_free);
}

/* The common path: the windows, each encoded, masked, sampled, decoded and composited. */
static TsPipelineResult *
run_masked_canvas (TsRunContext *ctx, const TsPipelineRequest *r, const Masked *m,
                   GError **error)
{
  TsPipeline *p = ctx->pipeline;
  Rect box;
  if (!nonzero_bbox (m->alpha, &box)) {
    g_set_error (error, TS_ERROR, TS_ERROR_INVALID_ARGUMENT, "the mask is empty: nothing to "
                 "repaint");
    return NULL;
  }
  int max_side = ts_pipeline_max_side (p, r);
  MaskedRun run = { .r = r, .m = m, .rows = r->n_variants,
                    .ramp = MIN (2 * p->scale, max_side / 4),
                    .steps_run = r->steps - ts_pipeline_first_step (r->steps, r->strength) };
  g_autoptr (GArray) tiles = plan_tiles (m, &box, r->context_padding, max_side, run.ramp,
                                         ts_mode_has (r->mode, TS_MODE_NEEDS_EXTEND));
  run.n_tiles = (int) tiles->len;
  run.span = tiles_span (tiles);
  run.seeds = g_new (guint64, run.rows);
  run.generated = g_new0 (TsImage *, run.rows);
  run.res = ts_pipeline_result_new (run.rows, 0, 0);
  gboolean ok = (run.res->grown_mask = ts_image_new (m->canvas->width, m->canvas->height, 1,
                                                     error)) &&
                (run.res->blend_mask = ts_image_copy (m->alpha, error));
  for (int b = 0; ok && b < run.rows; b++) {
    run.seeds[b] = run.res->seeds[b] = r->seed + (guint64) b;
    ok = (run.res->images[b] = ts_image_copy (m->canvas, error)) &&
         (run.generated[b] = ts_image_crop (m->canvas, run.span.x, run.span.y, run.span.w,
                                            run.span.h, error));
  }
  for (guint i = 0; ok && i < tiles->len; i++)
    ok = run_tile (ctx, &run, &g_array_index (tiles, Tile, i), (int) i, error);
  TsPipelineResult *res = NULL;
  if (ok) {
    run.res->timings = run.t;
    res = g_steal_pointer (&run.res);
  }
  masked_run_clear (&run);
  return res;
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
ts_pipeline_run_masked (TsRunContext *ctx, const TsPipelineRequest *r, GError **error)
{
  TsPipeline *p = ctx->pipeline;
  Masked m = { 0 };
  gboolean ok;
  if (ts_mode_has (r->mode, TS_MODE_NEEDS_EXTEND)) {
    ok = outpaint_canvas (p, r, &m, error);
  } else {
    /* Background: the subject (non-zero) is kept, everything else repainted. */
    gboolean subject = ts_mode_has (r->mode, TS_MODE_MASK_KEEPS);
    g_autoptr (TsImage) repaint = ts_image_copy (r->mask, error);
    for (gsize i = 0; repaint && i < ts_image_bytes (repaint); i++)
      repaint->pixels[i] = subject ? !repaint->pixels[i] : repaint->pixels[i] != 0;
    m.canvas = repaint ? ts_image_copy (r->image, error) : NULL;
    ok = m.canvas && mask_alpha (repaint, r->grow, r->feather, &m, error);
  }
  TsPipelineResult *res = ok ? run_masked_canvas (ctx, r, &m, error) : NULL;
  masked_clear (&m);
  return res;
}
