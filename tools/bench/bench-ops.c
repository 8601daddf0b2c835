/* bench-ops.c — every op at the shapes of amused-256, timed per backend: the calls of the
 * shared op cases (compute/ts-op-cases.c) at model-size inputs, their work counted by the op
 * table's model. Compute-bound ops are reported against the sgemm peak, memory-bound ops
 * against the copy bandwidth. */
#include "bench.h"

#include <stdio.h>
#include <string.h>

typedef enum { BOUND_COMPUTE, BOUND_MEMORY } Bound;

/* A call of the shared op cases (compute/ts-op-cases.c) at a model-size shape. */
typedef struct _Case Case;
struct _Case {
  const char   *name;     /* as printed */
  const char   *shape;    /* as printed */
  const char   *op_case;  /* the shared case whose call this times */
  Bound         bound;
  TsOpCaseInput inputs[3];
};

typedef struct {
  const TsOpCase *op_case;
  TsTensor       *in[3];
} Running;

#define IN(dt, ...) { G_N_ELEMENTS (((int64_t[]) { __VA_ARGS__ })), { __VA_ARGS__ }, TS_DTYPE_##dt }

/* amused-256 at the guidance batch of 2: 2×256 image tokens, 77 text tokens, VQ decoder at
 * 256² output. */
static const Case full_cases[] = {
  { "linear", "512x1024x1024", "linear f32", BOUND_COMPUTE, { IN (F32, 512, 1024), IN (F32, 1024, 1024) } },
  { "linear", "512x1024x5632", "linear f32", BOUND_COMPUTE, { IN (F32, 512, 1024), IN (F32, 5632, 1024) } },
  { "linear", "512x2816x1024", "linear f32", BOUND_COMPUTE, { IN (F32, 512, 2816), IN (F32, 1024, 2816) } },
  { "linear", "77x768x3072", "linear f32", BOUND_COMPUTE, { IN (F32, 77, 768), IN (F32, 3072, 768) } },
  { "linear_f16w", "512x1024x5632", "linear f32", BOUND_COMPUTE, { IN (F32, 512, 1024), IN (F16, 5632, 1024) } },
  { "linear_bf16w", "512x1024x1024", "linear f32", BOUND_COMPUTE, { IN (F32, 512, 1024), IN (BF16, 1024, 1024) } },
  { "attention", "2x256q x77k x16h x64", "attention", BOUND_COMPUTE, { IN (F32, 2, 256, 16, 64), IN (F32, 2, 77, 16, 64), IN (F32, 2, 77, 16, 64) } },
  { "attention", "2x256q x256k x16h x64", "attention", BOUND_COMPUTE, { IN (F32, 2, 256, 16, 64), IN (F32, 2, 256, 16, 64), IN (F32, 2, 256, 16, 64) } },
  { "attention_causal", "1x77q x77k x12h x64", "attention causal", BOUND_COMPUTE, { IN (F32, 1, 77, 12, 64), IN (F32, 1, 77, 12, 64), IN (F32, 1, 77, 12, 64) } },
  { "conv2d_3x3", "256->256 @128x128", "conv2d 3x3", BOUND_COMPUTE, { IN (F32, 1, 256, 128, 128), IN (F32, 256, 256, 3, 3), IN (F32, 256) } },
  { "conv2d_3x3", "128->128 @256x256", "conv2d 3x3", BOUND_COMPUTE, { IN (F32, 1, 128, 256, 256), IN (F32, 128, 128, 3, 3), IN (F32, 128) } },
  { "conv2d_3x3", "768->768 @16x16", "conv2d 3x3", BOUND_COMPUTE, { IN (F32, 1, 768, 16, 16), IN (F32, 768, 768, 3, 3), IN (F32, 768) } },
  { "conv2d_3x3_s2", "128->128 @256x256", "conv2d 3x3 stride 2", BOUND_COMPUTE, { IN (F32, 1, 128, 256, 256), IN (F32, 128, 128, 3, 3), IN (F32, 128) } },
  { "conv2d_1x1", "2x768->768 @16x16", "conv2d 1x1", BOUND_COMPUTE, { IN (F32, 2, 768, 16, 16), IN (F32, 768, 768, 1, 1), IN (F32, 768) } },
  { "conv2d_1x1", "2x768->8192 @16x16", "conv2d 1x1", BOUND_COMPUTE, { IN (F32, 2, 768, 16, 16), IN (F32, 8192, 768, 1, 1), IN (F32, 8192) } },
  { "conv_transpose_2x2", "2x768->768 @16x16", "conv_transpose_2x2", BOUND_COMPUTE, { IN (F32, 2, 768, 16, 16), IN (F32, 768, 768, 2, 2) } },
  { "nearest_code", "256x64 vs 8192", "nearest_code", BOUND_COMPUTE, { IN (F32, 256, 64), IN (F32, 8192, 64) } },
  { "conv2d_depthwise", "2x768 @16x16", "conv2d depthwise", BOUND_MEMORY, { IN (F32, 2, 768, 16, 16), IN (F32, 768, 1, 3, 3) } },
  { "add", "16M", "add broadcast", BOUND_MEMORY, { IN (F32, 4096, 4096), IN (F32, 4096, 4096) } },
  { "mul_broadcast", "2x256x1024 * 2x1x1024", "mul broadcast", BOUND_MEMORY, { IN (F32, 2, 256, 1024), IN (F32, 2, 1, 1024) } },
  { "silu", "16M", "silu", BOUND_MEMORY, { IN (F32, 16777216) } },
  { "gelu", "512x11264", "gelu", BOUND_MEMORY, { IN (F32, 512, 11264) } },
  { "geglu", "512x5632", "geglu", BOUND_MEMORY, { IN (F32, 512, 5632) } },
  { "softmax", "32x256x77", "softmax", BOUND_MEMORY, { IN (F32, 8192, 77) } },
  { "softmax", "512x8192", "softmax", BOUND_MEMORY, { IN (F32, 512, 8192) } },
  { "layer_norm", "512x1024", "layer_norm", BOUND_MEMORY, { IN (F32, 512, 1024), IN (F32, 1024) } },
  { "rms_norm", "512x1024", "rms_norm", BOUND_MEMORY, { IN (F32, 512, 1024), IN (F32, 1024) } },
  { "group_norm", "1x256x128x128 g32", "group_norm", BOUND_MEMORY, { IN (F32, 1, 256, 128, 128), IN (F32, 256), IN (F32, 256) } },
  { "global_response_norm", "2x16x16x3072", "global_response_norm", BOUND_MEMORY, { IN (F32, 2, 16, 16, 3072), IN (F32, 3072), IN (F32, 3072) } },
  { "upsample_nearest_2x", "1x256x128x128", "upsample_nearest_2x", BOUND_MEMORY, { IN (F32, 1, 256, 128, 128) } },
  { "copy_f16_to_f32", "16M", "copy f16 to f32", BOUND_MEMORY, { IN (F16, 4096, 4096) } },
  { "permute_nchw_nhwc", "1x256x128x128", "permute", BOUND_MEMORY, { IN (F32, 1, 256, 128, 128) } },
  { "embedding", "8256x768[512]", "embedding", BOUND_MEMORY, { IN (F32, 8256, 768), IN (I32, 512) } },
};

