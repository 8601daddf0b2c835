/* test-pipeline-blend.c — grow and feather, outpaint's blended overlap, frames and scaled
 * pictures, progress times: the pipeline's side of "masks that blend" on the tiny model. */
#include "pipeline-fixture.h"

#include <math.h>
#include <string.h>

/* A smooth picture (two gradients and a slow wave): its own local gradient is small, so a
 * seam would stand out. */
static TsImage *
smooth_image (int w, int h)
{
  TsImage *im = ts_image_new (w, h, 3, NULL);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      guint8 *px = im->pixels + ((gsize) y * w + x) * 3;
      px[0] = (guint8) (40 + x * 150 / w);
      px[1] = (guint8) (60 + y * 120 / h);
      px[2] = (guint8) (128 + 60 * sin (x / 17.0) * cos (y / 23.0));
    }
  return im;
}

static void
inpaint_request (TsPipelineRequest *req, const TsImage *image, const TsImage *mask)
{
  ts_pipeline_request_init (req, TS_MODE_INPAINT);
  req->prompt = "a red ball";
  req->steps = 2;
  req->seed = 3;
  req->image = image;
  req->mask = mask;
}

static const guint8 *
px (const TsImage *im, int x, int y)
{
  return im->pixels + ((gsize) y * im->width + x) * im->channels;
}

/* Where the blend mask is 0 the picture is byte-identical; outside grown_mask the blend mask
 * is 0. */
static void
assert_kept_where_alpha_zero (const TsPipelineResult *res, const TsImage *in)
{
  const TsImage *out = res->images[0], *alpha = res->blend_mask;
  g_assert_nonnull (alpha);
  for (int y = 0; y < in->height; y++)
    for (int x = 0; x < in->width; x++) {
      gsize i = (gsize) y * in->width + x;
      if (!res->grown_mask->pixels[i])
        g_assert_cmpint (alpha->pixels[i], ==, 0);
      if (!alpha->pixels[i])
        g_assert_cmpmem (px (out, x, y), 3, px (in, x, y), 3);
    }
}

/* Squared distance between pixel (x, y) and the rectangle [x0, x1) × [y0, y1). */
static int
rect_distance2 (int x, int y, int x0, int y0, int x1, int y1)
{
  int dx = x < x0 ? x0 - x : x >= x1 ? x - (x1 - 1) : 0;
  int dy = y < y0 ? y0 - y : y >= y1 ? y - (y1 - 1) : 0;
  return dx * dx + dy * dy;
}

/* The model's token size comes from the model (16 for the tiny aMUSEd, whose native side is
 * 8 tokens). */
static void
test_token_size (void)
{
  NEED_TINY (p);
  g_assert_cmpint (ts_pipeline_token_size (p), ==, 16);
  g_assert_cmpint (ts_pipeline_native_size (p) % ts_pipeline_token_size (p), ==, 0);
}

/* Without feather, grow repaints exactly the tokens holding a pixel within `grow` of the
 * mask, the alpha is 255 on exactly those pixels and 0 elsewhere, and every other pixel is
 * kept. The rectangle sits off the token grid so that grow decides which tokens join. */
