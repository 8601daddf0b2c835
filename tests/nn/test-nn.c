/* test-nn.c — unit tests of the networks on the CPU backend: host-side helpers against naive
 * formulas, invariants of the forward passes (a prompt context reused across steps, batch rows
 * independent of each other), and clear errors for bad input. Uses the tiny models of the
 * goldens folder; skipped (with the reason) when it is missing. */
#include "nn-golden.h"
#include "nn/ts-clip.h"
#include "nn/ts-uvit.h"
#include "nn/ts-vqmodel.h"
#include "model/ts-model-folder.h"

#include <math.h>
#include <string.h>

static TsBackend *cpu;

static char *
tiny_dir (const char *component)
{
  g_autofree char *root = nn_tiny_model_dir (NULL);
  if (!root)
    return NULL;
  g_autofree char *dir = g_build_filename (root, component, NULL);
  return g_file_test (dir, G_FILE_TEST_IS_DIR) ? g_steal_pointer (&dir) : NULL;
}

#define NEED_TINY(dir, component)                                                      \
  g_autofree char *dir = tiny_dir (component);                                         \
  if (!dir) {                                                                          \
    g_test_skip ("no tiny model in the goldens folder (set TESSERA_GOLDENS)");        \
    return;                                                                            \
  }

static void
test_sinusoid (void)
{
  /* dim 256 as in aMUSEd; t up to 1024 (a width in pixels). */
  const float ts[] = { 0.0f, 6.0f, 256.0f, 1024.0f };
  float out[256];
  for (guint k = 0; k < G_N_ELEMENTS (ts); k++) {
    ts_nn_sinusoid_embedding (ts[k], 256, out);
    for (int j = 0; j < 128; j++) {
      double f = exp (-log (10000.0) * j / 128.0);
      /* float32 phases drift by ~|t|·2⁻²³ from the exact ones */
      double tol = 1e-6 + ts[k] * 3e-7;
      g_assert_cmpfloat_with_epsilon (out[j], cos (ts[k] * f), tol);
      g_assert_cmpfloat_with_epsilon (out[128 + j], sin (ts[k] * f), tol);
    }
  }
  ts_nn_sinusoid_embedding (0.0f, 8, out);
  for (int j = 0; j < 4; j++) {
    g_assert_cmpfloat (out[j], ==, 1.0f);
    g_assert_cmpfloat (out[4 + j], ==, 0.0f);
  }
}

static void
test_pool_position (void)
{
  TsClipTextConfig cfg;
  ts_clip_text_config_init (&cfg);
  int32_t ids[8] = { 49406, 320, 1125, 49407, 49407, 49407, 49407, 49407 };
  cfg.eos_token_id = 2; /* legacy: first position of the largest id */
  g_assert_cmpint (ts_clip_text_pool_position (&cfg, ids, 8), ==, 3);
  int32_t pad0[6] = { 49406, 320, 49407, 0, 0, 0 };
  g_assert_cmpint (ts_clip_text_pool_position (&cfg, pad0, 6), ==, 2);
  cfg.eos_token_id = 1125; /* newer configs: first occurrence of eos_token_id */
  g_assert_cmpint (ts_clip_text_pool_position (&cfg, ids, 8), ==, 2);
  cfg.eos_token_id = 7;
  g_assert_cmpint (ts_clip_text_pool_position (&cfg, ids, 8), ==, 0);
}

/* ---- U-ViT invariants ---- */

static TsUvitCond *
random_cond (TsUvit *m, int batch, guint32 seed)
{
  const TsUVitConfig *c = ts_uvit_config (m);
  GRand *rand = g_rand_new_with_seed (seed);
  int64_t es[3] = { batch, 77, c->encoder_hidden_size }, ps[2] = { batch, c->cond_embed_dim };
  g_autofree float *e = g_new (float, es[0] * es[1] * es[2]);
  g_autofree float *p = g_new (float, ps[0] * ps[1]);
  for (int64_t i = 0; i < es[0] * es[1] * es[2]; i++)
    e[i] = (float) g_rand_double_range (rand, -2, 2);
  for (int64_t i = 0; i < ps[0] * ps[1]; i++)
    p[i] = (float) g_rand_double_range (rand, -2, 2);
  float micro[4][5];
  for (int b = 0; b < batch && b < 4; b++) {
    float row[5] = { 128, 128, 0, 0, 6.0f - b };
    memcpy (micro[b], row, sizeof row);
  }
  g_rand_free (rand);
  g_autoptr (TsTensor) et = ts_tensor_new_f32 (cpu, 3, es, e);
  g_autoptr (TsTensor) pt = ts_tensor_new_f32 (cpu, 2, ps, p);
  g_autoptr (GError) error = NULL;
  TsUvitCond *cond = ts_uvit_cond_new (m, et, pt, &micro[0][0], &error);
  g_assert_no_error (error);
  return cond;
}

