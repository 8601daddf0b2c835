/* bench-ops.c — every op at the shapes of amused-256, timed per backend. Compute-bound ops
 * are reported against the sgemm peak, memory-bound ops against the copy bandwidth. */
#include "bench.h"

#include <stdio.h>
#include <string.h>

typedef enum { BOUND_COMPUTE, BOUND_MEMORY } Bound;

typedef struct {
  int     ndim;
  int64_t shape[4];
  TsDType dtype;
} Input;

typedef struct _Case Case;
struct _Case {
  const char *name;
  const char *shape;     /* as printed */
  Bound       bound;
  double      flops;     /* per call (compute-bound cases) */
  int         n_inputs;
  Input       inputs[3];
  TsTensor *(*run) (TsBackend *be, TsTensor **in);
};

typedef struct {
  const Case *c;
  TsTensor   *in[3];
} Running;

#define IN(dt, ...) { G_N_ELEMENTS (((int64_t[]) { __VA_ARGS__ })), { __VA_ARGS__ }, TS_DTYPE_##dt }

static TsTensor *run_linear (TsBackend *be, TsTensor **in) { return ts_linear (be, in[0], in[1], NULL); }
static TsTensor *run_attention (TsBackend *be, TsTensor **in) { return ts_attention (be, in[0], in[1], in[2], 0.125f, FALSE); }
static TsTensor *run_attention_causal (TsBackend *be, TsTensor **in) { return ts_attention (be, in[0], in[1], in[2], 0.125f, TRUE); }
static TsTensor *run_conv3 (TsBackend *be, TsTensor **in)
{
  TsConv2dParams p = { 1, 1, 1, 1, 1, 1, 1 };
  return ts_conv2d (be, in[0], in[1], in[2], &p);
}
static TsTensor *run_conv1 (TsBackend *be, TsTensor **in)
{
  TsConv2dParams p = { 1, 1, 0, 0, 0, 0, 1 };
  return ts_conv2d (be, in[0], in[1], in[2], &p);
}
static TsTensor *run_conv_down (TsBackend *be, TsTensor **in)
{
  TsConv2dParams p = { 2, 2, 0, 0, 1, 1, 1 };
  return ts_conv2d (be, in[0], in[1], in[2], &p);
}
static TsTensor *run_depthwise (TsBackend *be, TsTensor **in)
{
  TsConv2dParams p = { 1, 1, 1, 1, 1, 1, (int) in[0]->shape[1] };
  return ts_conv2d (be, in[0], in[1], NULL, &p);
}
static TsTensor *run_convt (TsBackend *be, TsTensor **in) { return ts_conv_transpose_2x2 (be, in[0], in[1], NULL); }
static TsTensor *run_nearest (TsBackend *be, TsTensor **in) { return ts_nearest_code (be, in[0], in[1]); }
static TsTensor *run_add (TsBackend *be, TsTensor **in) { return ts_add (be, in[0], in[1]); }
static TsTensor *run_mul_bcast (TsBackend *be, TsTensor **in) { return ts_mul (be, in[0], in[1]); }
static TsTensor *run_silu (TsBackend *be, TsTensor **in) { return ts_silu (be, in[0]); }
static TsTensor *run_gelu (TsBackend *be, TsTensor **in) { return ts_gelu (be, in[0]); }
static TsTensor *run_geglu (TsBackend *be, TsTensor **in) { return ts_geglu (be, in[0]); }
static TsTensor *run_softmax (TsBackend *be, TsTensor **in) { return ts_softmax (be, in[0]); }
static TsTensor *run_layer_norm (TsBackend *be, TsTensor **in) { return ts_layer_norm (be, in[0], in[1], NULL, 1e-6f); }
static TsTensor *run_rms_norm (TsBackend *be, TsTensor **in) { return ts_rms_norm (be, in[0], in[1], 1e-6f); }
static TsTensor *run_group_norm (TsBackend *be, TsTensor **in) { return ts_group_norm (be, in[0], 32, in[1], in[2], 1e-6f); }
static TsTensor *run_grn (TsBackend *be, TsTensor **in) { return ts_global_response_norm (be, in[0], in[1], in[2], 1e-6f); }
static TsTensor *run_upsample (TsBackend *be, TsTensor **in) { return ts_upsample_nearest_2x (be, in[0]); }
static TsTensor *run_copy (TsBackend *be, TsTensor **in) { return ts_copy (be, in[0], TS_DTYPE_F32); }
static TsTensor *run_permute (TsBackend *be, TsTensor **in)
{
  int perm[4] = { 0, 2, 3, 1 };
  return ts_permute (be, in[0], perm);
}
static TsTensor *run_embedding (TsBackend *be, TsTensor **in) { return ts_embedding (be, in[0], in[1]); }

