/* test-pipeline.c — the sampler's arithmetic and the pipelines' invariants on the tiny model. */
#include "pipeline-fixture.h"
#include "pipeline/ts-mode-table.h"

#include <math.h>
#include <string.h>

/* Random123's known-answer vectors for Philox4x32-10. */
static void
test_philox_kat (void)
{
  static const struct {
    guint32 ctr[4], key[2], out[4];
  } kat[] = {
    { { 0, 0, 0, 0 }, { 0, 0 }, { 0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8 } },
    { { 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff }, { 0xffffffff, 0xffffffff },
      { 0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd } },
    { { 0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344 }, { 0xa4093822, 0x299f31d0 },
      { 0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1 } },
  };
  for (guint i = 0; i < G_N_ELEMENTS (kat); i++) {
    guint32 out[4];
    ts_philox4x32_10 (kat[i].ctr, kat[i].key, out);
    g_assert_cmpmem (out, 16, kat[i].out, 16);
  }
}

/* Uniform in [0, 1), keyed: any change of seed, step, kind or position changes the draw, and
 * the mean of many draws is about 1/2. */
static void
test_rng_keys (void)
{
  float base = ts_rng_uniform (42, 3, 1, 7);
  g_assert_cmpfloat (base, !=, ts_rng_uniform (43, 3, 1, 7));
  g_assert_cmpfloat (base, !=, ts_rng_uniform (42, 4, 1, 7));
  g_assert_cmpfloat (base, !=, ts_rng_uniform (42, 3, 2, 7));
  g_assert_cmpfloat (base, !=, ts_rng_uniform (42, 3, 1, 8));
  g_assert_cmpfloat (base, ==, ts_rng_uniform (42, 3, 1, 7));
  float buf[4096];
  ts_rng_fill (42, 3, 1, buf, 4096);
  g_assert_cmpfloat (buf[7], ==, base);
  double sum = 0;
  for (int i = 0; i < 4096; i++) {
    g_assert_cmpfloat (buf[i], >=, 0.0f);
    g_assert_cmpfloat (buf[i], <, 1.0f);
    sum += buf[i];
  }
  g_assert_cmpfloat (fabs (sum / 4096 - 0.5), <, 0.02);
}

/* The deterministic mask_len table of amused-spec §4.1 (cosine, N = 12, from all masked),
 * including the float32 quirk at k = 7 (127 / 511, not 128 / 512). */
static void
test_mask_len_table (void)
{
  static const int l256[] = { 253, 247, 236, 221, 203, 181, 155, 127, 97, 66, 33 };
  static const int l1024[] = { 1015, 989, 946, 886, 812, 724, 623, 511, 391, 265, 133 };
  g_autoptr (TsSchedule) s = ts_schedule_new (12, 2, 0, TS_MASKING_COSINE, 4, 4);
  for (int k = 0; k < 11; k++) {
    float r = ts_schedule_mask_ratio (s, k);
    g_assert_cmpint ((int) floorf (256.0f * r), ==, l256[k]);
    g_assert_cmpint ((int) floorf (1024.0f * r), ==, l1024[k]);
  }
  g_assert_cmpfloat (ts_schedule_mask_ratio (s, 7), ==, 0.49999997f);
  g_assert_cmpfloat_with_epsilon (s->temperatures[1], 1.8181818f, 1e-6);
  g_assert_cmpfloat (s->temperatures[11], ==, 0.0f);
}

/* One step on a hand-made row: known tokens keep their value, exactly mask_len tokens (the
 * least confident) are re-masked, mask_len is clamped to unknown − 1 and to at least 1. */