static float *
logits (TsUvit *m, TsUvitCond *cond, const int32_t *ids, int h, int w, int64_t *n)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (TsTensor) out = ts_uvit_forward (m, cond, ids, h, w, &error);
  g_assert_no_error (error);
  g_assert_cmpint (out->shape[3], ==, ts_uvit_config (m)->codebook_size);
  *n = ts_tensor_numel (out);
  return ts_tensor_read_f32 (out, NULL);
}

static void
test_uvit_context_reuse (void)
{
  NEED_TINY (dir, "transformer");
  g_autoptr (GError) error = NULL;
  g_autoptr (TsUvit) m = ts_uvit_new_from_folder (cpu, dir, TS_DTYPE_COUNT, &error);
  g_assert_no_error (error);
  g_autoptr (TsUvitCond) cond = random_cond (m, 3, 7);
  int32_t ids[3 * 4 * 6];
  for (guint i = 0; i < G_N_ELEMENTS (ids); i++)
    ids[i] = (int32_t) ((i * 37) % 72);
  int64_t n1, n2;
  g_autofree float *a = logits (m, cond, ids, 4, 6, &n1);
  g_autofree float *b = logits (m, cond, ids, 4, 6, &n2);
  g_assert_cmpint (n1, ==, n2);
  g_assert_cmpmem (a, n1 * 4, b, n2 * 4);  /* the context is not changed by a forward pass */

  /* Each row depends only on its own tokens and conditioning: change row 2's tokens and rows
   * 0 and 1 stay bit-identical while row 2 changes. */
  int32_t ids2[G_N_ELEMENTS (ids)];
  memcpy (ids2, ids, sizeof ids);
  for (int i = 2 * 24; i < 3 * 24; i++)
    ids2[i] = 71;
  g_autofree float *c = logits (m, cond, ids2, 4, 6, &n2);
  int64_t row = n1 / 3;
  g_assert_cmpmem (a, row * 2 * 4, c, row * 2 * 4);
  g_assert_true (memcmp (a + 2 * row, c + 2 * row, row * 4) != 0);
  for (int64_t i = 0; i < n1; i++)
    g_assert_true (isfinite (c[i]));
}

/* The configured norm epsilon reaches the norms: a large one changes every stage's output. */
static void
test_uvit_eps_used (void)
{
  NEED_TINY (dir, "transformer");
  g_autoptr (GError) error = NULL;
  TsUVitConfig cfg;
  g_autoptr (TsWeights) w = ts_uvit_open (dir, NULL, &cfg, &error);
  g_assert_no_error (error);
  g_autoptr (TsUvit) m = ts_uvit_new (cpu, &cfg, w, TS_DTYPE_COUNT, &error);
  cfg.layer_norm_eps = 0.5;
  g_autoptr (TsUvit) m_eps = ts_uvit_new (cpu, &cfg, w, TS_DTYPE_COUNT, &error);
  g_assert_no_error (error);
  g_autoptr (TsUvitCond) cond = random_cond (m, 1, 5);
  g_autoptr (TsUvitCond) cond_eps = random_cond (m_eps, 1, 5);
  int32_t ids[4 * 4];
  for (int i = 0; i < 16; i++)
    ids[i] = i * 3;
  int64_t n1, n2;
  g_autofree float *a = logits (m, cond, ids, 4, 4, &n1);
  g_autofree float *b = logits (m_eps, cond_eps, ids, 4, 4, &n2);
  double diff = 0;
  for (int64_t i = 0; i < n1; i++)
    diff = MAX (diff, fabs (a[i] - b[i]));
  g_test_message ("largest logit change from eps 1e-6 -> 0.5: %g", diff);
  g_assert_cmpfloat (diff, >, 1e-3);
}

static void
expect_error (GError *error, const char *fragment)
{
  g_assert_nonnull (error);
  g_assert_true (error->domain == TS_ERROR);
  g_test_message ("error: %s", error->message);
  g_assert_nonnull (strstr (error->message, fragment));
  g_assert_false (ts_backend_has_error (cpu));
}