#define GEMM(m, k, n) (2.0 * (m) * (k) * (n))

/* amused-256 at the guidance batch of 2: 2×256 image tokens, 77 text tokens, VQ decoder at
 * 256² output. */
static const Case full_cases[] = {
  { "linear", "512x1024x1024", BOUND_COMPUTE, GEMM (512, 1024, 1024), 2, { IN (F32, 512, 1024), IN (F32, 1024, 1024) }, run_linear },
  { "linear", "512x1024x5632", BOUND_COMPUTE, GEMM (512, 1024, 5632), 2, { IN (F32, 512, 1024), IN (F32, 5632, 1024) }, run_linear },
  { "linear", "512x2816x1024", BOUND_COMPUTE, GEMM (512, 2816, 1024), 2, { IN (F32, 512, 2816), IN (F32, 1024, 2816) }, run_linear },
  { "linear", "77x768x3072", BOUND_COMPUTE, GEMM (77, 768, 3072), 2, { IN (F32, 77, 768), IN (F32, 3072, 768) }, run_linear },
  { "linear_f16w", "512x1024x5632", BOUND_COMPUTE, GEMM (512, 1024, 5632), 2, { IN (F32, 512, 1024), IN (F16, 5632, 1024) }, run_linear },
  { "linear_bf16w", "512x1024x1024", BOUND_COMPUTE, GEMM (512, 1024, 1024), 2, { IN (F32, 512, 1024), IN (BF16, 1024, 1024) }, run_linear },
  { "attention", "2x256q x77k x16h x64", BOUND_COMPUTE, 2.0 * 2 * 16 * 256 * 77 * 128, 3, { IN (F32, 2, 256, 16, 64), IN (F32, 2, 77, 16, 64), IN (F32, 2, 77, 16, 64) }, run_attention },
  { "attention", "2x256q x256k x16h x64", BOUND_COMPUTE, 2.0 * 2 * 16 * 256 * 256 * 128, 3, { IN (F32, 2, 256, 16, 64), IN (F32, 2, 256, 16, 64), IN (F32, 2, 256, 16, 64) }, run_attention },
  { "attention_causal", "1x77q x77k x12h x64", BOUND_COMPUTE, 2.0 * 12 * 77 * 77 * 128 / 2, 3, { IN (F32, 1, 77, 12, 64), IN (F32, 1, 77, 12, 64), IN (F32, 1, 77, 12, 64) }, run_attention_causal },
  { "conv2d_3x3", "256->256 @128x128", BOUND_COMPUTE, GEMM (256, 256 * 9, 128 * 128), 3, { IN (F32, 1, 256, 128, 128), IN (F32, 256, 256, 3, 3), IN (F32, 256) }, run_conv3 },
  { "conv2d_3x3", "128->128 @256x256", BOUND_COMPUTE, GEMM (128, 128 * 9, 256 * 256), 3, { IN (F32, 1, 128, 256, 256), IN (F32, 128, 128, 3, 3), IN (F32, 128) }, run_conv3 },
  { "conv2d_3x3", "768->768 @16x16", BOUND_COMPUTE, GEMM (768, 768 * 9, 16 * 16), 3, { IN (F32, 1, 768, 16, 16), IN (F32, 768, 768, 3, 3), IN (F32, 768) }, run_conv3 },
  { "conv2d_3x3_s2", "128->128 @256x256", BOUND_COMPUTE, GEMM (128, 128 * 9, 128 * 128), 3, { IN (F32, 1, 128, 256, 256), IN (F32, 128, 128, 3, 3), IN (F32, 128) }, run_conv_down },
  { "conv2d_1x1", "2x768->768 @16x16", BOUND_COMPUTE, 2 * GEMM (768, 768, 256), 3, { IN (F32, 2, 768, 16, 16), IN (F32, 768, 768, 1, 1), IN (F32, 768) }, run_conv1 },
  { "conv2d_1x1", "2x768->8192 @16x16", BOUND_COMPUTE, 2 * GEMM (8192, 768, 256), 3, { IN (F32, 2, 768, 16, 16), IN (F32, 8192, 768, 1, 1), IN (F32, 8192) }, run_conv1 },
  { "conv_transpose_2x2", "2x768->768 @16x16", BOUND_COMPUTE, 2 * GEMM (768 * 4, 768, 256), 2, { IN (F32, 2, 768, 16, 16), IN (F32, 768, 768, 2, 2) }, run_convt },
  { "nearest_code", "256x64 vs 8192", BOUND_COMPUTE, 3.0 * 256 * 64 * 8192, 2, { IN (F32, 256, 64), IN (F32, 8192, 64) }, run_nearest },
  { "conv2d_depthwise", "2x768 @16x16", BOUND_MEMORY, 0, 2, { IN (F32, 2, 768, 16, 16), IN (F32, 768, 1, 3, 3) }, run_depthwise },
  { "add", "16M", BOUND_MEMORY, 0, 2, { IN (F32, 4096, 4096), IN (F32, 4096, 4096) }, run_add },
  { "mul_broadcast", "2x256x1024 * 2x1x1024", BOUND_MEMORY, 0, 2, { IN (F32, 2, 256, 1024), IN (F32, 2, 1, 1024) }, run_mul_bcast },
  { "silu", "16M", BOUND_MEMORY, 0, 1, { IN (F32, 16777216) }, run_silu },
  { "gelu", "512x11264", BOUND_MEMORY, 0, 1, { IN (F32, 512, 11264) }, run_gelu },
  { "geglu", "512x5632", BOUND_MEMORY, 0, 1, { IN (F32, 512, 5632) }, run_geglu },
  { "softmax", "32x256x77", BOUND_MEMORY, 0, 1, { IN (F32, 8192, 77) }, run_softmax },
  { "softmax", "512x8192", BOUND_MEMORY, 0, 1, { IN (F32, 512, 8192) }, run_softmax },
  { "layer_norm", "512x1024", BOUND_MEMORY, 0, 2, { IN (F32, 512, 1024), IN (F32, 1024) }, run_layer_norm },
  { "rms_norm", "512x1024", BOUND_MEMORY, 0, 2, { IN (F32, 512, 1024), IN (F32, 1024) }, run_rms_norm },
  { "group_norm", "1x256x128x128 g32", BOUND_MEMORY, 0, 3, { IN (F32, 1, 256, 128, 128), IN (F32, 256), IN (F32, 256) }, run_group_norm },
  { "global_response_norm", "2x16x16x3072", BOUND_MEMORY, 0, 3, { IN (F32, 2, 16, 16, 3072), IN (F32, 3072), IN (F32, 3072) }, run_grn },
  { "upsample_nearest_2x", "1x256x128x128", BOUND_MEMORY, 0, 1, { IN (F32, 1, 256, 128, 128) }, run_upsample },
  { "copy_f16_to_f32", "16M", BOUND_MEMORY, 0, 1, { IN (F16, 4096, 4096) }, run_copy },
  { "permute_nchw_nhwc", "1x256x128x128", BOUND_MEMORY, 0, 1, { IN (F32, 1, 256, 128, 128) }, run_permute },
  { "embedding", "8256x768[512]", BOUND_MEMORY, 0, 2, { IN (F32, 8256, 768), IN (I32, 512) }, run_embedding },
};