static void
test_step_row (void)
{
  enum { L = 6, K = 3, MASK = 3 };
  g_autoptr (TsSchedule) s = ts_schedule_new (4, 0, 0, TS_MASKING_LINEAR, MASK, K);
  float logits[L * K];
  for (int i = 0; i < L; i++) /* row i favours token i % 3 more and more strongly */
    for (int k = 0; k < K; k++)
      logits[i * K + k] = k == i % 3 ? (float) i : 0.0f;
  int32_t in[L] = { MASK, MASK, 2, MASK, MASK, MASK }, prev[L], pred[L];
  float mult[L] = { 0.5f, 0.5f, 0.5f, 0.99f, 0.5f, 0.5f }, gum[L] = { 0.5f, 0.5f, 0.5f, 0.5f,
                                                                       0.5f, 0.5f };
  float len;
  guint8 masking[L];
  float conf[L], probs[L];
  TsStepDetail d = { pred, conf, probs, &len, masking };
  /* step 0 of 4, linear: ratio 0.75 → floor(6·0.75) = 4, unknown − 1 = 4 → 4 */
  ts_schedule_step_row (s, 0, logits, in, L, 1.0f, mult, gum, prev, &d);
  g_assert_cmpfloat (len, ==, 4.0f);
  g_assert_cmpint (prev[2], ==, 2);
  int masked = 0;
  for (int i = 0; i < L; i++)
    masked += prev[i] == MASK;
  g_assert_cmpint (masked, ==, 4);
  g_assert_cmpint (pred[5], ==, 2); /* logits 5 on token 2: p ≈ 0.987, u = 0.5 */
  g_assert_cmpint (prev[5], ==, 2); /* the most confident survives */
  /* with starting_mask_ratio, a small ratio is clamped up to 1 */
  ts_schedule_step_row (s, 0, logits, in, L, 0.01f, mult, gum, prev, &d);
  g_assert_cmpfloat (len, ==, 1.0f);
  /* the last step reveals everything */
  ts_schedule_step_row (s, 3, logits, in, L, 1.0f, mult, gum, prev, NULL);
  for (int i = 0; i < L; i++)
    g_assert_cmpint (prev[i], !=, MASK);
}

static void
test_categorical (void)
{
  float p[4] = { 0.25f, 0.25f, 0.25f, 0.25f };
  g_assert_cmpint (ts_sample_categorical (p, 4, 0.0f), ==, 0);
  g_assert_cmpint (ts_sample_categorical (p, 4, 0.25f), ==, 1); /* cdf must exceed u·total */
  g_assert_cmpint (ts_sample_categorical (p, 4, 0.99f), ==, 3);
  float z[3] = { 0, 1, 0 };
  g_assert_cmpint (ts_sample_categorical (z, 3, 0.0f), ==, 1);
}

/* ---- the pipelines on the tiny model ---- */

static TsImage *
pattern_image (int w, int h)
{
  TsImage *im = ts_image_new (w, h, 3, NULL);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      guint8 *px = im->pixels + ((gsize) y * w + x) * 3;
      px[0] = (guint8) (x * 255 / w);
      px[1] = (guint8) (y * 255 / h);
      px[2] = (guint8) ((x ^ y) & 0xff);
    }
  return im;
}

/* Same request and seed → byte-identical, also after the pipeline returned its cached memory
 * (ts_pipeline_trim, as the editor does after each request); variants use consecutive seeds,
 * so variant 1 of seed 5 is seed 6 alone. */
static void
test_determinism_and_variants (void)
{
  NEED_TINY (p);
  TsPipelineRequest req;
  ts_pipeline_request_init (&req, TS_MODE_GENERATE);
  req.prompt = "a cat";
  req.steps = 3;
  req.seed = 5;
  req.n_variants = 2;
  g_autoptr (TsPipelineResult) a = pipeline_run_ok (p, &req);
  ts_pipeline_trim (p);
  g_autoptr (TsPipelineResult) b = pipeline_run_ok (p, &req);
  g_assert_cmpint (a->n_images, ==, 2);
  g_assert_cmpint (a->images[0]->width, ==, 128);
  for (int i = 0; i < 2; i++)
    g_assert_cmpmem (a->images[i]->pixels, 128 * 128 * 3, b->images[i]->pixels, 128 * 128 * 3);
  g_assert_true (memcmp (a->tokens[0], a->tokens[1], 64 * 4) != 0);
  req.seed = 6;
  req.n_variants = 1;
  g_autoptr (TsPipelineResult) c = pipeline_run_ok (p, &req);
  g_assert_cmpuint (c->seeds[0], ==, a->seeds[1]);
  g_assert_cmpmem (c->tokens[0], 64 * 4, a->tokens[1], 64 * 4);
  g_assert_cmpmem (c->images[0]->pixels, 128 * 128 * 3, a->images[1]->pixels, 128 * 128 * 3);
  g_assert_cmpint (a->timings.steps_run, ==, 3);
  g_assert_cmpfloat (a->timings.total, >, 0);
}

typedef struct {
  int           calls, cancel_at, last_revealed;
  GCancellable *cancellable;
  gboolean      monotonic;
} Progress;