static void
test_uvit_bad_input (void)
{
  NEED_TINY (dir, "transformer");
  g_autoptr (GError) error = NULL;
  g_autoptr (TsUvit) m = ts_uvit_new_from_folder (cpu, dir, TS_DTYPE_COUNT, &error);
  g_assert_no_error (error);
  g_autoptr (TsUvitCond) cond = random_cond (m, 1, 3);
  int32_t ids[6 * 6] = { 0 };
  ids[7] = 72; /* vocab_size */
  g_assert_null (ts_uvit_forward (m, cond, ids, 6, 6, &error));
  expect_error (error, "outside");
  g_clear_error (&error);
  ids[7] = -1;
  g_assert_null (ts_uvit_forward (m, cond, ids, 6, 6, &error));
  expect_error (error, "outside");
  g_clear_error (&error);
  ids[7] = 3;
  g_assert_null (ts_uvit_forward (m, cond, ids, 5, 6, &error)); /* odd, model downsamples */
  expect_error (error, "even");
  g_clear_error (&error);

  /* context inputs that do not fit the model */
  int64_t es[3] = { 2, 77, 24 }, ps[2] = { 3, 20 }, bad_es[3] = { 2, 77, 25 };
  g_autoptr (TsTensor) e = ts_tensor_new (cpu, TS_DTYPE_F32, 3, es);
  g_autoptr (TsTensor) p = ts_tensor_new (cpu, TS_DTYPE_F32, 2, ps);
  g_autoptr (TsTensor) e_bad = ts_tensor_new (cpu, TS_DTYPE_F32, 3, bad_es);
  float micro[15] = { 0 };
  g_assert_null (ts_uvit_cond_new (m, e, p, micro, &error));
  expect_error (error, "do not fit");
  g_clear_error (&error);
  g_assert_null (ts_uvit_cond_new (m, e_bad, p, micro, &error));
  expect_error (error, "do not fit");
}

/* Weights that do not fit the config: a shallower config than the file, and a wider one. */
static void
test_uvit_weights_mismatch (void)
{
  NEED_TINY (dir, "transformer");
  g_autoptr (GError) error = NULL;
  TsUVitConfig cfg;
  g_autoptr (TsWeights) w = ts_uvit_open (dir, NULL, &cfg, &error);
  g_assert_no_error (error);

  TsUVitConfig shallow = cfg;
  shallow.num_hidden_layers = 1;
  g_assert_null (ts_uvit_new (cpu, &shallow, w, TS_DTYPE_COUNT, &error));
  expect_error (error, "transformer_layers.1");
  g_clear_error (&error);

  TsUVitConfig wide = cfg;
  wide.intermediate_size = 48;
  g_assert_null (ts_uvit_new (cpu, &wide, w, TS_DTYPE_COUNT, &error));
  expect_error (error, "ff.net.0.proj.weight");
  g_clear_error (&error);

  TsUVitConfig no_resample = cfg;
  no_resample.downsample = no_resample.upsample = FALSE;
  g_assert_null (ts_uvit_new (cpu, &no_resample, w, TS_DTYPE_COUNT, &error));
  expect_error (error, "downsample");
  g_clear_error (&error);

  TsUVitConfig biased = cfg;
  biased.use_bias = TRUE;
  g_assert_null (ts_uvit_new (cpu, &biased, w, TS_DTYPE_COUNT, &error));
  g_assert_error (error, TS_ERROR, TS_ERROR_UNSUPPORTED);
}

static void
test_vq_bad_input (void)
{
  NEED_TINY (dir, "vqvae");
  g_autoptr (GError) error = NULL;
  g_autoptr (TsVqModel) m = ts_vqmodel_new_from_folder (cpu, dir, &error);
  g_assert_no_error (error);
  g_assert_cmpint (ts_vqmodel_scale (m), ==, 16);

  int32_t ids[4] = { 0, 1, 63, 64 };
  g_assert_null (ts_vqmodel_decode (m, ids, 1, 2, 2, &error));
  expect_error (error, "outside the codebook");
  g_clear_error (&error);
  ids[3] = 5;
  g_autoptr (TsTensor) ok = ts_vqmodel_decode (m, ids, 1, 2, 2, &error);
  g_assert_no_error (error);
  g_assert_cmpint (ok->shape[2], ==, 32);
  g_assert_cmpint (ok->shape[3], ==, 32);
  g_assert_null (ts_vqmodel_decode (m, ids, 1, 0, 2, &error));
  expect_error (error, "cannot decode");
  g_clear_error (&error);

  /* a size that is not a multiple of 16, and one too small for a single token */
  const int sizes[][2] = { { 24, 16 }, { 16, 40 }, { 8, 8 } };
  for (guint i = 0; i < G_N_ELEMENTS (sizes); i++) {
    int hh = sizes[i][0], ww = sizes[i][1];
    g_autofree float *px = g_new0 (float, 3 * hh * ww);
    int32_t out[8];
    g_assert_false (ts_vqmodel_encode_ids (m, px, 1, hh, ww, out, &error));
    expect_error (error, "multiples of 16");
    g_clear_error (&error);
  }
  /* wrong channel count */
  int64_t s2[4] = { 1, 2, 16, 16 };
  g_autoptr (TsTensor) two = ts_tensor_new (cpu, TS_DTYPE_F32, 4, s2);
  g_assert_null (ts_vqmodel_encode (m, two, &error));
  expect_error (error, "[B, 3, H, W]");
}

