/* test-pipeline-goldens.c — every pipeline case of the goldens replayed with its recorded
 * uniforms: per step the guided logits, sampled ids, mask_len, masking and prev_sample; then
 * the final token map and images. CPU for all cases, Vulkan (lavapipe) for the small ones. */
#include "nn-golden.h"
#include "pipeline/ts-pipeline-private.h"

#include <math.h>
#include <string.h>

typedef struct {
  TsSafetensors *st;
  int            rows, h, w, K;
  NnTolerance    tol;
  /* mismatch counters, filled by the tap */
  int            bad_logits, bad_pred, bad_len, bad_masking, bad_prev, steps_seen;
} Replay;

static float *
step_f32 (Replay *r, int step, const char *what)
{
  g_autofree char *name = g_strdup_printf ("step%02d.%s", step, what);
  return nn_has (r->st, name) ? nn_read_f32 (r->st, name, NULL, NULL) : NULL;
}

/* U8 tensors (masks, 8-bit images) as stored. */
static guint8 *
read_u8 (TsSafetensors *st, const char *name, int64_t *shape)
{
  const TsSafetensorsTensor *info = ts_safetensors_lookup (st, name);
  g_assert_nonnull (info);
  g_assert_cmpint (info->dtype, ==, TS_DTYPE_U8);
  if (shape)
    for (int i = 0; i < info->ndim; i++)
      shape[i] = info->shape[i];
  return g_memdup2 (ts_safetensors_data (st, info), info->numel);
}

static int32_t *
step_i32 (Replay *r, int step, const char *what)
{
  g_autofree char *name = g_strdup_printf ("step%02d.%s", step, what);
  return nn_read_i32 (r->st, name, NULL, NULL);
}

/* The replay hook: the tape of the case instead of the counter generator. */
static void
replay_draws (TsDrawKind kind, int step, int row, guint64 seed, float *out, int64_t n,
              gpointer data)
{
  Replay *r = data;
  g_autofree float *tape = NULL;
  if (kind == TS_DRAW_ADD_NOISE)
    tape = nn_read_f32 (r->st, "add_noise_uniform", NULL, NULL);
  else
    tape = step_f32 (r, step, kind == TS_DRAW_MULTINOMIAL ? "multinomial_uniform"
                                                          : "gumbel_uniform");
  g_assert_nonnull (tape);
  memcpy (out, tape + (gsize) row * n, n * sizeof (float));
}

static void
replay_tap (int step, int row, const float *logits, const TsStepDetail *d, const int32_t *prev,
            gpointer data)
{
  Replay *r = data;
  int64_t L = (int64_t) r->h * r->w;
  r->steps_seen = MAX (r->steps_seen, step + 1);
  /* logits_cfg [B, K, h, w] against ours [L, K] */
  g_autofree float *ref = step_f32 (r, step, "logits_cfg");
  g_autofree float *mine = g_new (float, L * r->K), *theirs = g_new (float, L * r->K);
  for (int64_t i = 0; i < L; i++)
    for (int k = 0; k < r->K; k++) {
      mine[i * r->K + k] = logits[i * r->K + k];
      theirs[i * r->K + k] = ref[((gsize) row * r->K + k) * L + i];
    }
  NnCompare c = nn_compare (mine, theirs, L * r->K, r->tol);
  if (c.n_bad) {
    r->bad_logits++;
    g_test_message ("step %d row %d: logits_cfg off by %g", step, row, c.max_abs);
  }
  g_autofree int32_t *pred = step_i32 (r, step, "pred_original_sample");
  g_autofree int32_t *want = step_i32 (r, step, "prev_sample");
  for (int64_t i = 0; i < L; i++) {
    r->bad_pred += d->pred[i] != pred[row * L + i];
    r->bad_prev += prev[i] != want[row * L + i];
  }
  g_autofree float *len = step_f32 (r, step, "mask_len");
  g_autofree char *mname = g_strdup_printf ("step%02d.masking", step);
  g_autofree guint8 *masking = len ? read_u8 (r->st, mname, NULL) : NULL;
  if (len) {
    r->bad_len += *d->mask_len != len[row];
    for (int64_t i = 0; i < L; i++)
      r->bad_masking += d->masking[i] != (masking[row * L + i] != 0);
  }
}

