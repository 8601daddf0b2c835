/* bench-models.c — the three networks at the real aMUSEd sizes, with random weights built in
 * memory (no model files needed): one text encode, one transformer forward at the guidance
 * batch of 2 (amused-256 and amused-512), one VQ decode at 256 and 512 px. Prints GFLOP/s
 * against the measured peak and the peak resident memory against the weights' size, with
 * the most tensor storage the backend held at once (on the CPU the weights are used in
 * place and not counted there; on Vulkan they are) and the page faults of one warm
 * call. The whole pipelines' peak memory comes first (bench-whole.c). Last, the VQ decode
 * with its weights at f32, bf16 and int8 timed in turns (vq_precision_*, the shipped model's
 * VQ and the real aMUSEd one; docs/cpu-precision.md). */
#include "bench.h"
#include "cpu/cpu-precision.h"
#include "model/ts-model-folder.h"
#include "model/ts-safetensors-writer.h"
#include "model/ts-weight-specs.h"
#include "model/ts-weights.h"
#include "nn/ts-clip.h"
#include "nn/ts-uvit.h"
#include "nn/ts-vqmodel.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

/* ---- random weights ---- */

typedef struct {
  guint64 seed, n;
  float   offset, scale;
} Fill;

static gboolean
fill_random (void *dst, size_t size, gpointer user_data, GError **error)
{
  const Fill *f = user_data;
  float *out = dst;
  guint64 s = f->seed;
  for (guint64 i = 0; i < f->n; i++) {
    s += 0x9E3779B97F4A7C15ull;
    guint64 z = s;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    out[i] = f->offset + f->scale * ((float) (z >> 40) / 8388608.0f - 1.0f);
  }
  return TRUE;
}

/* Weights for `specs`: norm weights near 1, everything else uniform with a 1/√fan-in scale so
 * activations stay in range through the depth. The file lives in memory. */
TsWeights *
bench_random_weights (const GPtrArray *specs, const char *label, GError **error)
{
  g_autoptr (TsSafetensorsWriter) w = ts_safetensors_writer_new ();
  for (guint i = 0; i < specs->len; i++) {
    const TsWeightSpec *s = specs->pdata[i];
    Fill *f = g_new0 (Fill, 1);
    f->seed = 1000 + i;
    f->n = 1;
    for (int d = 0; d < s->ndim; d++)
      f->n *= (guint64) s->shape[d];
    int64_t fan_in = s->ndim >= 2 ? f->n / s->shape[0] : 1;
    gboolean norm = s->ndim == 1 && (strstr (s->name, "norm") || strstr (s->name, "gamma"));
    f->offset = norm ? 1.0f : 0.0f;
    f->scale = s->ndim >= 2 ? 1.0f / sqrtf ((float) fan_in) : 0.05f;
    if (!ts_safetensors_writer_add_fill (w, s->name, TS_DTYPE_F32, s->ndim, s->shape,
                                         fill_random, f, g_free, error))
      return NULL;
  }
  g_autoptr (GBytes) bytes = ts_safetensors_writer_to_bytes (w, error);
  g_autoptr (TsSafetensors) st = bytes ? ts_safetensors_new_from_bytes (bytes, label, error) : NULL;
  return st ? ts_weights_new (&st, 1, label, error) : NULL;
}

/* ---- memory ---- */

double
bench_status_mib (const char *key)
{
  g_autofree char *text = NULL;
  if (!g_file_get_contents ("/proc/self/status", &text, NULL, NULL))
    return 0;
  const char *at = strstr (text, key);
  return at ? g_ascii_strtod (at + strlen (key) + 1, NULL) / 1024.0 : 0;
}

/* Returns the backend's cached memory to the system, then resets the kernel's peak-RSS mark
 * (VmHWM) and the backend's peak of tensor storage, so that each case is measured on its
 * own rather than on what the cases before it left behind. */
void
bench_reset_peaks (TsBackend *be)
{
  ts_backend_trim (be);
  FILE *f = fopen ("/proc/self/clear_refs", "w");
  if (f) {
    fputs ("5", f);
    fclose (f);
  }
  ts_backend_reset_memory_peak (be);
}

double
bench_tensor_peak_mib (TsBackend *be)
{
  guint64 used = 0, peak = 0;
  ts_backend_memory_usage (be, &used, &peak);
  return peak / 1048576.0;
}

/* ---- the models ---- */

