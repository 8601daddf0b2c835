/* bench-parity.c — tessera-parity: how far the CPU's bf16 and int8 weights move the results
 * from exact f32 (docs/cpu-precision.md). Measures numbers, not time, so it means the same on
 * a busy machine. Prints JSON lines:
 *  - goldens' medium transformer cases (real widths, one layer): the logits' relative error
 *    against f32 and against the upstream reference, and the share of positions whose most
 *    likely token is unchanged;
 *  - a whole text-to-image run of a model folder (default: the shipped model), same seed:
 *    per step the logits' relative error and the share of sampled tokens equal to f32's,
 *    and the final image's PSNR against the f32 image;
 *  - the VQ decoder alone at reduced precision (its convolutions and linear layers): the
 *    same tokens decoded at f32 and at bf16/int8, PSNR against f32 — the goldens' medium VQ
 *    case (the published aMUSEd widths, random weights) and a generation of the model
 *    folder with only vq= reduced (the transformer's tokens are then f32's).
 * Usage: tessera-parity [--model DIR] [--seed N] [--steps N] [--prompt TEXT] [--no-goldens] */
#include "tessera.h"
#include "nn-golden.h"
#include "nn/ts-uvit.h"
#include "nn/ts-vqmodel.h"
#include "pipeline/ts-pipeline-testing.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static const TsPrecision reduced[] = { TS_PRECISION_BF16, TS_PRECISION_INT8 };

/* ‖got − ref‖ / ‖ref‖ in double. */
static double
rel_error (const float *got, const float *ref, int64_t n)
{
  double num = 0, den = 0;
  for (int64_t i = 0; i < n; i++) {
    double d = (double) got[i] - ref[i];
    num += d * d;
    den += (double) ref[i] * ref[i];
  }
  return den > 0 ? sqrt (num / den) : sqrt (num);
}

static int
argmax (const float *v, int64_t n)
{
  int best = 0;
  for (int64_t i = 1; i < n; i++)
    if (v[i] > v[best])
      best = (int) i;
  return best;
}

/* ---- goldens: medium transformer cases ---- */

static float *
medium_logits (TsBackend *be, JsonObject *c, TsSafetensors *st, TsPrecision prec,
               int64_t *n, GError **error)
{
  g_autofree char *json = nn_case_config_json (c);
  TsUVitConfig cfg;
  if (!ts_uvit_config_parse (json, strlen (json), "medium config", &cfg, error))
    return NULL;
  g_autoptr (TsWeights) w = nn_medium_weights (c, NULL, "medium transformer", error);
  if (!w)
    return NULL;
  ts_weights_set_precision (w, prec);
  g_autoptr (TsUvit) m = ts_uvit_new (be, &cfg, w, TS_DTYPE_COUNT, error);
  if (!m)
    return NULL;
  int ndim;
  int64_t ids_shape[8], ehs_shape[8], pooled_shape[8];
  g_autofree int32_t *ids = nn_read_i32 (st, "input_ids", &ndim, ids_shape);
  g_autofree float *ehs = nn_read_f32 (st, "encoder_hidden_states", &ndim, ehs_shape);
  g_autofree float *pooled = nn_read_f32 (st, "pooled_text_emb", &ndim, pooled_shape);
  g_autofree float *micro = nn_read_f32 (st, "micro_conds", NULL, NULL);
  g_autoptr (TsTensor) ehs_t = ts_tensor_new_f32 (be, 3, ehs_shape, ehs);
  g_autoptr (TsTensor) pooled_t = ts_tensor_new_f32 (be, 2, pooled_shape, pooled);
  g_autoptr (TsUvitCond) cond = ts_uvit_cond_new (m, ehs_t, pooled_t, micro, error);
  if (!cond)
    return NULL;
  g_autoptr (TsTensor) logits = ts_uvit_forward (m, cond, ids, (int) ids_shape[1],
                                                 (int) ids_shape[2], error);
  if (!logits)
    return NULL;
  *n = ts_tensor_numel (logits);
  return ts_tensor_read_f32 (logits, error);
}