static TsPipeline *
load (TsBackend *be, const char *transformer)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_build_filename (nn_goldens_dir (), "tiny-amused", NULL);
  TsPipeline *p = ts_pipeline_new (be, dir, &error);
  g_assert_no_error (error);
  if (transformer) {
    g_autofree char *tdir = g_build_filename (nn_goldens_dir (), transformer, NULL);
    ts_uvit_free (p->uvit);
    p->uvit = ts_uvit_new_from_folder (be, tdir, TS_DTYPE_COUNT, &error);
    g_assert_no_error (error);
  }
  return p;
}

static TsImage *
golden_image (TsSafetensors *st, const char *name, int channels)
{
  int64_t shape[4];
  g_autofree guint8 *f = read_u8 (st, name, shape);
  TsImage *im = ts_image_new ((int) shape[1], (int) shape[0], channels, NULL);
  for (gsize i = 0; i < ts_image_bytes (im); i++)
    im->pixels[i] = (guint8) f[i];
  return im;
}

/* Final tokens and images; `region` (may be NULL) limits the image comparison to the grown
 * mask (inpainting composites the rest from the input, which must then be unchanged). */
static void
check_final (Replay *r, TsPipeline *p, const TsPipelineResult *res, const TsImage *input,
             int out_w, int out_h)
{
  g_autofree int32_t *final = nn_read_i32 (r->st, "final_latents", NULL, NULL);
  int64_t L = (int64_t) r->h * r->w;
  int bad_tokens = 0;
  for (int b = 0; b < r->rows; b++)
    for (int64_t i = 0; i < L; i++)
      bad_tokens += res->tokens[b][i] != final[b * L + i];
  g_test_message ("steps %d; mismatches: logits %d, pred %d, mask_len %d, masking %d, "
                  "prev %d, final tokens %d", r->steps_seen, r->bad_logits, r->bad_pred,
                  r->bad_len, r->bad_masking, r->bad_prev, bad_tokens);
  g_assert_cmpint (r->bad_logits + r->bad_pred + r->bad_len + r->bad_masking + r->bad_prev, ==, 0);
  g_assert_cmpint (bad_tokens, ==, 0);

  /* Float images straight from the decoder, then the 8-bit outputs within ±1. */
  g_autoptr (GError) error = NULL;
  g_autofree float *dec = ts_vqmodel_decode_pixels (p->vq, final, r->rows, r->h, r->w, &error);
  g_assert_no_error (error);
  g_autofree float *ref = nn_read_f32 (r->st, "images", NULL, NULL);
  gsize plane = (gsize) out_w * out_h;
  g_autofree float *nhwc = g_new (float, plane * 3 * r->rows);
  for (int b = 0; b < r->rows; b++)
    for (gsize i = 0; i < plane; i++)
      for (int c = 0; c < 3; c++)
        nhwc[(b * plane + i) * 3 + c] = dec[(b * 3 + c) * plane + i];
  g_assert_true (nn_check ("images", nhwc, ref, plane * 3 * r->rows, r->tol));

  g_autofree guint8 *ref8 = read_u8 (r->st, "images_uint8", NULL);
  int worst = 0;
  gint64 changed_outside = 0;
  for (int b = 0; b < r->rows; b++)
    for (gsize i = 0; i < plane; i++) {
      gboolean inside = !res->grown_mask || res->grown_mask->pixels[i];
      for (int c = 0; c < 3; c++) {
        int got = res->images[b]->pixels[i * 3 + c];
        if (inside)
          worst = MAX (worst, abs (got - (int) ref8[(b * plane + i) * 3 + c]));
        else
          changed_outside += got != input->pixels[i * 3 + c];
      }
    }
  g_test_message ("images_uint8: largest difference %d", worst);
  g_assert_cmpint (worst, <=, 1);
  g_assert_cmpint (changed_outside, ==, 0);
}

static void
replay_init (Replay *r, JsonObject *c, int rows, int h, int w)
{
  g_autoptr (GError) error = NULL;
  memset (r, 0, sizeof *r);
  r->st = nn_case_open (c, &error);
  g_assert_no_error (error);
  r->rows = rows;
  r->h = h;
  r->w = w;
  r->K = 64;
  r->tol = nn_case_tolerance (c);
}

/* Runs a request through the public API with the tape and the tap (the tap is private: a
 * thin wrapper sets it through the request's draws_data). */
typedef struct {
  const char *name;
  const char *backend;
} CaseRun;