void
bench_uvit_config (TsUVitConfig *c, gboolean is512, gboolean quick)
{
  ts_uvit_config_init (c);
  c->hidden_size = 1024;
  c->use_bias = FALSE;
  c->cond_embed_dim = 768;
  c->micro_cond_encode_dim = 256;
  c->micro_cond_embed_dim = 1280;
  c->encoder_hidden_size = 768;
  c->vocab_size = 8256;
  c->codebook_size = 8192;
  c->in_channels = 768;
  c->block_out_channels = 768;
  c->num_res_blocks = 3;
  c->downsample = c->upsample = is512;
  c->block_num_heads = 12;
  c->num_hidden_layers = quick ? 2 : 22;
  c->num_attention_heads = 16;
  c->intermediate_size = 2816;
  c->layer_norm_eps = 1e-6;
  c->ln_elementwise_affine = TRUE;
  c->sample_size = is512 ? 32 : 16;
}

void
bench_vq_config (TsVQConfig *c)
{
  ts_vq_config_init (c);
  const int64_t boc[5] = { 128, 256, 256, 512, 768 };
  c->in_channels = c->out_channels = 3;
  c->latent_channels = 64;
  c->n_blocks = 5;
  memcpy (c->block_out_channels, boc, sizeof boc);
  c->layers_per_block = 2;
  c->norm_num_groups = 32;
  c->num_vq_embeddings = 8192;
  c->vq_embed_dim = 64;
  c->mid_block_add_attention = FALSE;
  c->lookup_from_codebook = TRUE;
}

void
bench_clip_config (TsClipTextConfig *c, gboolean quick)
{
  ts_clip_text_config_init (c);
  c->vocab_size = 49408;
  c->hidden_size = 768;
  c->intermediate_size = 3072;
  c->projection_dim = 768;
  c->num_hidden_layers = quick ? 2 : 12;
  c->num_attention_heads = 12;
  c->max_position_embeddings = 77;
  c->hidden_act = TS_CLIP_ACT_QUICK_GELU;
  c->layer_norm_eps = 1e-5;
  c->eos_token_id = 2;
}

typedef struct {
  TsClipText *clip;
  TsUvit     *uvit;
  TsUvitCond *cond;
  TsVqModel  *vq;
  int32_t    *ids;
  int         batch, h, w;
} Run;

static gboolean
run_clip (TsBackend *be, gpointer data)
{
  Run *r = data;
  g_autoptr (TsTensor) hidden = NULL;
  g_autoptr (TsTensor) pooled = NULL;
  return ts_clip_text_encode (r->clip, r->ids, r->batch, 77, &hidden, &pooled, NULL);
}

static gboolean
run_uvit (TsBackend *be, gpointer data)
{
  Run *r = data;
  g_autoptr (TsTensor) logits = ts_uvit_forward (r->uvit, r->cond, r->ids, r->h, r->w, NULL);
  return logits != NULL;
}

static gboolean
run_vq (TsBackend *be, gpointer data)
{
  Run *r = data;
  g_autoptr (TsTensor) img = ts_vqmodel_decode (r->vq, r->ids, r->batch, r->h, r->w, NULL);
  return img != NULL;
}

/* Times fn, then counts its FLOPs (and where the time goes) with one profiled call after the
 * timed ones, when caches and memory pools are warm; prints JSON lines. */