static void
parity_goldens (TsBackend *be)
{
  g_autofree char *skip = NULL;
  NnManifest *man = nn_manifest_get (&skip);
  if (!man) {
    printf ("{\"parity\":\"goldens\",\"skipped\":\"%s\"}\n", skip ? skip : "no goldens");
    return;
  }
  static const char *const cases[] = { "medium_uvit256_shallow_8x8", "medium_uvit512_shallow_8x8" };
  for (guint ci = 0; ci < G_N_ELEMENTS (cases); ci++) {
    g_autoptr (GError) error = NULL;
    JsonObject *c = nn_manifest_case (man, cases[ci]);
    g_autoptr (TsSafetensors) st = c ? nn_case_open (c, &error) : NULL;
    if (!st) {
      printf ("{\"parity\":\"goldens\",\"case\":\"%s\",\"skipped\":\"missing\"}\n", cases[ci]);
      continue;
    }
    int64_t n = 0, lshape[8];
    int ndim;
    g_autofree float *ref = nn_read_f32 (st, "logits", &ndim, lshape);
    g_autofree float *ref_nhwc = nn_nchw_to_nhwc (ref, lshape[0], lshape[1], lshape[2] * lshape[3]);
    int64_t K = lshape[1], positions = lshape[0] * lshape[2] * lshape[3];
    g_autofree float *exact = medium_logits (be, c, st, TS_PRECISION_F32, &n, &error);
    if (!exact) {
      printf ("{\"parity\":\"goldens\",\"case\":\"%s\",\"error\":\"%s\"}\n", cases[ci],
              error->message);
      continue;
    }
    printf ("{\"parity\":\"goldens\",\"case\":\"%s\",\"precision\":\"f32\","
            "\"logits_rel_error_vs_upstream\":%.3g}\n", cases[ci], rel_error (exact, ref_nhwc, n));
    for (guint p = 0; p < G_N_ELEMENTS (reduced); p++) {
      g_autofree float *got = medium_logits (be, c, st, reduced[p], &n, &error);
      if (!got)
        continue;
      int64_t same = 0;
      for (int64_t i = 0; i < positions; i++)
        same += argmax (got + i * K, K) == argmax (exact + i * K, K);
      printf ("{\"parity\":\"goldens\",\"case\":\"%s\",\"precision\":\"%s\","
              "\"logits_rel_error\":%.3g,\"logits_rel_error_vs_upstream\":%.3g,"
              "\"argmax_same\":%.4f}\n", cases[ci], ts_precision_name (reduced[p]),
              rel_error (got, exact, n), rel_error (got, ref_nhwc, n),
              (double) same / positions);
    }
  }
}

/* ---- goldens: the medium VQ case ---- */

/* PSNR of two float pictures in [0, 1]. */
static double
psnr_unit (const float *a, const float *b, int64_t n)
{
  double se = 0;
  for (int64_t i = 0; i < n; i++) {
    double d = (double) a[i] - b[i];
    se += d * d;
  }
  return se == 0 ? INFINITY : 10 * log10 (n / se);
}

static float *
medium_vq_decode (TsBackend *be, JsonObject *c, TsPrecision prec, const int32_t *ids,
                  const int64_t *shape, int64_t *n, GError **error)
{
  g_autofree char *json = nn_case_config_json (c);
  TsVQConfig cfg;
  if (!ts_vq_config_parse (json, strlen (json), "medium config", &cfg, error))
    return NULL;
  g_autoptr (TsWeights) w = nn_medium_weights (c, NULL, "medium VQ", error);
  if (!w)
    return NULL;
  ts_weights_set_precision (w, prec);
  g_autoptr (TsVqModel) m = ts_vqmodel_new (be, &cfg, w, error);
  if (!m)
    return NULL;
  g_autoptr (TsTensor) out = ts_vqmodel_decode (m, ids, (int) shape[0], (int) shape[1],
                                                (int) shape[2], error);
  if (!out)
    return NULL;
  *n = ts_tensor_numel (out);
  return ts_tensor_read_f32 (out, error);
}