static void
test_grow_token_set (void)
{
  NEED_TINY (p);
  const int side = 128, ts = ts_pipeline_token_size (p);
  const int x0 = 37, y0 = 50, x1 = 46, y1 = 61;
  g_autoptr (TsImage) image = smooth_image (side, side);
  g_autoptr (TsImage) mask = ts_image_new (side, side, 1, NULL);
  for (int y = y0; y < y1; y++)
    for (int x = x0; x < x1; x++)
      mask->pixels[y * side + x] = 7; /* any non-zero value repaints */
  static const int grows[] = { 0, 3, 6, 12 };
  int n_tokens_before = 0;
  for (guint g = 0; g < G_N_ELEMENTS (grows); g++) {
    TsPipelineRequest req;
    inpaint_request (&req, image, mask);
    req.grow = grows[g];
    req.feather = 0;
    g_autoptr (TsPipelineResult) res = pipeline_run_ok (p, &req);
    int n_tokens = 0;
    for (int ty = 0; ty < side / ts; ty++)
      for (int tx = 0; tx < side / ts; tx++) {
        gboolean want = FALSE;
        for (int y = ty * ts; y < (ty + 1) * ts; y++)
          for (int x = tx * ts; x < (tx + 1) * ts; x++)
            want |= rect_distance2 (x, y, x0, y0, x1, y1) <= grows[g] * grows[g];
        n_tokens += want;
        for (int y = ty * ts; y < (ty + 1) * ts; y++)
          for (int x = tx * ts; x < (tx + 1) * ts; x++)
            g_assert_cmpint (res->grown_mask->pixels[y * side + x], ==, want ? 255 : 0);
      }
    for (int y = 0; y < side; y++)
      for (int x = 0; x < side; x++) {
        gboolean in_grown = rect_distance2 (x, y, x0, y0, x1, y1) <= grows[g] * grows[g];
        g_assert_cmpint (res->blend_mask->pixels[y * side + x], ==, in_grown ? 255 : 0);
      }
    assert_kept_where_alpha_zero (res, image);
    g_test_message ("grow %d: %d tokens", grows[g], n_tokens);
    g_assert_cmpint (n_tokens, >=, n_tokens_before);
    n_tokens_before = n_tokens;
  }
  g_assert_cmpint (n_tokens_before, >, 1); /* grow 12 reaches past the first token */
}

/* Feather: the alpha falls monotonically along every ray out of a round mask, from 255
 * inside through a smooth ramp (about half on the grown edge) to 0 beyond it, the same in
 * every direction (a disc, not a rectangle); far pixels are byte-identical; and the output
 * is input + alpha·(generated − input), checked against a hard run over the same tokens
 * (same token mask, same draws: the same generated pixels). */
static void
test_feather_ramp (void)
{
  NEED_TINY (p);
  const int side = 128, cx = 61, cy = 66, radius = 18, grow = 3, feather = 12;
  g_autoptr (TsImage) image = smooth_image (side, side);
  g_autoptr (TsImage) mask = ts_image_new (side, side, 1, NULL);
  for (int y = 0; y < side; y++)
    for (int x = 0; x < side; x++)
      mask->pixels[y * side + x] = (x - cx) * (x - cx) + (y - cy) * (y - cy) <= radius * radius;
  TsPipelineRequest req;
  inpaint_request (&req, image, mask);
  req.grow = grow;
  req.feather = feather;
  g_autoptr (TsPipelineResult) res = pipeline_run_ok (p, &req);
  const TsImage *alpha = res->blend_mask;
  assert_kept_where_alpha_zero (res, image);

  /* Along eight rays from the centre. */
  static const int dirs[8][2] = { { 1, 0 }, { -1, 0 }, { 0, 1 }, { 0, -1 },
                                  { 1, 1 }, { -1, 1 }, { 1, -1 }, { -1, -1 } };
  for (int d = 0; d < 8; d++) {
    int last = 255, n_between = 0;
    for (int k = 0;; k++) {
      int x = cx + dirs[d][0] * k, y = cy + dirs[d][1] * k;
      if (x < 0 || y < 0 || x >= side || y >= side)
        break;
      int a = alpha->pixels[y * side + x];
      g_assert_cmpint (a, <=, last);
      n_between += a > 0 && a < 255;
      last = a;
      double dist = hypot (x - cx, y - cy);
      if (dist <= radius + grow - feather / 2.0 - 1.5)
        g_assert_cmpint (a, ==, 255);
      if (dist >= radius + grow + feather / 2.0 + 1.5)
        g_assert_cmpint (a, ==, 0);
    }
    g_assert_cmpint (n_between, >=, dirs[d][0] && dirs[d][1] ? 6 : 9); /* a ramp, not a step */
  }
  /* Half way on the grown edge, in any direction (to a pixel's rounding of the disc). */
  for (int angle = 0; angle < 360; angle += 15) {
    double r = radius + grow + 0.5, t = angle * G_PI / 180;
    int x = (int) lround (cx + r * cos (t)), y = (int) lround (cy + r * sin (t));
    g_assert_cmpint (abs (alpha->pixels[y * side + x] - 128), <=, 40);
  }

  /* The hard reference: the same tokens repainted with alpha 1 everywhere in them. */
  TsPipelineRequest hard_req;
  inpaint_request (&hard_req, image, res->grown_mask);
  hard_req.feather = 0;
  g_autoptr (TsPipelineResult) hard = pipeline_run_ok (p, &hard_req);
  g_assert_cmpmem (hard->grown_mask->pixels, side * side, res->grown_mask->pixels, side * side);
  g_assert_cmpmem (hard->tokens[0], 64 * 4, res->tokens[0], 64 * 4);
  for (gsize i = 0; i < (gsize) side * side; i++)
    for (int c = 0; c < 3; c++) {
      float in = image->pixels[i * 3 + c], fresh = hard->images[0]->pixels[i * 3 + c];
      float want = in + alpha->pixels[i] / 255.0f * (fresh - in);
      g_assert_cmpfloat (fabsf (res->images[0]->pixels[i * 3 + c] - want), <=, 0.51f);
    }
}