static void
report (TsBackend *be, const BenchOptions *opt, const BenchPeak *peak, const char *name,
        gboolean (*fn) (TsBackend *, gpointer), Run *r, double weight_bytes)
{
  double s = bench_time (be, opt, fn, r);
  ts_backend_profile_reset (be);
  ts_backend_set_profiling (be, TRUE);
  struct rusage u0, u1;
  getrusage (RUSAGE_SELF, &u0);
  gboolean ok = s > 0 && fn (be, r) && ts_backend_sync (be, NULL);
  getrusage (RUSAGE_SELF, &u1);
  guint n = 0;
  g_autofree TsProfileEntry *prof = ts_backend_profile (be, &n);
  ts_backend_set_profiling (be, FALSE);
  double flops = 0;
  for (guint i = 0; i < n; i++)
    flops += prof[i].flops;
  g_autoptr (GError) error = NULL;
  if (!ok) {
    ts_backend_take_error (be, &error);
    g_autofree char *msg = g_strescape (error ? error->message : "failed", NULL);
    printf ("{\"bench\":\"model\",\"case\":\"%s\",\"error\":\"%s\"}\n", name, msg);
    return;
  }
  double peak_mib = bench_status_mib ("VmHWM:");
  gboolean cpu = ts_backend_kind (be) == TS_BACKEND_CPU;
  printf ("{\"bench\":\"model\",\"backend\":\"%s\",\"case\":\"%s\",\"batch\":%d,\"seconds\":%.4f,"
          "\"gflop\":%.2f,\"gflops\":%.1f,\"pct_of_peak\":%.1f,\"weights_mib\":%.0f,"
          "\"peak_rss_mib\":%.0f,\"rss_over_weights\":%.2f,\"tensor_peak_mib\":%.0f,"
          "\"warm_page_faults\":%ld%s}\n",
          cpu ? "cpu" : "vulkan", name, r->batch, s, flops * 1e-9, flops * 1e-9 / s,
          100.0 * flops * 1e-9 / s / peak->gflops, weight_bytes / 1048576.0, peak_mib,
          peak_mib * 1048576.0 / weight_bytes, bench_tensor_peak_mib (be),
          u1.ru_minflt - u0.ru_minflt,
          cpu ? "" : ",\"note\":\"host RSS only; device memory not measured\"");
  for (guint i = 0; i < n && i < 6; i++)
    printf ("{\"bench\":\"model-op\",\"case\":\"%s\",\"op\":\"%s\",\"count\":%" G_GUINT64_FORMAT
            ",\"seconds\":%.4f,\"gflops\":%.1f}\n", name, prof[i].name, prof[i].count,
            prof[i].seconds, prof[i].seconds > 0 ? prof[i].flops * 1e-9 / prof[i].seconds : 0.0);
  fflush (stdout);
}

static void
fail (const char *name, GError *error)
{
  g_autofree char *msg = g_strescape (error ? error->message : "failed", NULL);
  printf ("{\"bench\":\"model\",\"case\":\"%s\",\"error\":\"%s\"}\n", name, msg);
}

static gboolean
wanted (const BenchOptions *opt, const char *name)
{
  return !opt->filter || strstr (name, opt->filter);
}

static void
bench_clip (TsBackend *be, const BenchOptions *opt, const BenchPeak *peak)
{
  if (!wanted (opt, "text_encode"))
    return;
  bench_reset_peaks (be);
  g_autoptr (GError) error = NULL;
  TsClipTextConfig cfg;
  bench_clip_config (&cfg, opt->quick);
  g_autoptr (GPtrArray) specs = ts_clip_text_weight_specs (&cfg);
  g_autoptr (TsWeights) w = bench_random_weights (specs, "random text encoder", &error);
  g_autoptr (TsClipText) clip = w ? ts_clip_text_new (be, &cfg, w, opt->weights, &error) : NULL;
  if (!clip)
    return fail ("text_encode", error);
  int32_t ids[2 * 77];
  for (int i = 0; i < 2 * 77; i++)
    ids[i] = i % 77 == 0 ? 49406 : i % 77 < 12 ? 320 + i : 49407;
  Run r = { .clip = clip, .ids = ids, .batch = 2 };
  report (be, opt, peak, "text_encode", run_clip, &r, ts_clip_text_weight_bytes (clip));
}

static void
bench_uvit (TsBackend *be, const BenchOptions *opt, const BenchPeak *peak, gboolean is512)
{
  const char *name = is512 ? "transformer_512" : "transformer_256";
  if (!wanted (opt, name))
    return;
  bench_reset_peaks (be);
  g_autoptr (GError) error = NULL;
  TsUVitConfig cfg;
  bench_uvit_config (&cfg, is512, opt->quick);
  g_autoptr (GPtrArray) specs = ts_uvit_weight_specs (&cfg);
  g_autoptr (TsWeights) w = bench_random_weights (specs, name, &error);
  g_autoptr (TsUvit) m = w ? ts_uvit_new (be, &cfg, w, opt->weights, &error) : NULL;
  if (!m)
    return fail (name, error);
  int64_t es[3] = { 2, 77, 768 }, ps[2] = { 2, 768 };
  g_autofree float *e = g_new (float, 2 * 77 * 768);
  for (int i = 0; i < 2 * 77 * 768; i++)
    e[i] = (float) ((i * 7919) % 2001 - 1000) * 1e-3f;
  g_autoptr (TsTensor) et = ts_tensor_new_f32 (be, 3, es, e);
  g_autoptr (TsTensor) pt = ts_tensor_new_f32 (be, 2, ps, e);
  float micro[10] = { 256, 256, 0, 0, 6, 256, 256, 0, 0, 6 };
  g_autoptr (TsUvitCond) cond = ts_uvit_cond_new (m, et, pt, micro, &error);
  if (!cond)
    return fail (name, error);
  int side = (int) cfg.sample_size;
  g_autofree int32_t *ids = g_new (int32_t, 2 * side * side);
  for (int i = 0; i < 2 * side * side; i++)
    ids[i] = i % 3 ? 8255 : (i * 131) % 8192;
  Run r = { .uvit = m, .cond = cond, .ids = ids, .batch = 2, .h = side, .w = side };
  report (be, opt, peak, name, run_uvit, &r, ts_uvit_weight_bytes (m));
}