static void
parity_vq_goldens (TsBackend *be)
{
  g_autofree char *skip = NULL;
  NnManifest *man = nn_manifest_get (&skip);
  const char *name = "medium_vq_real_64x64";
  JsonObject *c = man ? nn_manifest_case (man, name) : NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (TsSafetensors) st = c ? nn_case_open (c, &error) : NULL;
  if (!st) {
    printf ("{\"parity\":\"vq-goldens\",\"case\":\"%s\",\"skipped\":\"missing\"}\n", name);
    return;
  }
  int ndim;
  int64_t shape[8], n = 0;
  g_autofree int32_t *ids = nn_read_i32 (st, "indices", &ndim, shape);
  g_autofree float *ref = nn_read_f32 (st, "decoded", NULL, NULL);
  g_autofree float *exact = medium_vq_decode (be, c, TS_PRECISION_F32, ids, shape, &n, &error);
  if (!exact) {
    printf ("{\"parity\":\"vq-goldens\",\"case\":\"%s\",\"error\":\"%s\"}\n", name,
            error->message);
    return;
  }
  g_autofree float *exact_px = g_new (float, n);
  for (int64_t i = 0; i < n; i++)
    exact_px[i] = CLAMP (exact[i], 0.0f, 1.0f);
  printf ("{\"parity\":\"vq-goldens\",\"case\":\"%s\",\"precision\":\"f32\","
          "\"decoded_rel_error_vs_upstream\":%.3g}\n", name, rel_error (exact, ref, n));
  for (guint p = 0; p < G_N_ELEMENTS (reduced); p++) {
    g_autofree float *got = medium_vq_decode (be, c, reduced[p], ids, shape, &n, &error);
    if (!got)
      continue;
    /* rel. error of the unclamped output; PSNR of the clamped pictures, peak 1 */
    double rel = rel_error (got, exact, n), maxd = 0;
    for (int64_t i = 0; i < n; i++) {
      maxd = MAX (maxd, fabs ((double) got[i] - exact[i]));
      got[i] = CLAMP (got[i], 0.0f, 1.0f);
    }
    printf ("{\"parity\":\"vq-goldens\",\"case\":\"%s\",\"precision\":\"%s\","
            "\"decoded_rel_error\":%.3g,\"decoded_max_abs_diff\":%.3g,\"psnr_db\":%.2f}\n",
            name, ts_precision_name (reduced[p]), rel, maxd, psnr_unit (got, exact_px, n));
  }
}

/* ---- a whole generation ---- */

typedef struct {
  GPtrArray *logits; /* float[L·K] per (step, row 0) */
  GPtrArray *tokens; /* int32[L] pred per step */
  int64_t    L, K;
} Trace;

static void
trace_step (int step, int row, const float *logits, const TsStepDetail *detail,
            const int32_t *prev, gpointer user_data)
{
  Trace *t = user_data;
  if (row != 0)
    return;
  g_ptr_array_add (t->logits, g_memdup2 (logits, sizeof (float) * t->L * t->K));
  g_ptr_array_add (t->tokens, g_memdup2 (detail->pred, sizeof (int32_t) * t->L));
}

static TsPipelineResult *
generate_with (TsBackend *be, const char *model, const TsPipelineLoadOptions *o,
               const TsPipelineRequest *req, Trace *t, GError **error)
{
  g_autoptr (TsPipeline) p = ts_pipeline_new_full (be, model, o, error);
  if (!p)
    return NULL;
  int tok = ts_pipeline_token_size (p), side = ts_pipeline_native_size (p);
  t->L = (int64_t) (side / tok) * (side / tok);
  t->K = ((TsPipeline *) p)->codebook_size;
  t->logits = g_ptr_array_new_with_free_func (g_free);
  t->tokens = g_ptr_array_new_with_free_func (g_free);
  TsPipelineTestHooks hooks = { .step = trace_step, .step_data = t };
  ts_pipeline_set_test_hooks (p, &hooks);
  TsPipelineResult *r = ts_pipeline_run (p, req, error);
  ts_pipeline_set_test_hooks (p, NULL);
  return r;
}

