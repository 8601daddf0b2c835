/* bench-whole.c — the peak resident memory of whole generations in one process, as the
 * pipeline runs them: the three networks loaded together (random f32 weights in memory),
 * a text encode of the guidance pair, transformer forwards at batch 2 with the logits read
 * back to the host, and the VQ decode of one image. Two generations, because an editor
 * generates again in the same process and what the first one leaves behind (memory kept
 * for reuse) counts as much as what it uses. Issue 4's target: peak RSS ≤ 1.2 × the
 * weights' size (the peer, PyTorch, peaks at 4.1 GiB for amused-256 in f32). */
#include "bench.h"
#include "model/ts-weight-specs.h"
#include "nn/ts-clip.h"
#include "nn/ts-uvit.h"
#include "nn/ts-vqmodel.h"

#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#define STEPS 2
#define RUNS 2
#define MASK_ID 8255
#define CODEBOOK 8192

typedef struct {
  TsWeights  *text_w, *uvit_w, *vq_w;
  TsClipText *clip;
  TsUvit     *uvit;
  TsVqModel  *vq;
  int         side;     /* token grid of the transformer */
  int         vq_side;  /* token grid decoded (smaller in quick runs) */
} Whole;

static void
whole_clear (Whole *w)
{
  g_clear_pointer (&w->vq, ts_vqmodel_free);
  g_clear_pointer (&w->uvit, ts_uvit_free);
  g_clear_pointer (&w->clip, ts_clip_text_free);
  g_clear_pointer (&w->vq_w, ts_weights_free);
  g_clear_pointer (&w->uvit_w, ts_weights_free);
  g_clear_pointer (&w->text_w, ts_weights_free);
}

static gboolean
whole_load (TsBackend *be, const BenchOptions *opt, gboolean is512, Whole *w, GError **error)
{
  TsClipTextConfig cc;
  TsUVitConfig uc;
  TsVQConfig vc;
  bench_clip_config (&cc, opt->quick);
  bench_uvit_config (&uc, is512, opt->quick);
  bench_vq_config (&vc);
  g_autoptr (GPtrArray) cs = ts_clip_text_weight_specs (&cc);
  g_autoptr (GPtrArray) us = ts_uvit_weight_specs (&uc);
  g_autoptr (GPtrArray) vs = ts_vq_weight_specs (&vc);
  if (!(w->text_w = bench_random_weights (cs, "random text encoder", error)) ||
      !(w->uvit_w = bench_random_weights (us, "random transformer", error)) ||
      !(w->vq_w = bench_random_weights (vs, "random VQ model", error)))
    return FALSE;
  w->clip = ts_clip_text_new (be, &cc, w->text_w, opt->weights, error);
  w->uvit = w->clip ? ts_uvit_new (be, &uc, w->uvit_w, opt->weights, error) : NULL;
  w->vq = w->uvit ? ts_vqmodel_new (be, &vc, w->vq_w, error) : NULL;
  w->side = (int) uc.sample_size;
  w->vq_side = opt->quick ? 4 : w->side;
  return w->vq != NULL;
}

static TsUvitCond *
encode (TsBackend *be, Whole *w, GError **error)
{
  int32_t ids[2 * 77];
  for (int i = 0; i < 2 * 77; i++)
    ids[i] = i % 77 == 0 ? 49406 : i % 77 < 12 ? 320 + i : 49407;
  g_autoptr (TsTensor) hidden = NULL;
  g_autoptr (TsTensor) pooled = NULL;
  if (!ts_clip_text_encode (w->clip, ids, 2, 77, &hidden, &pooled, error))
    return NULL;
  float micro[10] = { 256, 256, 0, 0, 6, 256, 256, 0, 0, 6 };
  return ts_uvit_cond_new (w->uvit, hidden, pooled, micro, error);
}