static void
bench_vq (TsBackend *be, const BenchOptions *opt, const BenchPeak *peak, int px)
{
  g_autofree char *name = g_strdup_printf ("vq_decode_%d", px);
  if (!wanted (opt, name))
    return;
  bench_reset_peaks (be);
  g_autoptr (GError) error = NULL;
  TsVQConfig cfg;
  bench_vq_config (&cfg);
  g_autoptr (GPtrArray) specs = ts_vq_weight_specs (&cfg);
  g_autoptr (TsWeights) w = bench_random_weights (specs, name, &error);
  g_autoptr (TsVqModel) m = w ? ts_vqmodel_new (be, &cfg, w, &error) : NULL;
  if (!m)
    return fail (name, error);
  int side = px / 16;
  g_autofree int32_t *ids = g_new (int32_t, side * side);
  for (int i = 0; i < side * side; i++)
    ids[i] = (i * 2654435761u) % 8192;
  Run r = { .vq = m, .ids = ids, .batch = 1, .h = side, .w = side };
  report (be, opt, peak, name, run_vq, &r, ts_vqmodel_weight_bytes (m));
}

/* ---- the VQ decode at reduced precision ---- */

static const TsPrecision vq_precisions[3] = { TS_PRECISION_F32, TS_PRECISION_BF16,
                                              TS_PRECISION_INT8 };

static int
compare_seconds (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return x < y ? -1 : x > y;
}

/* The same decode through models[p] (weights at vq_precisions[p]), timed in turns: one call
 * of each per round, so that a shared machine's slow moments fall on all three alike. The
 * first call of each (packing its weights) is not timed. One JSON line per precision: the
 * median, its ratio to f32's, and the sgemm peak measured at start-up beside it. */
#define VQ_ROUNDS_MAX 64

static void
vq_precision_report (TsBackend *be, const BenchOptions *opt, const BenchPeak *peak,
                     const char *name, TsVqModel *const models[3], int32_t *ids, int side)
{
  Run r[3];
  double samples[3][VQ_ROUNDS_MAX];
  for (int p = 0; p < 3; p++) {
    r[p] = (Run) { .vq = models[p], .ids = ids, .batch = 1, .h = side, .w = side };
    if (!run_vq (be, &r[p]) || !ts_backend_sync (be, NULL)) {
      g_autoptr (GError) error = NULL;
      ts_backend_take_error (be, &error);
      return fail (name, error);
    }
  }
  int rounds = 0;
  gint64 begin = g_get_monotonic_time ();
  while (rounds < VQ_ROUNDS_MAX && rounds < opt->max_reps) {
    for (int p = 0; p < 3; p++) {
      gint64 t0 = g_get_monotonic_time ();
      if (!run_vq (be, &r[p]) || !ts_backend_sync (be, NULL))
        return fail (name, NULL);
      samples[p][rounds] = (g_get_monotonic_time () - t0) * 1e-6;
    }
    rounds++;
    if ((g_get_monotonic_time () - begin) * 1e-6 >= 3 * opt->min_seconds && rounds >= 3)
      break;
  }
  double median[3];
  for (int p = 0; p < 3; p++) {
    qsort (samples[p], rounds, sizeof (double), compare_seconds);
    median[p] = samples[p][rounds / 2];
  }
  for (int p = 0; p < 3; p++) {
    const char *kernel = p == 0 ? "f32 (sgemm)"
                       : vq_precisions[p] == TS_PRECISION_BF16 ? ts_cpu_bf16_kernel_name ()
                                                               : ts_cpu_int8_kernel_name ();
    printf ("{\"bench\":\"vq-precision\",\"case\":\"%s\",\"pixels\":%d,\"precision\":\"%s\","
            "\"seconds\":%.4f,\"min_seconds\":%.4f,\"max_seconds\":%.4f,\"ratio_vs_f32\":%.3f,"
            "\"rounds\":%d,\"sgemm_peak_gflops\":%.1f,\"kernel\":\"%s\"}\n",
            name, side * 16, ts_precision_name (vq_precisions[p]), median[p], samples[p][0],
            samples[p][rounds - 1], median[p] / median[0], rounds, peak->gflops, kernel);
  }
  fflush (stdout);
}