/* Mean absolute step between columns x and x + 1 over rows [y0, y1) and channels. */
static double
column_step (const TsImage *im, int x, int y0, int y1)
{
  double sum = 0;
  for (int y = y0; y < y1; y++)
    for (int c = 0; c < 3; c++)
      sum += abs (px (im, x + 1, y)[c] - px (im, x, y)[c]);
  return sum / ((y1 - y0) * 3);
}

/* The outpaint canvas the pipeline works on: the picture at (left, top), the border filled
 * with the picture's nearest edge pixels. */
static TsImage *
edge_filled_canvas (const TsImage *im, int left, int top, int w, int h)
{
  TsImage *c = ts_image_new (w, h, 3, NULL);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      memcpy (c->pixels + ((gsize) y * w + x) * 3,
              px (im, CLAMP (x - left, 0, im->width - 1), CLAMP (y - top, 0, im->height - 1)), 3);
  return c;
}

/* Outpaint to the right by an amount off the token grid, with the default overlap (two
 * tokens): the picture left of the overlap band is byte-identical; the new area is the
 * generated picture; the band is input + alpha·(generated − input) with alpha rising
 * smoothly to the old edge (checked against an inpaint of the same canvas and tokens); and
 * no column step across the band and the old edge is larger than the picture's own local
 * steps plus what the ramp's slope can add. */