static TsBackend *
backend_or_skip (const CaseRun *cr)
{
  g_autofree char *reason = NULL;
  TsBackend *be = nn_backend_new (cr->backend, &reason);
  if (!be)
    g_test_skip (reason);
  return be;
}

static JsonObject *
case_or_skip (const char *name)
{
  g_autofree char *reason = NULL;
  NnManifest *m = nn_manifest_get (&reason);
  if (!m) {
    g_test_skip (reason);
    return NULL;
  }
  return nn_manifest_case (m, name);
}

static void
check_temperatures (Replay *r, const TsSchedule *s)
{
  g_autofree float *t = nn_read_f32 (r->st, "scheduler_temperatures", NULL, NULL);
  for (int i = 0; i < s->n_steps; i++)
    g_assert_cmpfloat (s->temperatures[i], ==, t[i]);
}

/* The private path: prompts per row (the b2 case has two prompts), the sampler loop with the
 * tap, decode. Used for every generate case so the tap sees each step. */
static void
test_generate (gconstpointer data)
{
  const CaseRun *cr = data;
  JsonObject *c = case_or_skip (cr->name);
  if (!c)
    return;
  g_autoptr (TsBackend) be = backend_or_skip (cr);
  if (!be)
    return;
  gboolean b2 = strstr (cr->name, "b2") != NULL, nocfg = strstr (cr->name, "nocfg") != NULL;
  int rows = b2 ? 2 : 1, h = 8, w = b2 ? 6 : 8, steps = b2 ? 4 : nocfg ? 5 : 6;
  Replay r;
  replay_init (&r, c, rows, h, w);
  g_autoptr (TsPipeline) p = load (be, nocfg ? "tiny-transformer-256path" : NULL);
  const char *prompts_b2[] = { "a blue car", "two cats on a sofa" };
  const char *neg_b2[] = { "blurry", "low quality" };
  const char *one[] = { nocfg ? "a lighthouse at dusk" : "a red apple on a wooden table" };
  TsCondRequest cond_req = { rows, b2 ? prompts_b2 : one, b2 ? neg_b2 : NULL,
                             b2 ? 4.0 : nocfg ? 1.0 : 10.0, w * 16, h * 16,
                             { b2 ? 16 : 0, b2 ? 8 : 0 }, b2 ? 5.0 : 6.0 };
  g_autoptr (GError) error = NULL;
  g_autoptr (TsUvitCond) cond = ts_pipeline_encode (p, &cond_req, &error);
  g_assert_no_error (error);
  float t0 = b2 ? 3 : nocfg ? 2.5f : 2, t1 = b2 ? 1 : nocfg ? 0.01f : 0;
  g_autoptr (TsSchedule) s = ts_schedule_new (steps, t0, t1, TS_MASKING_COSINE, p->mask_id,
                                              p->codebook_size);
  check_temperatures (&r, s);
  guint64 seeds[2] = { 0, 1 };
  TsSampleLoop l = { .schedule = s, .rows = rows, .h = h, .w = w,
                     .cfg = cond_req.guidance > 1, .guidance = (float) cond_req.guidance,
                     .starting_mask_ratio = 1, .seeds = seeds, .draws = replay_draws,
                     .draws_data = &r, .tap = replay_tap, .tap_data = &r };
  g_autofree int32_t *tokens = g_new (int32_t, rows * h * w);
  for (int i = 0; i < rows * h * w; i++)
    tokens[i] = p->mask_id;
  g_assert_true (ts_pipeline_sample (p, cond, &l, tokens, &error));
  g_assert_no_error (error);
  g_autoptr (TsPipelineResult) res = ts_pipeline_result_new (rows, w, h);
  TsImage **images = ts_pipeline_decode (p, tokens, rows, h, w, &error);
  g_assert_no_error (error);
  for (int b = 0; b < rows; b++) {
    res->images[b] = images[b];
    res->tokens[b] = g_memdup2 (tokens + b * h * w, h * w * 4);
  }
  g_free (images);
  check_final (&r, p, res, NULL, w * 16, h * 16);
  g_assert_cmpint (r.steps_seen, ==, steps);
  ts_safetensors_unref (r.st);
}

/* The public path for image-to-image and inpainting, with the tape as the draws hook and the
 * sampler checked step by step through the progress callback's token maps. */
typedef struct {
  Replay *r;
  int     bad;
} ProgressCheck;