/* Reports the three models' decode of one side² token grid (spread over the codebook), or
 * the error that stopped their loading, and frees them. */
static void
vq_precision_finish (TsBackend *be, const BenchOptions *opt, const BenchPeak *peak,
                     const char *name, TsVqModel *models[3], const TsVQConfig *cfg, int side,
                     GError *error)
{
  if (error) {
    fail (name, error);
  } else {
    g_autofree int32_t *ids = g_new (int32_t, side * side);
    for (int i = 0; i < side * side; i++)
      ids[i] = (int32_t) ((i * 2654435761u) % (guint32) cfg->num_vq_embeddings);
    vq_precision_report (be, opt, peak, name, models, ids, side);
  }
  for (int p = 0; p < 3; p++)
    g_clear_pointer (&models[p], ts_vqmodel_free);
}

/* The shipped model's VQ (data/models/tessera-emoji-128) decoding one 128² picture. */
static void
bench_vq_precision_shipped (TsBackend *be, const BenchOptions *opt, const BenchPeak *peak)
{
  const char *name = "vq_precision_shipped";
  if (!wanted (opt, name) || ts_backend_kind (be) != TS_BACKEND_CPU)
    return;
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_build_filename (TESSERA_SOURCE_DIR, "data", "models",
                                           "tessera-emoji-128", "vqvae", NULL);
  TsVqModel *models[3] = { NULL, NULL, NULL };
  TsVQConfig cfg;
  for (int p = 0; p < 3 && !error; p++) {
    g_autoptr (TsWeights) w = ts_vq_open (dir, NULL, &cfg, &error);
    if (w) {
      ts_weights_set_precision (w, vq_precisions[p]);
      models[p] = ts_vqmodel_new (be, &cfg, w, &error);
    }
  }
  vq_precision_finish (be, opt, peak, name, models, &cfg, 8, error);
}

/* The real aMUSEd VQ (random weights) at px² pixels. */
static void
bench_vq_precision (TsBackend *be, const BenchOptions *opt, const BenchPeak *peak, int px)
{
  g_autofree char *name = g_strdup_printf ("vq_precision_%d", px);
  if (!wanted (opt, name) || ts_backend_kind (be) != TS_BACKEND_CPU)
    return;
  g_autoptr (GError) error = NULL;
  TsVQConfig cfg;
  bench_vq_config (&cfg);
  g_autoptr (GPtrArray) specs = ts_vq_weight_specs (&cfg);
  TsVqModel *models[3] = { NULL, NULL, NULL };
  for (int p = 0; p < 3 && !error; p++) {
    g_autoptr (TsWeights) w = bench_random_weights (specs, name, &error);
    if (w) {
      ts_weights_set_precision (w, vq_precisions[p]);
      models[p] = ts_vqmodel_new (be, &cfg, w, &error);
    }
  }
  vq_precision_finish (be, opt, peak, name, models, &cfg, px / 16, error);
}

int
bench_models (TsBackend *be, const BenchOptions *opt, const BenchPeak *peak)
{
  /* The whole pipelines first, while the backend's memory is as fresh as an editor's. */
  bench_whole_pipeline (be, opt, FALSE);
  if (!opt->quick)
    bench_whole_pipeline (be, opt, TRUE);
  bench_clip (be, opt, peak);
  bench_uvit (be, opt, peak, FALSE);
  bench_uvit (be, opt, peak, TRUE);
  bench_vq (be, opt, peak, opt->quick ? 64 : 256);
  if (!opt->quick)
    bench_vq (be, opt, peak, 512);
  bench_vq_precision_shipped (be, opt, peak);
  bench_vq_precision (be, opt, peak, opt->quick ? 64 : 256);
  bench_matmul_precision (be, opt, peak);
  return 0;
}