static void
on_progress (const TsPipelineProgress *pr, gpointer data)
{
  Progress *pg = data;
  pg->calls++;
  int revealed = 0;
  for (int i = 0; i < pr->n_rows * pr->token_width * pr->token_height; i++)
    revealed += pr->tokens[i] != pr->mask_id;
  pg->monotonic &= revealed >= pg->last_revealed;
  pg->last_revealed = revealed;
  if (pr->step == pg->cancel_at)
    g_cancellable_cancel (pg->cancellable);
}

/* Progress is reported per step with tokens being revealed; cancelling during step 2 stops
 * before step 3 and returns nothing. */
static void
test_progress_and_cancel (void)
{
  NEED_TINY (p);
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  Progress pg = { 0, -1, 0, cancellable, TRUE };
  TsPipelineRequest req;
  ts_pipeline_request_init (&req, TS_MODE_GENERATE);
  req.prompt = "a dog";
  req.steps = 5;
  req.progress = on_progress;
  req.progress_data = &pg;
  req.cancellable = cancellable;
  g_autoptr (TsPipelineResult) full = pipeline_run_ok (p, &req);
  g_assert_cmpint (pg.calls, ==, 5);
  g_assert_true (pg.monotonic);
  g_assert_cmpint (pg.last_revealed, ==, 64);

  pg = (Progress) { 0, 2, 0, cancellable, TRUE };
  g_autoptr (GError) error = NULL;
  TsPipelineResult *res = ts_pipeline_run (p, &req, &error);
  g_assert_null (res);
  g_assert_error (error, TS_ERROR, TS_ERROR_CANCELLED);
  g_assert_cmpint (pg.calls, ==, 2);

  /* an edit cancelled before it starts leaves its input alone */
  g_autoptr (TsImage) image = pattern_image (128, 128);
  g_autoptr (TsImage) before = ts_image_copy (image, NULL);
  ts_pipeline_request_init (&req, TS_MODE_EDIT);
  req.image = image;
  req.cancellable = cancellable;
  g_clear_error (&error);
  g_assert_null (ts_pipeline_run (p, &req, &error));
  g_assert_error (error, TS_ERROR, TS_ERROR_CANCELLED);
  g_assert_cmpmem (image->pixels, 128 * 128 * 3, before->pixels, 128 * 128 * 3);
}

static void
assert_outside_unchanged (const TsImage *out, const TsImage *in, const TsImage *grown,
                          int dx, int dy)
{
  for (int y = 0; y < in->height; y++)
    for (int x = 0; x < in->width; x++) {
      gsize o = (gsize) (y + dy) * out->width + x + dx;
      if (grown->pixels[o])
        continue;
      g_assert_cmpmem (out->pixels + o * 3, 3, in->pixels + ((gsize) y * in->width + x) * 3, 3);
    }
}

/* Inpainting never changes a pixel outside the grown mask, at the native size and through a
 * context window on a larger, odd-sized image (resampled to the model and back). */
static void
test_inpaint_outside_unchanged (void)
{
  NEED_TINY (p);
  static const int sizes[][2] = { { 128, 128 }, { 301, 203 } };
  for (guint s = 0; s < G_N_ELEMENTS (sizes); s++) {
    int w = sizes[s][0], h = sizes[s][1];
    g_autoptr (TsImage) image = pattern_image (w, h);
    g_autoptr (TsImage) mask = ts_image_new (w, h, 1, NULL);
    for (int y = h / 3; y < h / 2; y++)
      for (int x = w / 4; x < w / 2 + 5; x++)
        mask->pixels[y * w + x] = 255;
    TsPipelineRequest req;
    ts_pipeline_request_init (&req, TS_MODE_INPAINT);
    req.prompt = "a hole";
    req.steps = 3;
    req.image = image;
    req.mask = mask;
    g_autoptr (TsPipelineResult) res = pipeline_run_ok (p, &req);
    g_assert_cmpint (res->images[0]->width, ==, w);
    g_assert_nonnull (res->grown_mask);
    for (gsize i = 0; i < (gsize) w * h; i++)
      if (mask->pixels[i])
        g_assert_cmpint (res->grown_mask->pixels[i], ==, 255);
    assert_outside_unchanged (res->images[0], image, res->grown_mask, 0, 0);
    /* something changed inside */
    g_assert_true (memcmp (res->images[0]->pixels, image->pixels, (gsize) w * h * 3) != 0);
  }
}

/* Outpaint without overlap keeps every original pixel; background swap keeps the subject's
 * pixels outside the grown (inverted) mask. */