static void
test_outpaint_seam (void)
{
  NEED_TINY (p);
  const int w = 128, h = 128, extend = 41, overlap = 2 * ts_pipeline_token_size (p);
  g_autoptr (TsImage) image = smooth_image (w, h);
  TsPipelineRequest req;
  ts_pipeline_request_init (&req, TS_MODE_OUTPAINT);
  g_assert_cmpint (req.overlap, ==, -1);
  req.prompt = "more sky";
  req.steps = 2;
  req.seed = 9;
  req.image = image;
  req.extend_right = extend;
  g_autoptr (TsPipelineResult) res = pipeline_run_ok (p, &req);
  const TsImage *out = res->images[0], *alpha = res->blend_mask;
  int W = w + extend;
  g_assert_cmpint (out->width, ==, W);
  g_assert_cmpint (out->height, ==, h);
  for (int y = 0; y < h; y++) {
    g_assert_cmpmem (px (out, 0, y), (w - overlap) * 3, px (image, 0, y), (w - overlap) * 3);
    int last = 0;
    for (int x = 0; x < W; x++) {
      int a = alpha->pixels[y * W + x];
      g_assert_cmpint (a, >=, last); /* rising towards the new area */
      last = a;
      if (x < w - overlap)
        g_assert_cmpint (a, ==, 0);
      if (x >= w)
        g_assert_cmpint (a, ==, 255);
    }
    g_assert_cmpint (alpha->pixels[y * W + w - overlap / 2], >, 64);
    g_assert_cmpint (alpha->pixels[y * W + w - overlap / 2], <, 192);
  }

  /* The generated pixels under the band: inpaint the same canvas over the same tokens. */
  g_autoptr (TsImage) canvas = edge_filled_canvas (image, 0, 0, W, h);
  TsPipelineRequest ref_req;
  inpaint_request (&ref_req, canvas, res->grown_mask);
  ref_req.prompt = req.prompt;
  ref_req.seed = req.seed;
  ref_req.feather = 0;
  g_autoptr (TsPipelineResult) ref = pipeline_run_ok (p, &ref_req);
  g_assert_cmpmem (ref->grown_mask->pixels, W * h, res->grown_mask->pixels, W * h);
  const TsImage *fresh = ref->images[0];
  for (int y = 0; y < h; y++)
    for (int x = w - overlap; x < W; x++)
      for (int c = 0; c < 3; c++) {
        float in = px (canvas, x, y)[c], gen = px (fresh, x, y)[c];
        float want = in + alpha->pixels[y * W + x] / 255.0f * (gen - in);
        g_assert_cmpfloat (fabsf (px (out, x, y)[c] - want), <=, 0.51f);
      }

  /* No seam: every column step across the band and the old edge is within the larger of
   * the picture's and the generated pixels' own steps there, plus the ramp's slope times
   * the largest difference it blends (and a rounding). Without the band the step at the old
   * edge would be the jump from the picture to the generated pixels. */
  double own = 0, slope = 0, jump = 0;
  for (int x = w - overlap - 1; x < w + 1; x++)
    own = MAX (own, MAX (column_step (canvas, x, 0, h), column_step (fresh, x, 0, h)));
  for (int x = w - overlap; x < w; x++)
    slope = MAX (slope, (alpha->pixels[x + 1] - alpha->pixels[x]) / 255.0);
  for (int y = 0; y < h; y++)
    for (int c = 0; c < 3; c++)
      jump += abs (px (fresh, w, y)[c] - px (image, w - 1, y)[c]) / (3.0 * h);
  g_test_message ("own steps ≤ %.1f, ramp slope ≤ %.3f/px; a hard edge would step %.1f",
                  own, slope, jump);
  for (int x = w - overlap - 1; x < w + 1; x++)
    g_assert_cmpfloat (column_step (out, x, 0, h), <=, own + slope * 255 + 1);
}

/* Outpaint on every side by amounts off the grid: the canvas has the sum's size and the
 * picture's middle, beyond the overlap from each extended side, is byte-identical. */
static void
test_outpaint_any_side (void)
{
  NEED_TINY (p);
  g_autoptr (TsImage) image = smooth_image (100, 90);
  TsPipelineRequest req;
  ts_pipeline_request_init (&req, TS_MODE_OUTPAINT);
  req.prompt = "more";
  req.steps = 2;
  req.image = image;
  req.extend_left = 5;
  req.extend_top = 19;
  req.extend_bottom = 3;
  req.overlap = 10;
  g_autoptr (TsPipelineResult) res = pipeline_run_ok (p, &req);
  const TsImage *out = res->images[0];
  g_assert_cmpint (out->width, ==, 105);
  g_assert_cmpint (out->height, ==, 112);
  for (int y = 10; y < 80; y++)
    g_assert_cmpmem (px (out, 5 + 10, 19 + y), 90 * 3, px (image, 10, y), 90 * 3);
  /* the right side was not extended: its column is kept where no other side reaches */
  g_assert_cmpmem (px (out, 104, 19 + 45), 3, px (image, 99, 45), 3);
  g_assert_cmpint (res->blend_mask->pixels[(19 + 45) * 105 + 104], ==, 0);
  g_assert_cmpint (res->blend_mask->pixels[0], ==, 255);
}

typedef struct {
  int calls, n_steps;
  gboolean monotone;
  int last_step;
} StepCount;