/* The same ops at shapes a software Vulkan device (about 1 GFLOP/s) gets through quickly. */
static const Case quick_cases[] = {
  { "linear", "128x256x256", BOUND_COMPUTE, GEMM (128, 256, 256), 2, { IN (F32, 128, 256), IN (F32, 256, 256) }, run_linear },
  { "linear_f16w", "128x256x256", BOUND_COMPUTE, GEMM (128, 256, 256), 2, { IN (F32, 128, 256), IN (F16, 256, 256) }, run_linear },
  { "attention", "1x64q x77k x4h x64", BOUND_COMPUTE, 2.0 * 4 * 64 * 77 * 128, 3, { IN (F32, 1, 64, 4, 64), IN (F32, 1, 77, 4, 64), IN (F32, 1, 77, 4, 64) }, run_attention },
  { "conv2d_3x3", "32->32 @32x32", BOUND_COMPUTE, GEMM (32, 32 * 9, 32 * 32), 3, { IN (F32, 1, 32, 32, 32), IN (F32, 32, 32, 3, 3), IN (F32, 32) }, run_conv3 },
  { "nearest_code", "64x64 vs 512", BOUND_COMPUTE, 3.0 * 64 * 64 * 512, 2, { IN (F32, 64, 64), IN (F32, 512, 64) }, run_nearest },
  { "add", "1M", BOUND_MEMORY, 0, 2, { IN (F32, 1024, 1024), IN (F32, 1024, 1024) }, run_add },
  { "silu", "1M", BOUND_MEMORY, 0, 1, { IN (F32, 1048576) }, run_silu },
  { "softmax", "1024x77", BOUND_MEMORY, 0, 1, { IN (F32, 1024, 77) }, run_softmax },
  { "layer_norm", "256x1024", BOUND_MEMORY, 0, 2, { IN (F32, 256, 1024), IN (F32, 1024) }, run_layer_norm },
  { "group_norm", "1x64x32x32 g32", BOUND_MEMORY, 0, 3, { IN (F32, 1, 64, 32, 32), IN (F32, 64), IN (F32, 64) }, run_group_norm },
  { "copy_f16_to_f32", "1M", BOUND_MEMORY, 0, 1, { IN (F16, 1024, 1024) }, run_copy },
};