static void
test_outpaint_and_background (void)
{
  NEED_TINY (p);
  g_autoptr (TsImage) image = pattern_image (96, 80);
  TsPipelineRequest req;
  ts_pipeline_request_init (&req, TS_MODE_OUTPAINT);
  req.prompt = "more";
  req.steps = 2;
  req.image = image;
  req.extend_left = 16;
  req.extend_top = 7;
  req.extend_right = 20;
  req.overlap = 0;
  g_autoptr (TsPipelineResult) res = pipeline_run_ok (p, &req);
  TsImage *out = res->images[0];
  g_assert_cmpint (out->width, ==, 96 + 36);
  g_assert_cmpint (out->height, ==, 87);
  for (int y = 0; y < 80; y++)
    g_assert_cmpmem (out->pixels + ((gsize) (y + 7) * out->width + 16) * 3, 96 * 3,
                     image->pixels + (gsize) y * 96 * 3, 96 * 3);

  g_autoptr (TsImage) subject = ts_image_new (96, 80, 1, NULL);
  for (int y = 20; y < 60; y++)
    for (int x = 30; x < 70; x++)
      subject->pixels[y * 96 + x] = 1;
  ts_pipeline_request_init (&req, TS_MODE_BACKGROUND);
  req.prompt = "a beach";
  req.steps = 2;
  req.image = image;
  req.mask = subject;
  g_autoptr (TsPipelineResult) bg = pipeline_run_ok (p, &req);
  assert_outside_unchanged (bg->images[0], image, bg->grown_mask, 0, 0);
  g_assert_cmpint (bg->grown_mask->pixels[0], ==, 255);      /* background repainted */
  g_assert_cmpint (bg->grown_mask->pixels[40 * 96 + 50], ==, 0); /* subject kept */
}

/* Restyle and mask-free edit keep the input's size and are deterministic. */
static void
test_restyle_and_edit (void)
{
  NEED_TINY (p);
  g_autoptr (TsImage) image = pattern_image (100, 70);
  for (int mode = TS_MODE_RESTYLE; mode <= TS_MODE_EDIT; mode++) {
    TsPipelineRequest req;
    ts_pipeline_request_init (&req, mode);
    req.prompt = "in oil";
    req.steps = 4;
    req.edit_iterations = 2;
    req.image = image;
    g_autoptr (TsPipelineResult) a = pipeline_run_ok (p, &req);
    g_autoptr (TsPipelineResult) b = pipeline_run_ok (p, &req);
    g_assert_cmpint (a->images[0]->width, ==, 100);
    g_assert_cmpint (a->images[0]->height, ==, 70);
    g_assert_cmpmem (a->images[0]->pixels, 100 * 70 * 3, b->images[0]->pixels, 100 * 70 * 3);
  }
}

/* The mode table: a row for every mode, each id once, and rows that agree with themselves
 * (what the pipeline, the CLI and the editor read from them). */
static void
test_mode_table (void)
{
  g_assert_cmpuint (ts_mode_count (), ==, TS_N_MODES);
  for (TsPipelineMode mode = 0; mode < TS_N_MODES; mode++) {
    const TsModeInfo *m = ts_mode_info (mode);
    g_assert_nonnull (m);
    g_assert_true (ts_mode_nth (ts_mode_index (mode)) == m);
    g_assert_true (ts_mode_from_id (m->id) == m);
    g_assert_true (m->label && *m->label && m->summary && *m->summary && m->help && *m->help);
    g_assert_nonnull (m->run);
    g_assert_true (m->strength >= 0 && m->strength <= 1);
    /* A picture is needed or optional, not both; a mask or extensions need a picture. */
    g_assert_false ((m->flags & TS_MODE_NEEDS_IMAGE) && (m->flags & TS_MODE_TAKES_IMAGE));
    if (m->flags & (TS_MODE_NEEDS_MASK | TS_MODE_NEEDS_EXTEND | TS_MODE_ITERATES))
      g_assert_true (m->flags & TS_MODE_NEEDS_IMAGE);
    if (m->flags & TS_MODE_MASK_KEEPS)
      g_assert_true (m->flags & TS_MODE_NEEDS_MASK);
    if (m->flags & TS_MODE_ASKS_STRENGTH)
      g_assert_true (m->flags & TS_MODE_TAKES_STRENGTH);
    TsPipelineRequest req;
    ts_pipeline_request_init (&req, mode);
    g_assert_cmpfloat (req.strength, ==, m->strength);
  }
  g_assert_null (ts_mode_info (TS_N_MODES));
  g_assert_null (ts_mode_from_id ("nonsense"));
  g_assert_null (ts_mode_nth (ts_mode_count ()));
}