static void
count_steps (const TsPipelineProgress *pr, gpointer data)
{
  StepCount *sc = data;
  sc->calls++;
  sc->monotone &= pr->step == sc->last_step + 1;
  sc->last_step = pr->step;
  sc->n_steps = pr->n_steps;
}

/* Outpaint along a picture taller than the model: the band is worked in model-size windows
 * one after the other (no scaling, so no notice), each seeing the previous one's pixels;
 * progress counts every window's steps; the original left of the overlap is kept byte for
 * byte and every pixel that may change lies in the repainted tokens. */
static void
test_outpaint_long_edge (void)
{
  NEED_TINY (p);
  const int w = 96, h = 320, extend = 32;
  g_autoptr (TsImage) image = smooth_image (w, h);
  StepCount sc = { .monotone = TRUE };
  TsPipelineRequest req;
  ts_pipeline_request_init (&req, TS_MODE_OUTPAINT);
  req.prompt = "more";
  req.steps = 2;
  req.image = image;
  req.extend_right = extend;
  req.progress = count_steps;
  req.progress_data = &sc;
  g_autoptr (TsPipelineResult) res = pipeline_run_ok (p, &req);
  const TsImage *out = res->images[0];
  int W = w + extend, overlap = 2 * ts_pipeline_token_size (p);
  g_assert_null (res->notice);
  g_assert_cmpint (out->width, ==, W);
  g_assert_cmpint (out->height, ==, h);
  g_test_message ("%d steps reported", sc.calls);
  g_assert_true (sc.monotone);
  g_assert_cmpint (sc.calls, ==, sc.n_steps);
  g_assert_cmpint (sc.calls % req.steps, ==, 0);
  g_assert_cmpint (sc.calls / req.steps, >=, 3); /* 320 rows need three 128-row windows */
  g_assert_cmpint (res->timings.steps_run, ==, sc.calls);
  g_assert_cmpint (res->token_width * ts_pipeline_token_size (p), ==, 128);
  for (int y = 0; y < h; y++) {
    g_assert_cmpmem (px (out, 0, y), (w - overlap) * 3, px (image, 0, y), (w - overlap) * 3);
    for (int x = 0; x < W; x++)
      if (res->blend_mask->pixels[y * W + x])
        g_assert_cmpint (res->grown_mask->pixels[y * W + x], ==, 255);
    for (int x = w; x < W; x++) /* the new band is painted everywhere */
      g_assert_cmpint (res->blend_mask->pixels[y * W + x], ==, 255);
  }
  g_autoptr (TsImage) filled = edge_filled_canvas (image, 0, 0, W, h);
  int as_filled = 0;
  for (int y = 0; y < h; y++)
    for (int x = w; x < W; x++)
      as_filled += memcmp (px (out, x, y), px (filled, x, y), 3) == 0;
  g_assert_cmpint (as_filled * 20, <, extend * h); /* no band left unpainted */
  g_autoptr (TsPipelineResult) again = pipeline_run_ok (p, &req);
  g_assert_cmpmem (again->images[0]->pixels, W * h * 3, out->pixels, W * h * 3);
}

/* Outpaint on every side of a picture larger than the model: the ring is worked in
 * model-size windows (the middle, with nothing to repaint, is skipped), no pixel of the new
 * border is left as the edge filling the pipeline starts from, and the middle is kept. */