/* One generation; the tokens change between steps as sampling would change them. */
static gboolean
generate (TsBackend *be, Whole *w, GError **error)
{
  g_autoptr (TsUvitCond) cond = encode (be, w, error);
  if (!cond)
    return FALSE;
  int n = w->side * w->side;
  g_autofree int32_t *tokens = g_new (int32_t, 2 * n);
  for (int i = 0; i < 2 * n; i++)
    tokens[i] = MASK_ID;
  for (int step = 0; step < STEPS; step++) {
    g_autoptr (TsTensor) logits = ts_uvit_forward (w->uvit, cond, tokens, w->side, w->side, error);
    g_autofree float *host = logits ? ts_tensor_read_f32 (logits, error) : NULL;
    if (!host)
      return FALSE;
    for (int i = step; i < 2 * n; i += STEPS + 1)
      tokens[i] = (int32_t) ((guint32) (i * 2654435761u) % CODEBOOK);
  }
  for (int i = 0; i < n; i++)
    tokens[i] = (int32_t) ((guint32) (i * 2654435761u) % CODEBOOK);
  g_autofree float *pixels = ts_vqmodel_decode_pixels (w->vq, tokens, 1, w->vq_side, w->vq_side,
                                                       error);
  return pixels != NULL;
}

void
bench_whole_pipeline (TsBackend *be, const BenchOptions *opt, gboolean is512)
{
  const char *name = is512 ? "pipeline_512" : "pipeline_256";
  if (opt->filter && !strstr (name, opt->filter))
    return;
  g_autoptr (GError) error = NULL;
  Whole w = { 0 };
  gboolean ok = whole_load (be, opt, is512, &w, &error);
  double weights = 0, before = 0, seconds = 0;
  struct rusage u0 = { 0 }, u1 = { 0 };
  if (ok) {
    weights = (double) (ts_clip_text_weight_bytes (w.clip) + ts_uvit_weight_bytes (w.uvit) +
                        ts_vqmodel_weight_bytes (w.vq));
    bench_reset_peaks (be);
    before = bench_status_mib ("VmRSS:");
    getrusage (RUSAGE_SELF, &u0);
    gint64 t0 = g_get_monotonic_time ();
    for (int run = 0; ok && run < RUNS; run++)
      ok = generate (be, &w, &error);
    seconds = (g_get_monotonic_time () - t0) * 1e-6 / RUNS;
    getrusage (RUSAGE_SELF, &u1);
  }
  if (ok) {
    double peak = bench_status_mib ("VmHWM:");
    gboolean cpu = ts_backend_kind (be) == TS_BACKEND_CPU;
    printf ("{\"bench\":\"pipeline_memory\",\"backend\":\"%s\",\"case\":\"%s\",\"runs\":%d,"
            "\"steps\":%d,\"decode_px\":%d,\"seconds_per_run\":%.2f,\"weights_mib\":%.0f,"
            "\"rss_at_start_mib\":%.0f,\"peak_rss_mib\":%.0f,\"rss_over_weights\":%.2f,"
            "\"tensor_peak_mib\":%.0f,\"page_faults_per_run\":%ld%s}\n",
            cpu ? "cpu" : "vulkan", name, RUNS, STEPS, w.vq_side * ts_vqmodel_scale (w.vq),
            seconds, weights / 1048576.0, before, peak, peak * 1048576.0 / weights,
            bench_tensor_peak_mib (be), (u1.ru_minflt - u0.ru_minflt) / RUNS,
            cpu ? "" : ",\"note\":\"host RSS only; device memory not measured\"");
  } else {
    ts_backend_take_error (be, error ? NULL : &error); /* clears the sticky error either way */
    g_autofree char *msg = g_strescape (error ? error->message : "failed", NULL);
    printf ("{\"bench\":\"pipeline_memory\",\"case\":\"%s\",\"error\":\"%s\"}\n", name, msg);
  }
  fflush (stdout);
  whole_clear (&w);
}