/* Bad requests are errors, not crashes. */
static void
test_bad_requests (void)
{
  NEED_TINY (p);
  g_autoptr (TsImage) image = pattern_image (64, 64);
  g_autoptr (TsImage) small_mask = ts_image_new (32, 32, 1, NULL);
  g_autoptr (TsImage) empty_mask = ts_image_new (64, 64, 1, NULL);
  TsPipelineRequest req;
  struct {
    TsPipelineMode mode;
    int            field;
  } cases[] = { { TS_MODE_GENERATE, 0 }, { TS_MODE_GENERATE, 1 }, { TS_MODE_INPAINT, 2 },
                { TS_MODE_INPAINT, 3 }, { TS_MODE_RESTYLE, 4 }, { TS_MODE_OUTPAINT, 5 },
                { TS_MODE_GENERATE, 6 }, { (TsPipelineMode) 99, 7 } };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    ts_pipeline_request_init (&req, cases[i].mode);
    req.image = image;
    switch (cases[i].field) {
    case 0: req.width = 100; break;
    case 1: req.steps = 0; break;
    case 2: req.mask = small_mask; break;
    case 3: req.mask = empty_mask; break;
    case 4: req.strength = 1.5; break;
    case 5: break; /* nothing to extend */
    case 6: req.guidance = NAN; break;
    case 7: break; /* no such mode */
    }
    g_autoptr (GError) error = NULL;
    g_assert_null (ts_pipeline_run (p, &req, &error));
    g_assert_error (error, TS_ERROR, TS_ERROR_INVALID_ARGUMENT);
  }
}

/* The same request on Vulkan draws the same numbers (they are made on the host from the
 * same keys) and samples the same tokens. */
static void
test_vulkan_same_tokens (void)
{
  NEED_TINY (p);
  g_autoptr (GError) error = NULL;
  g_autoptr (TsBackend) vk = ts_backend_new_vulkan (-1, TRUE, &error);
  if (!vk) {
    g_test_skip_printf ("no Vulkan device: %s", error->message);
    return;
  }
  g_autofree char *dir = nn_tiny_model_dir (NULL);
  g_autoptr (TsPipeline) pv = ts_pipeline_new (vk, dir, &error);
  g_assert_no_error (error);
  TsPipelineRequest req;
  ts_pipeline_request_init (&req, TS_MODE_GENERATE);
  req.prompt = "a boat";
  req.steps = 4;
  req.seed = 11;
  g_autoptr (TsPipelineResult) a = pipeline_run_ok (p, &req);
  g_autoptr (TsPipelineResult) b = pipeline_run_ok (pv, &req);
  g_assert_cmpmem (a->tokens[0], 64 * 4, b->tokens[0], 64 * 4);
  int worst = 0;
  for (int i = 0; i < 128 * 128 * 3; i++)
    worst = MAX (worst, abs (a->images[0]->pixels[i] - b->images[0]->pixels[i]));
  g_assert_cmpint (worst, <=, 1);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/sampler/philox-kat", test_philox_kat);
  g_test_add_func ("/sampler/rng-keys", test_rng_keys);
  g_test_add_func ("/sampler/mask-len-table", test_mask_len_table);
  g_test_add_func ("/sampler/step-row", test_step_row);
  g_test_add_func ("/sampler/categorical", test_categorical);
  g_test_add_func ("/pipeline/determinism-variants", test_determinism_and_variants);
  g_test_add_func ("/pipeline/progress-cancel", test_progress_and_cancel);
  g_test_add_func ("/pipeline/inpaint-outside-unchanged", test_inpaint_outside_unchanged);
  g_test_add_func ("/pipeline/outpaint-background", test_outpaint_and_background);
  g_test_add_func ("/pipeline/restyle-edit", test_restyle_and_edit);
  g_test_add_func ("/pipeline/mode-table", test_mode_table);
  g_test_add_func ("/pipeline/bad-requests", test_bad_requests);
  g_test_add_func ("/pipeline/vulkan-same-tokens", test_vulkan_same_tokens);
  int rc = g_test_run ();
  pipeline_fixture_free ();
  return rc;
}