static void
test_outpaint_ring (void)
{
  NEED_TINY (p);
  const int w = 200, h = 180, e = 20, W = w + 2 * e, H = h + 2 * e;
  g_autoptr (TsImage) image = smooth_image (w, h);
  StepCount sc = { .monotone = TRUE };
  TsPipelineRequest req;
  ts_pipeline_request_init (&req, TS_MODE_OUTPAINT);
  req.prompt = "a frame";
  req.steps = 2;
  req.image = image;
  req.extend_left = req.extend_top = req.extend_right = req.extend_bottom = e;
  req.overlap = 12;
  req.progress = count_steps;
  req.progress_data = &sc;
  g_autoptr (TsPipelineResult) res = pipeline_run_ok (p, &req);
  const TsImage *out = res->images[0];
  g_assert_null (res->notice);
  g_assert_cmpint (out->width, ==, W);
  g_assert_cmpint (out->height, ==, H);
  g_test_message ("%d windows", sc.calls / req.steps);
  g_assert_cmpint (sc.calls / req.steps, >=, 4);
  for (int y = 12; y < h - 12; y++)
    g_assert_cmpmem (px (out, e + 12, e + y), (w - 24) * 3, px (image, 12, y), (w - 24) * 3);
  g_autoptr (TsImage) filled = edge_filled_canvas (image, e, e, W, H);
  int border = 0, as_filled = 0;
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++)
      if (x < e || y < e || x >= e + w || y >= e + h) {
        border++;
        as_filled += memcmp (px (out, x, y), px (filled, x, y), 3) == 0;
      }
  g_test_message ("%d of %d border pixels equal to the edge filling", as_filled, border);
  g_assert_cmpint (as_filled * 20, <, border);
}

/* A long thin inpaint stroke across a wide picture is worked in model-size windows too;
 * a large blob, and an object a little larger than the model, are processed scaled (made
 * whole), and the notice says so. */
static void
test_inpaint_long_and_large (void)
{
  NEED_TINY (p);
  const int w = 384, h = 160;
  g_autoptr (TsImage) image = smooth_image (w, h);
  g_autoptr (TsImage) stroke = ts_image_new (w, h, 1, NULL);
  for (int y = 70; y < 78; y++)
    for (int x = 20; x < 360; x++)
      stroke->pixels[y * w + x] = 255;
  TsPipelineRequest req;
  inpaint_request (&req, image, stroke);
  g_autoptr (TsPipelineResult) res = pipeline_run_ok (p, &req);
  g_assert_null (res->notice);
  assert_kept_where_alpha_zero (res, image);
  g_assert_true (memcmp (res->images[0]->pixels, image->pixels, (gsize) w * h * 3) != 0);

  g_autoptr (TsImage) blob = ts_image_new (w, h, 1, NULL);
  for (int y = 10; y < 150; y++)
    for (int x = 30; x < 330; x++)
      blob->pixels[y * w + x] = 255;
  inpaint_request (&req, image, blob);
  g_autoptr (TsPipelineResult) scaled = pipeline_run_ok (p, &req);
  g_assert_nonnull (scaled->notice);
  g_assert_nonnull (strstr (scaled->notice, "processed at 128×"));
  assert_kept_where_alpha_zero (scaled, image);

  g_autoptr (TsImage) object = ts_image_new (w, h, 1, NULL);
  for (int y = 50; y < 110; y++)
    for (int x = 100; x < 250; x++)
      object->pixels[y * w + x] = 255;
  StepCount sc = { .monotone = TRUE };
  inpaint_request (&req, image, object);
  req.progress = count_steps;
  req.progress_data = &sc;
  g_autoptr (TsPipelineResult) whole = pipeline_run_ok (p, &req);
  g_assert_nonnull (whole->notice);
  g_assert_cmpint (sc.calls, ==, req.steps); /* one window */
  assert_kept_where_alpha_zero (whole, image);
}

/* A frame on a picture larger than the model: only the frame's square changes, its inner
 * edges blend, the result has the picture's size and no notice; the frame moves inside the
 * picture when placed partly outside. */