static TsPipelineResult *
generate (TsBackend *be, const char *model, TsPrecision prec, const TsPipelineRequest *req,
          Trace *t, GError **error)
{
  TsPipelineLoadOptions o = { prec, prec, prec };
  return generate_with (be, model, &o, req, t, error);
}

static void
trace_clear (Trace *t)
{
  g_clear_pointer (&t->logits, g_ptr_array_unref);
  g_clear_pointer (&t->tokens, g_ptr_array_unref);
}

static double
psnr (const TsImage *a, const TsImage *b)
{
  if (a->width != b->width || a->height != b->height)
    return NAN;
  double se = 0;
  int64_t n = (int64_t) a->width * a->height * a->channels;
  for (int64_t i = 0; i < n; i++) {
    double d = (double) a->pixels[i] - b->pixels[i];
    se += d * d;
  }
  return se == 0 ? INFINITY : 10 * log10 (255.0 * 255.0 * n / se);
}

static void
parity_model (TsBackend *be, const char *model, const char *prompt, guint64 seed, int steps)
{
  TsPipelineRequest req;
  ts_pipeline_request_init (&req, TS_MODE_GENERATE);
  req.prompt = prompt;
  req.seed = seed;
  if (steps > 0)
    req.steps = steps;
  g_autoptr (GError) error = NULL;
  Trace ref = { 0 };
  g_autoptr (TsPipelineResult) exact = generate (be, model, TS_PRECISION_F32, &req, &ref, &error);
  if (!exact) {
    printf ("{\"parity\":\"model\",\"model\":\"%s\",\"error\":\"%s\"}\n", model, error->message);
    return;
  }
  for (guint p = 0; p < G_N_ELEMENTS (reduced); p++) {
    Trace t = { 0 };
    g_autoptr (TsPipelineResult) r = generate (be, model, reduced[p], &req, &t, &error);
    if (!r)
      break;
    GString *errs = g_string_new (NULL), *same = g_string_new (NULL);
    for (guint s = 0; s < MIN (t.logits->len, ref.logits->len); s++) {
      int64_t eq = 0;
      const int32_t *a = t.tokens->pdata[s], *b = ref.tokens->pdata[s];
      for (int64_t i = 0; i < t.L; i++)
        eq += a[i] == b[i];
      g_string_append_printf (errs, "%s%.3g", s ? "," : "",
                              rel_error (t.logits->pdata[s], ref.logits->pdata[s], t.L * t.K));
      g_string_append_printf (same, "%s%.4f", s ? "," : "", (double) eq / t.L);
    }
    int64_t final_eq = 0;
    for (int64_t i = 0; i < (int64_t) r->token_width * r->token_height; i++)
      final_eq += r->tokens[0][i] == exact->tokens[0][i];
    g_autofree char *esc = g_strescape (prompt, NULL);
    printf ("{\"parity\":\"model\",\"model\":\"%s\",\"prompt\":\"%s\",\"seed\":%" G_GUINT64_FORMAT
            ",\"precision\":\"%s\",\"logits_rel_error_per_step\":[%s],"
            "\"tokens_same_per_step\":[%s],\"final_tokens_same\":%.4f,\"psnr_db\":%.2f}\n",
            model, esc, seed, ts_precision_name (reduced[p]), errs->str, same->str,
            (double) final_eq / (r->token_width * r->token_height),
            psnr (r->images[0], exact->images[0]));
    g_string_free (errs, TRUE);
    g_string_free (same, TRUE);
    g_ptr_array_unref (t.logits);
    g_ptr_array_unref (t.tokens);
  }
  /* the VQ alone at reduced precision: text encoder and transformer f32, so the tokens are
   * f32's and the picture differs by the decoder only */
  for (guint p = 0; p < G_N_ELEMENTS (reduced); p++) {
    Trace t = { 0 };
    TsPipelineLoadOptions o = { TS_PRECISION_F32, TS_PRECISION_F32, reduced[p] };
    g_autoptr (TsPipelineResult) r = generate_with (be, model, &o, &req, &t, &error);
    trace_clear (&t);
    if (!r)
      break;
    int64_t tokens = (int64_t) r->token_width * r->token_height, eq = 0;
    for (int64_t i = 0; i < tokens; i++)
      eq += r->tokens[0][i] == exact->tokens[0][i];
    printf ("{\"parity\":\"model-vq\",\"model\":\"%s\",\"seed\":%" G_GUINT64_FORMAT
            ",\"precision\":\"vq=%s\",\"tokens_same\":%.4f,\"psnr_db\":%.2f}\n",
            model, seed, ts_precision_name (reduced[p]), (double) eq / tokens,
            psnr (r->images[0], exact->images[0]));
  }
  g_ptr_array_unref (ref.logits);
  g_ptr_array_unref (ref.tokens);
}