/* The same ops at shapes a software Vulkan device (about 1 GFLOP/s) gets through quickly. */
static const Case quick_cases[] = {
  { "linear", "128x256x256", "linear f32", BOUND_COMPUTE, { IN (F32, 128, 256), IN (F32, 256, 256) } },
  { "linear_f16w", "128x256x256", "linear f32", BOUND_COMPUTE, { IN (F32, 128, 256), IN (F16, 256, 256) } },
  { "attention", "1x64q x77k x4h x64", "attention", BOUND_COMPUTE, { IN (F32, 1, 64, 4, 64), IN (F32, 1, 77, 4, 64), IN (F32, 1, 77, 4, 64) } },
  { "conv2d_3x3", "32->32 @32x32", "conv2d 3x3", BOUND_COMPUTE, { IN (F32, 1, 32, 32, 32), IN (F32, 32, 32, 3, 3), IN (F32, 32) } },
  { "nearest_code", "64x64 vs 512", "nearest_code", BOUND_COMPUTE, { IN (F32, 64, 64), IN (F32, 512, 64) } },
  { "add", "1M", "add broadcast", BOUND_MEMORY, { IN (F32, 1024, 1024), IN (F32, 1024, 1024) } },
  { "silu", "1M", "silu", BOUND_MEMORY, { IN (F32, 1048576) } },
  { "softmax", "1024x77", "softmax", BOUND_MEMORY, { IN (F32, 1024, 77) } },
  { "layer_norm", "256x1024", "layer_norm", BOUND_MEMORY, { IN (F32, 256, 1024), IN (F32, 1024) } },
  { "group_norm", "1x64x32x32 g32", "group_norm", BOUND_MEMORY, { IN (F32, 1, 64, 32, 32), IN (F32, 64), IN (F32, 64) } },
  { "copy_f16_to_f32", "1M", "copy f16 to f32", BOUND_MEMORY, { IN (F16, 1024, 1024) } },
};