static void
progress_check (const TsPipelineProgress *pr, gpointer data)
{
  ProgressCheck *pc = data;
  g_autofree int32_t *want = step_i32 (pc->r, pr->step - 1, "prev_sample");
  for (int i = 0; i < pr->n_rows * pr->token_width * pr->token_height; i++)
    pc->bad += pr->tokens[i] != want[i];
  pc->r->steps_seen = pr->step;
}

static void
test_edit_case (gconstpointer data)
{
  const CaseRun *cr = data;
  JsonObject *c = case_or_skip (cr->name);
  if (!c)
    return;
  g_autoptr (TsBackend) be = backend_or_skip (cr);
  if (!be)
    return;
  gboolean inpaint = g_str_has_prefix (cr->name, "inpaint");
  int h = inpaint ? 16 : 8, w = inpaint ? 16 : 6;
  Replay r;
  replay_init (&r, c, 1, h, w);
  g_autoptr (TsPipeline) p = load (be, NULL);
  g_autoptr (TsImage) image = golden_image (r.st, "input_image_uint8", 3);
  g_autoptr (TsImage) mask = inpaint ? golden_image (r.st, "mask_image_uint8", 1) : NULL;
  if (mask) /* the pipeline binarises at 0.5 */
    for (gsize i = 0; i < ts_image_bytes (mask); i++)
      mask->pixels[i] = mask->pixels[i] >= 128;
  TsPipelineRequest req;
  ts_pipeline_request_init (&req, inpaint ? TS_MODE_INPAINT : TS_MODE_RESTYLE);
  req.prompt = inpaint ? "a yellow sun" : "a watercolor painting of a house";
  req.steps = 6;
  req.image = image;
  req.mask = mask;
  req.feather = 0;
  req.max_work_size = 256; /* the upstream pipeline works at the image size */
  req.draws = replay_draws;
  req.draws_data = &r;
  ProgressCheck pc = { &r, 0 };
  req.progress = progress_check;
  req.progress_data = &pc;
  g_autoptr (GError) error = NULL;
  g_autoptr (TsPipelineResult) res = ts_pipeline_run (p, &req, &error);
  g_assert_no_error (error);
  g_test_message ("prev_sample mismatches over %d steps: %d", r.steps_seen, pc.bad);
  g_assert_cmpint (pc.bad, ==, 0);
  g_assert_cmpint (r.steps_seen, ==, inpaint ? 6 : 3);
  if (inpaint) { /* our grown mask equals the pipeline's token mask here (block-aligned) */
    g_autofree float *m = nn_read_f32 (r.st, "mask_latent_res", NULL, NULL);
    for (int i = 0; i < h * w; i++)
      g_assert_cmpint (res->grown_mask->pixels[(i / w) * 16 * 256 + (i % w) * 16] != 0, ==,
                       m[i] >= 0.5f);
  } else {
    g_autofree int32_t *ids = nn_read_i32 (r.st, "vq_indices_flat", NULL, NULL);
    g_autofree int32_t *mine = g_new (int32_t, h * w);
    g_autofree float *planar = ts_image_to_planar (image, NULL);
    g_assert_true (ts_vqmodel_encode_ids (p->vq, planar, 1, h * 16, w * 16, mine, &error));
    g_assert_cmpmem (mine, h * w * 4, ids, h * w * 4);
  }
  check_final (&r, p, res, image, w * 16, h * 16);
  ts_safetensors_unref (r.st);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  static const CaseRun gen[] = {
    { "generate_cfg_128x128", "cpu" },
    { "generate_b2_neg_128x96", "cpu" },
    { "generate_nocfg_256path_128x128", "cpu" },
    { "generate_cfg_128x128", "vulkan" },
  };
  static const CaseRun edit[] = {
    { "img2img_s05_96x128", "cpu" },
    { "inpaint_rect_256x256", "cpu" },
    { "img2img_s05_96x128", "vulkan" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (gen); i++) {
    g_autofree char *path = g_strdup_printf ("/pipeline-goldens/%s/%s", gen[i].backend,
                                             gen[i].name);
    g_test_add_data_func (path, &gen[i], test_generate);
  }
  for (guint i = 0; i < G_N_ELEMENTS (edit); i++) {
    g_autofree char *path = g_strdup_printf ("/pipeline-goldens/%s/%s", edit[i].backend,
                                             edit[i].name);
    g_test_add_data_func (path, &edit[i], test_edit_case);
  }
  return g_test_run ();
}