static void
test_frame_only (void)
{
  NEED_TINY (p);
  const int w = 300, h = 200, side = ts_pipeline_native_size (p);
  g_autoptr (TsImage) image = smooth_image (w, h);
  static const TsPipelineMode modes[] = { TS_MODE_RESTYLE, TS_MODE_EDIT, TS_MODE_GENERATE };
  static const int corners[][2] = { { 100, 50 }, { 250, -20 } };
  for (guint m = 0; m < G_N_ELEMENTS (modes); m++) {
    int place = m == 1;
    int fx = CLAMP (corners[place][0], 0, w - side), fy = CLAMP (corners[place][1], 0, h - side);
    TsPipelineRequest req;
    ts_pipeline_request_init (&req, modes[m]);
    req.prompt = "in oil";
    req.steps = 3;
    req.edit_iterations = 2;
    req.image = image;
    req.use_frame = TRUE;
    req.frame_x = corners[place][0];
    req.frame_y = corners[place][1];
    g_autoptr (TsPipelineResult) res = pipeline_run_ok (p, &req);
    const TsImage *out = res->images[0];
    g_assert_null (res->notice);
    g_assert_cmpint (out->width, ==, w);
    g_assert_cmpint (out->height, ==, h);
    g_assert_cmpint (res->token_width * ts_pipeline_token_size (p), ==, side);
    gboolean changed_inside = FALSE;
    for (int y = 0; y < h; y++)
      for (int x = 0; x < w; x++) {
        gboolean inside = x >= fx && x < fx + side && y >= fy && y < fy + side;
        g_assert_cmpint (res->grown_mask->pixels[y * w + x], ==, inside ? 255 : 0);
        if (!inside)
          g_assert_cmpmem (px (out, x, y), 3, px (image, x, y), 3);
        else
          changed_inside |= memcmp (px (out, x, y), px (image, x, y), 3) != 0;
      }
    g_assert_true (changed_inside);
    /* The middle of the frame is the processed frame; its inner edges ramp. */
    g_assert_cmpint (res->blend_mask->pixels[(fy + side / 2) * w + fx + side / 2], ==, 255);
    if (fx > 0)
      g_assert_cmpint (res->blend_mask->pixels[(fy + side / 2) * w + fx], <, 64);
  }
}

/* The whole picture, larger than the model: processed at the working size, scaled back to
 * the picture's size, and the notice says so. A picture within the model's size: no notice. */
static void
test_whole_picture_notice (void)
{
  NEED_TINY (p);
  g_autoptr (TsImage) large = smooth_image (300, 200);
  g_autoptr (TsImage) small = smooth_image (100, 70);
  static const TsPipelineMode modes[] = { TS_MODE_RESTYLE, TS_MODE_EDIT, TS_MODE_GENERATE };
  for (guint m = 0; m < G_N_ELEMENTS (modes); m++) {
    TsPipelineRequest req;
    ts_pipeline_request_init (&req, modes[m]);
    req.prompt = "in oil";
    req.steps = 2;
    req.edit_iterations = 2;
    req.image = large;
    g_autoptr (TsPipelineResult) res = pipeline_run_ok (p, &req);
    g_assert_cmpint (res->images[0]->width, ==, 300);
    g_assert_cmpint (res->images[0]->height, ==, 200);
    g_assert_nonnull (res->notice);
    g_test_message ("%s", res->notice);
    g_assert_nonnull (strstr (res->notice, "processed at 128×"));
    g_assert_nonnull (strstr (res->notice, "scaled to 300×200"));
    g_assert_null (res->grown_mask);

    req.image = small;
    g_autoptr (TsPipelineResult) fits = pipeline_run_ok (p, &req);
    g_assert_null (fits->notice);
    g_assert_cmpint (fits->images[0]->width, ==, 100);
  }
}

typedef struct {
  int    calls, last_step;
  double last_elapsed, last_steps_seconds, last_eta;
  gboolean ok;
} Times;

static void
on_progress (const TsPipelineProgress *pr, gpointer data)
{
  Times *t = data;
  t->calls++;
  double eta = ts_pipeline_progress_eta (pr);
  t->ok &= pr->step == t->last_step + 1;
  t->ok &= pr->elapsed >= t->last_elapsed && pr->steps_seconds >= t->last_steps_seconds;
  t->ok &= pr->steps_seconds >= 0 && pr->steps_seconds <= pr->elapsed;
  t->ok &= pr->step < pr->n_steps ? eta >= 0 : eta == 0;
  t->ok &= fabs (eta - pr->steps_seconds / pr->step * (pr->n_steps - pr->step)) < 1e-9;
  t->last_step = pr->step;
  t->last_elapsed = pr->elapsed;
  t->last_steps_seconds = pr->steps_seconds;
  t->last_eta = eta;
}