static TsTensor *
make_input (TsBackend *be, const Input *in, guint32 seed)
{
  int64_t n = 1;
  for (int i = 0; i < in->ndim; i++)
    n *= in->shape[i];
  g_autofree float *values = g_try_new (float, n);
  g_autofree void *raw = g_try_malloc (n * ts_dtype_size (in->dtype));
  if (!values || !raw)
    return NULL;
  guint32 state = seed * 2654435761u + 1;
  for (int64_t i = 0; i < n; i++) {
    state = state * 1664525u + 1013904223u;
    values[i] = in->dtype == TS_DTYPE_I32 ? (float) (state % 512) : (float) (state >> 8) / 16777216.0f - 0.5f;
  }
  ts_convert (values, TS_DTYPE_F32, raw, in->dtype, n);
  return ts_tensor_new_from_data (be, in->dtype, in->ndim, in->shape, raw);
}

static gboolean
run_once (TsBackend *be, gpointer data)
{
  Running *r = data;
  TsTensor *out = r->c->run (be, r->in);
  gboolean ok = out != NULL;
  ts_tensor_unref (out);
  return ok;
}

static double
case_bytes (const Case *c, TsTensor **in, TsTensor *out)
{
  double bytes = out ? (double) ts_tensor_nbytes (out) : 0;
  for (int i = 0; i < c->n_inputs; i++)
    bytes += (double) ts_tensor_nbytes (in[i]);
  return bytes;
}

static gboolean
matches (const BenchOptions *opt, const Case *c)
{
  return !opt->filter || strstr (c->name, opt->filter);
}

static void
bench_case (TsBackend *be, const BenchOptions *opt, const BenchPeak *peak, const Case *c)
{
  Running r = { c, { NULL } };
  for (int i = 0; i < c->n_inputs; i++)
    r.in[i] = make_input (be, &c->inputs[i], i + 1);
  TsTensor *probe = c->run (be, r.in);
  double bytes = case_bytes (c, r.in, probe);
  ts_tensor_unref (probe);

  double seconds = probe ? bench_time (be, opt, run_once, &r) : -1;
  const char *backend = ts_backend_kind (be) == TS_BACKEND_CPU ? "cpu" : "vulkan";
  if (seconds <= 0) {
    g_autoptr (GError) error = NULL;
    ts_backend_take_error (be, &error);
    g_autofree char *msg = g_strescape (error ? error->message : "failed", NULL);
    printf ("{\"bench\":\"op\",\"backend\":\"%s\",\"op\":\"%s\",\"shape\":\"%s\",\"error\":\"%s\"}\n",
            backend, c->name, c->shape, msg);
  } else if (c->bound == BOUND_COMPUTE) {
    double gflops = c->flops / seconds * 1e-9;
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
  for (int i = 0; i < c->n_inputs; i++)
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