int
main (int argc, char **argv)
{
  /* As the CLI: f32 references with the OpenBLAS kernels the product runs with */
  ts_process_reexec_if_needed (argv, TS_PROCESS_NONE);
  g_autofree char *model = NULL, *prompt = NULL;
  gint64 seed = 0;
  int steps = 0, seeds = 1;
  gboolean no_goldens = FALSE;
  GOptionEntry entries[] = {
    { "model", 'm', 0, G_OPTION_ARG_FILENAME, &model, "Model folder (default: the shipped model)", "DIR" },
    { "prompt", 'p', 0, G_OPTION_ARG_STRING, &prompt, "Prompt (default: a red apple)", "TEXT" },
    { "seed", 's', 0, G_OPTION_ARG_INT64, &seed, "First seed (0)", "N" },
    { "seeds", 0, 0, G_OPTION_ARG_INT, &seeds, "How many consecutive seeds (1)", "N" },
    { "steps", 0, 0, G_OPTION_ARG_INT, &steps, "Steps (the model's default)", "N" },
    { "no-goldens", 0, 0, G_OPTION_ARG_NONE, &no_goldens, "Skip the goldens' medium cases", NULL },
    { NULL }
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new (NULL);
  g_option_context_add_main_entries (ctx, entries, NULL);
  g_autoptr (GError) error = NULL;
  if (!g_option_context_parse (ctx, &argc, &argv, &error)) {
    fprintf (stderr, "tessera-parity: %s\n", error->message);
    return 2;
  }
  g_autoptr (TsBackend) be = ts_backend_new_cpu (0, &error);
  if (!be) {
    fprintf (stderr, "tessera-parity: %s\n", error->message);
    return 1;
  }
  g_autofree char *desc = ts_backend_describe (be);
  g_auto (GStrv) lines = g_strsplit (desc, "\n", -1);
  for (int i = 0; lines[i]; i++)
    if (strstr (lines[i], "kernels:")) {
      g_autofree char *esc = g_strescape (g_strstrip (lines[i]), NULL);
      printf ("{\"parity\":\"kernels\",\"line\":\"%s\"}\n", esc);
    }
  if (!no_goldens) {
    parity_goldens (be);
    parity_vq_goldens (be);
  }
  if (!model)
    model = g_build_filename (TESSERA_SOURCE_DIR, "data", "models", "tessera-emoji-128", NULL);
  for (int s = 0; s < seeds; s++)
    parity_model (be, model, prompt ? prompt : "a red apple", (guint64) seed + s, steps);
  return 0;
}