/* Progress times only grow, the steps' time is within the run's, and the estimate follows
 * from them and ends at 0 — for generate, inpaint and edit's iterations. */
static void
test_progress_times (void)
{
  NEED_TINY (p);
  TsPipelineProgress none = { 0, 12 };
  g_assert_cmpfloat (ts_pipeline_progress_eta (&none), <, 0);
  TsPipelineProgress half = { .step = 4, .n_steps = 12, .elapsed = 3, .steps_seconds = 2 };
  g_assert_cmpfloat (ts_pipeline_progress_eta (&half), ==, 4.0);

  g_autoptr (TsImage) image = smooth_image (128, 128);
  g_autoptr (TsImage) mask = ts_image_new (128, 128, 1, NULL);
  memset (mask->pixels + 128 * 30, 255, 128 * 20);
  static const TsPipelineMode modes[] = { TS_MODE_GENERATE, TS_MODE_INPAINT, TS_MODE_EDIT };
  for (guint m = 0; m < G_N_ELEMENTS (modes); m++) {
    Times t = { .ok = TRUE };
    TsPipelineRequest req;
    ts_pipeline_request_init (&req, modes[m]);
    req.prompt = "a dog";
    req.steps = 5;
    req.edit_iterations = 4;
    req.image = modes[m] == TS_MODE_GENERATE ? NULL : image;
    req.mask = modes[m] == TS_MODE_INPAINT ? mask : NULL;
    req.progress = on_progress;
    req.progress_data = &t;
    g_autoptr (TsPipelineResult) res = pipeline_run_ok (p, &req);
    g_assert_true (t.ok);
    g_assert_cmpint (t.calls, ==, modes[m] == TS_MODE_EDIT ? 4 : 5);
    g_assert_cmpfloat (t.last_eta, ==, 0);
    g_assert_cmpfloat (t.last_elapsed, <=, res->timings.total);
  }
}

/* The new fields are checked like the others. */
static void
test_bad_blend_requests (void)
{
  NEED_TINY (p);
  g_autoptr (TsImage) image = smooth_image (64, 64);
  g_autoptr (TsImage) mask = ts_image_new (64, 64, 1, NULL);
  mask->pixels[0] = 1;
  for (int field = 0; field < 4; field++) {
    TsPipelineRequest req;
    ts_pipeline_request_init (&req, field == 2 ? TS_MODE_OUTPAINT
                                    : field == 3 ? TS_MODE_GENERATE : TS_MODE_INPAINT);
    req.image = image;
    req.mask = field < 2 ? mask : NULL;
    req.extend_right = 16;
    switch (field) {
    case 0: req.grow = -1; break;
    case 1: req.feather = -2; break;
    case 2: req.overlap = -2; break;
    case 3: req.width = 128; break; /* a size and an image to take it from */
    }
    g_autoptr (GError) error = NULL;
    g_assert_null (ts_pipeline_run (p, &req, &error));
    g_assert_error (error, TS_ERROR, TS_ERROR_INVALID_ARGUMENT);
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/blend/token-size", test_token_size);
  g_test_add_func ("/blend/grow-token-set", test_grow_token_set);
  g_test_add_func ("/blend/feather-ramp", test_feather_ramp);
  g_test_add_func ("/blend/outpaint-seam", test_outpaint_seam);
  g_test_add_func ("/blend/outpaint-any-side", test_outpaint_any_side);
  g_test_add_func ("/blend/outpaint-long-edge", test_outpaint_long_edge);
  g_test_add_func ("/blend/outpaint-ring", test_outpaint_ring);
  g_test_add_func ("/blend/inpaint-long-and-large", test_inpaint_long_and_large);
  g_test_add_func ("/blend/frame-only", test_frame_only);
  g_test_add_func ("/blend/whole-picture-notice", test_whole_picture_notice);
  g_test_add_func ("/blend/progress-times", test_progress_times);
  g_test_add_func ("/blend/bad-requests", test_bad_blend_requests);
  int rc = g_test_run ();
  pipeline_fixture_free ();
  return rc;
}