/* Encoding a decoded image gives back tokens, and pixels come back clamped to [0, 1]. */
static void
test_vq_decode_pixels (void)
{
  NEED_TINY (dir, "vqvae");
  g_autoptr (GError) error = NULL;
  g_autoptr (TsVqModel) m = ts_vqmodel_new_from_folder (cpu, dir, &error);
  g_assert_no_error (error);
  int32_t ids[2 * 3] = { 0, 9, 17, 33, 48, 63 };
  g_autofree float *px = ts_vqmodel_decode_pixels (m, ids, 1, 2, 3, &error);
  g_assert_no_error (error);
  g_autoptr (TsTensor) raw = ts_vqmodel_decode (m, ids, 1, 2, 3, &error);
  g_autofree float *r = ts_tensor_read_f32 (raw, &error);
  int64_t n = ts_tensor_numel (raw), clamped = 0;
  g_assert_cmpint (n, ==, 3 * 32 * 48);
  for (int64_t i = 0; i < n; i++) {
    g_assert_cmpfloat (px[i], >=, 0.0f);
    g_assert_cmpfloat (px[i], <=, 1.0f);
    float want = r[i] < 0 ? 0 : r[i] > 1 ? 1 : r[i];
    g_assert_cmpfloat (px[i], ==, want);
    clamped += r[i] != want;
  }
  g_test_message ("%" G_GINT64_FORMAT " of %" G_GINT64_FORMAT " values clamped", clamped, n);
  int32_t back[6];
  g_assert_true (ts_vqmodel_encode_ids (m, px, 1, 32, 48, back, &error));
  g_assert_no_error (error);
  for (int i = 0; i < 6; i++) {
    g_assert_cmpint (back[i], >=, 0);
    g_assert_cmpint (back[i], <, 64);
  }
}

static void
test_clip_bad_input (void)
{
  NEED_TINY (dir, "text_encoder");
  g_autoptr (GError) error = NULL;
  g_autoptr (TsClipText) clip = ts_clip_text_new_from_folder (cpu, dir, TS_DTYPE_COUNT, &error);
  g_assert_no_error (error);
  int32_t ids[78];
  for (int i = 0; i < 78; i++)
    ids[i] = i ? 49407 : 49406;
  TsTensor *h = NULL, *e = NULL;
  g_assert_false (ts_clip_text_encode (clip, ids, 1, 78, &h, &e, &error));
  expect_error (error, "1 to 77 tokens");
  g_clear_error (&error);
  ids[5] = 49408;
  g_assert_false (ts_clip_text_encode (clip, ids, 1, 77, &h, &e, &error));
  expect_error (error, "outside the vocabulary");
  g_clear_error (&error);
  g_assert_null (h);
  g_assert_null (e);

  /* A shorter sequence works and its states match the same prefix of a longer one (causal). */
  ids[5] = 320;
  g_autoptr (TsTensor) h77 = NULL;
  g_autoptr (TsTensor) h8 = NULL;
  g_assert_true (ts_clip_text_encode (clip, ids, 1, 77, &h77, NULL, &error));
  g_assert_true (ts_clip_text_encode (clip, ids, 1, 8, &h8, NULL, &error));
  g_autofree float *a = ts_tensor_read_f32 (h77, NULL);
  g_autofree float *b = ts_tensor_read_f32 (h8, NULL);
  int64_t d = h8->shape[2];
  for (int64_t i = 0; i < 8 * d; i++)
    g_assert_cmpfloat_with_epsilon (a[i], b[i], 1e-5);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_autoptr (GError) error = NULL;
  cpu = ts_backend_new_cpu (0, &error);
  g_assert_no_error (error);
  g_test_add_func ("/nn/sinusoid", test_sinusoid);
  g_test_add_func ("/nn/clip/pool-position", test_pool_position);
  g_test_add_func ("/nn/clip/bad-input", test_clip_bad_input);
  g_test_add_func ("/nn/uvit/context-reuse", test_uvit_context_reuse);
  g_test_add_func ("/nn/uvit/eps-used", test_uvit_eps_used);
  g_test_add_func ("/nn/uvit/bad-input", test_uvit_bad_input);
  g_test_add_func ("/nn/uvit/weights-mismatch", test_uvit_weights_mismatch);
  g_test_add_func ("/nn/vq/bad-input", test_vq_bad_input);
  g_test_add_func ("/nn/vq/decode-pixels", test_vq_decode_pixels);
  int rc = g_test_run ();
  ts_backend_free (cpu);
  return rc;
}