static int
case_n_inputs (const Case *c)
{
  int n = 0;
  while (n < 3 && c->inputs[n].ndim > 0)
    n++;
  return n;
}

static gboolean
run_once (TsBackend *be, gpointer data)
{
  Running *r = data;
  TsTensor *out = r->op_case->run (be, r->in);
  gboolean ok = out != NULL;
  ts_tensor_unref (out);
  return ok;
}

/* One call with profiling on: its FLOPs by the op table's model (ts_op_flops), whatever
 * ops the call is made of, and the bytes it must move at least (its inputs' and output's
 * storage: a broadcast input is read once). FALSE when it fails. */
static gboolean
probe_work (TsBackend *be, Running *r, int n_inputs, double *flops, double *bytes)
{
  ts_backend_profile_reset (be);
  ts_backend_set_profiling (be, TRUE);
  TsTensor *out = r->op_case->run (be, r->in);
  guint n = 0;
  g_autofree TsProfileEntry *prof = ts_backend_profile (be, &n);
  ts_backend_set_profiling (be, FALSE);
  ts_backend_profile_reset (be);
  *flops = 0;
  for (guint i = 0; i < n; i++)
    *flops += prof[i].flops;
  *bytes = out ? (double) ts_tensor_nbytes (out) : 0;
  for (int i = 0; i < n_inputs; i++)
    *bytes += r->in[i] ? (double) ts_tensor_nbytes (r->in[i]) : 0;
  gboolean ok = out != NULL && !ts_backend_has_error (be);
  ts_tensor_unref (out);
  return ok;
}

static gboolean
matches (const BenchOptions *opt, const Case *c)
{
  return !opt->filter || strstr (c->name, opt->filter);
}

static void
bench_case (TsBackend *be, const BenchOptions *opt, const BenchPeak *peak, const Case *c)
{
  Running r = { ts_op_case_find (c->op_case), { NULL } };
  g_assert (r.op_case != NULL); /* a row naming a case that does not exist */
  int n_inputs = case_n_inputs (c);
  for (int i = 0; i < n_inputs; i++) {
    g_autoptr (GRand) rand = g_rand_new_with_seed (i + 1);
    r.in[i] = ts_op_case_input (be, &c->inputs[i], rand);
  }
  double flops = 0, bytes = 0;
  gboolean probe = probe_work (be, &r, n_inputs, &flops, &bytes);

  double seconds = probe ? bench_time (be, opt, run_once, &r) : -1;
  const char *backend = ts_backend_kind (be) == TS_BACKEND_CPU ? "cpu" : "vulkan";
  if (seconds <= 0) {
    g_autoptr (GError) error = NULL;
    ts_backend_take_error (be, &error);
    g_autofree char *msg = g_strescape (error ? error->message : "failed", NULL);
    printf ("{\"bench\":\"op\",\"backend\":\"%s\",\"op\":\"%s\",\"shape\":\"%s\",\"error\":\"%s\"}\n",
            backend, c->name, c->shape, msg);
  } else if (c->bound == BOUND_COMPUTE) {
    double gflops = flops / seconds * 1e-9;
    printf ("{\"bench\":\"op\",\"backend\":\"%s\",\"op\":\"%s\",\"shape\":\"%s\",\"seconds\":%.6f,"
            "\"gflops\":%.2f,\"peak\":\"%s\",\"peak_ratio\":%.3f}\n",
            backend, c->name, c->shape, seconds, gflops, peak->compute_name, gflops / peak->gflops);
  } else {
    double gbps = bytes / seconds * 1e-9;
    printf ("{\"bench\":\"op\",\"backend\":\"%s\",\"op\":\"%s\",\"shape\":\"%s\",\"seconds\":%.6f,"
            "\"gbps\":%.2f,\"peak\":\"copy\",\"peak_ratio\":%.3f}\n",
            backend, c->name, c->shape, seconds, gbps, gbps / peak->gbytes_per_s);
  }
  fflush (stdout);
  for (int i = 0; i < n_inputs; i++)
    ts_tensor_unref (r.in[i]);
}

int
bench_ops (TsBackend *be, const BenchOptions *opt, const BenchPeak *peak)
{
  const Case *cases = opt->quick ? quick_cases : full_cases;
  guint n = opt->quick ? G_N_ELEMENTS (quick_cases) : G_N_ELEMENTS (full_cases);
  for (guint i = 0; i < n; i++)
    if (matches (opt, &cases[i]))
      bench_case (be, opt, peak, &cases[i]);
  return 0;
}
