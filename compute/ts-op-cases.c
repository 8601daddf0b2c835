/* ts-op-cases.c — the shared op cases (see ts-op-cases.h). Shapes are small and odd on
 * purpose (no multiples of tiles), so every edge path of a kernel runs. */
#include "ts-op-cases.h"

#include <math.h>

/* ---- the calls ---- */

static TsTensor *run_linear (TsBackend *be, TsTensor *const *in) { return ts_linear (be, in[0], in[1], in[2]); }
static TsTensor *run_matmul (TsBackend *be, TsTensor *const *in) { return ts_matmul (be, in[0], in[1], NULL, 0); }
static TsTensor *run_add (TsBackend *be, TsTensor *const *in) { return ts_add (be, in[0], in[1]); }
static TsTensor *run_mul (TsBackend *be, TsTensor *const *in) { return ts_mul (be, in[0], in[1]); }
static TsTensor *run_scale (TsBackend *be, TsTensor *const *in) { return ts_scale (be, in[0], 0.5f, -1.0f); }
static TsTensor *run_silu (TsBackend *be, TsTensor *const *in) { return ts_silu (be, in[0]); }
static TsTensor *run_gelu (TsBackend *be, TsTensor *const *in) { return ts_gelu (be, in[0]); }
static TsTensor *run_quick_gelu (TsBackend *be, TsTensor *const *in) { return ts_quick_gelu (be, in[0]); }
static TsTensor *run_geglu (TsBackend *be, TsTensor *const *in) { return ts_geglu (be, in[0]); }
static TsTensor *run_softmax (TsBackend *be, TsTensor *const *in) { return ts_softmax (be, in[0]); }
static TsTensor *run_layer_norm (TsBackend *be, TsTensor *const *in) { return ts_layer_norm (be, in[0], in[1], in[2], 1e-5f); }
static TsTensor *run_rms_norm (TsBackend *be, TsTensor *const *in) { return ts_rms_norm (be, in[0], in[1], 1e-6f); }
static TsTensor *run_grn (TsBackend *be, TsTensor *const *in) { return ts_global_response_norm (be, in[0], in[1], in[2], 1e-6f); }
static TsTensor *run_upsample (TsBackend *be, TsTensor *const *in) { return ts_upsample_nearest_2x (be, in[0]); }
static TsTensor *run_embedding (TsBackend *be, TsTensor *const *in) { return ts_embedding (be, in[0], in[1]); }
static TsTensor *run_concat (TsBackend *be, TsTensor *const *in) { return ts_concat (be, in, 2, 1); }
static TsTensor *run_nearest (TsBackend *be, TsTensor *const *in) { return ts_nearest_code (be, in[0], in[1]); }
static TsTensor *run_copy_f32 (TsBackend *be, TsTensor *const *in) { return ts_copy (be, in[0], TS_DTYPE_F32); }

/* The VQ-GAN's 32 groups where the channels allow, else 4 (the small checks). */
static TsTensor *
run_group_norm (TsBackend *be, TsTensor *const *in)
{
  int groups = in[0] && in[0]->shape[1] % 32 == 0 ? 32 : 4;
  return ts_group_norm (be, in[0], groups, in[1], in[2], 1e-6f);
}

/* Scale 1/√D, as the networks use. */
static TsTensor *
attention (TsBackend *be, TsTensor *const *in, gboolean causal)
{
  float scale = in[0] ? 1.0f / sqrtf ((float) in[0]->shape[3]) : 1.0f;
  return ts_attention (be, in[0], in[1], in[2], scale, causal);
}
static TsTensor *run_attention (TsBackend *be, TsTensor *const *in) { return attention (be, in, FALSE); }
static TsTensor *run_attention_causal (TsBackend *be, TsTensor *const *in) { return attention (be, in, TRUE); }

static TsTensor *
conv (TsBackend *be, TsTensor *const *in, int stride, int pad_before, int pad_after, int groups)
{
  TsConv2dParams p = { stride, stride, pad_before, pad_before, pad_after, pad_after, groups };
  return ts_conv2d (be, in[0], in[1], in[2], &p);
}
static TsTensor *run_conv3x3 (TsBackend *be, TsTensor *const *in) { return conv (be, in, 1, 1, 1, 1); }
static TsTensor *run_conv1x1 (TsBackend *be, TsTensor *const *in) { return conv (be, in, 1, 0, 0, 1); }
/* The VQ encoder's downsampling: stride 2, padding only after. */
static TsTensor *run_conv_down (TsBackend *be, TsTensor *const *in) { return conv (be, in, 2, 0, 1, 1); }
static TsTensor *
run_conv_depthwise (TsBackend *be, TsTensor *const *in)
{
  return in[0] ? conv (be, in, 1, 1, 1, (int) in[0]->shape[1]) : NULL;
}
static TsTensor *run_conv_transpose (TsBackend *be, TsTensor *const *in) { return ts_conv_transpose_2x2 (be, in[0], in[1], in[2]); }

static TsTensor *
run_pad (TsBackend *be, TsTensor *const *in)
{
  int64_t before[4] = { 0, 0, 0, 1 }, after[4] = { 0, 0, 1, 2 };
  return ts_pad (be, in[0], before, after, -1.5f);
}

/* NCHW → NHWC, as the VQ quantiser does. */
static TsTensor *
run_permute (TsBackend *be, TsTensor *const *in)
{
  int perm[4] = { 0, 2, 3, 1 };
  return ts_permute (be, in[0], perm);
}

/* ---- the list ---- */

#define F32(...) { G_N_ELEMENTS (((int64_t[]) { __VA_ARGS__ })), { __VA_ARGS__ }, TS_DTYPE_F32 }
#define F16(...) { G_N_ELEMENTS (((int64_t[]) { __VA_ARGS__ })), { __VA_ARGS__ }, TS_DTYPE_F16 }
#define I32(...) { G_N_ELEMENTS (((int64_t[]) { __VA_ARGS__ })), { __VA_ARGS__ }, TS_DTYPE_I32 }

static const TsOpCase cases[] = {
  { "linear f32", run_linear, 3, { F32 (37, 65), F32 (33, 65), F32 (33) }, 1e-10 },
  { "linear f16 weight", run_linear, 3, { F32 (2, 19, 64), F16 (70, 64), F32 (70) }, 1e-10 },
  { "batched matmul", run_matmul, 2, { F32 (3, 17, 9), F32 (3, 9, 21) }, 1e-10 },
  { "add broadcast", run_add, 2, { F32 (2, 5, 33), F32 (5, 1) }, 1e-12 },
  { "mul broadcast", run_mul, 2, { F32 (3, 1, 7), F32 (4, 7) }, 1e-12 },
  { "scale", run_scale, 1, { F32 (1001) }, 1e-12 },
  { "silu", run_silu, 1, { F32 (1001) }, 1e-12 },
  { "gelu", run_gelu, 1, { F32 (1001) }, 1e-12 },
  { "quick_gelu", run_quick_gelu, 1, { F32 (1001) }, 1e-12 },
  { "geglu", run_geglu, 1, { F32 (7, 46) }, 1e-12 },
  { "softmax", run_softmax, 1, { F32 (9, 77) }, 1e-12 },
  { "layer_norm", run_layer_norm, 3, { F32 (5, 96), F32 (96), F32 (96) }, 1e-11 },
  { "rms_norm", run_rms_norm, 2, { F32 (5, 96), F32 (96) }, 1e-11 },
  { "group_norm", run_group_norm, 3, { F32 (2, 8, 5, 7), F32 (8), F32 (8) }, 1e-11 },
  { "global_response_norm", run_grn, 3, { F32 (2, 4, 5, 12), F32 (12), F32 (12) }, 1e-11 },
  { "attention", run_attention, 3, { F32 (2, 19, 3, 16), F32 (2, 11, 3, 16), F32 (2, 11, 3, 16) }, 1e-10 },
  { "attention causal", run_attention_causal, 3, { F32 (1, 13, 2, 8), F32 (1, 13, 2, 8), F32 (1, 13, 2, 8) }, 1e-10 },
  { "conv2d 3x3", run_conv3x3, 3, { F32 (1, 6, 9, 11), F32 (10, 6, 3, 3), F32 (10) }, 1e-10 },
  { "conv2d 1x1", run_conv1x1, 3, { F32 (2, 12, 5, 7), F32 (9, 12, 1, 1), F32 (9) }, 1e-10 },
  { "conv2d 3x3 stride 2", run_conv_down, 3, { F32 (2, 5, 9, 8), F32 (7, 5, 3, 3), F32 (7) }, 1e-10 },
  { "conv2d depthwise", run_conv_depthwise, 2, { F32 (1, 8, 7, 6), F32 (8, 1, 3, 3) }, 1e-10 },
  { "conv_transpose_2x2", run_conv_transpose, 3, { F32 (1, 6, 4, 5), F32 (6, 3, 2, 2), F32 (3) }, 1e-10 },
  { "upsample_nearest_2x", run_upsample, 1, { F32 (2, 3, 4, 5) }, 0 },
  { "pad", run_pad, 1, { F32 (2, 3, 4, 5) }, 0 },
  { "embedding", run_embedding, 2, { F32 (16, 24), I32 (3, 5) }, 0 },
  { "permute", run_permute, 1, { F32 (2, 3, 4, 5) }, 0 },
  { "concat", run_concat, 2, { F32 (2, 3, 4), F32 (2, 3, 4) }, 0 },
  { "copy f16 to f32", run_copy_f32, 1, { F16 (3, 7, 11) }, 0 },
  { "nearest_code", run_nearest, 2, { F32 (40, 6), F32 (16, 6) }, 0 },
};

const TsOpCase *
ts_op_cases (guint *n)
{
  *n = G_N_ELEMENTS (cases);
  return cases;
}

const TsOpCase *
ts_op_case_find (const char *name)
{
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    if (g_str_equal (cases[i].name, name))
      return &cases[i];
  return NULL;
}

TsTensor *
ts_op_case_input (TsBackend *be, const TsOpCaseInput *input, GRand *rand)
{
  int64_t n = 1;
  for (int i = 0; i < input->ndim; i++)
    n *= input->shape[i];
  g_autofree float *values = g_try_new (float, n);
  g_autofree void *raw = g_try_malloc (n * ts_dtype_size (input->dtype));
  if (!values || !raw) {
    ts_backend_set_error (be, TS_ERROR, TS_ERROR_OUT_OF_MEMORY,
                          "out of host memory for a %" G_GINT64_FORMAT "-element input", n);
    return NULL;
  }
  gboolean ids = !ts_dtype_is_float (input->dtype);
  for (int64_t i = 0; i < n; i++)
    values[i] = ids ? (float) g_rand_int_range (rand, 0, 16)
                    : (float) g_rand_double_range (rand, -2, 2);
  ts_convert (values, TS_DTYPE_F32, raw, input->dtype, n);
  return ts_tensor_new_from_data (be, input->dtype, input->ndim, input->shape, raw);
}

float *
ts_op_case_run (TsBackend *be, const TsOpCase *c, const TsOpCaseInput *inputs, guint32 seed,
                gint64 *n_out, GError **error)
{
  g_autoptr (GRand) rand = g_rand_new_with_seed (seed);
  if (!inputs)
    inputs = c->inputs;
  TsTensor *in[3] = { NULL };
  for (int i = 0; i < c->n_inputs; i++)
    in[i] = ts_op_case_input (be, &inputs[i], rand);
  g_autoptr (TsTensor) out = c->run (be, in);
  for (int i = 0; i < c->n_inputs; i++)
    ts_tensor_unref (in[i]);
  if (!out) {
    if (!ts_backend_take_error (be, error))
      g_set_error (error, TS_ERROR, TS_ERROR_DEVICE, "%s failed", c->name);
    return NULL;
  }
  *n_out = ts_tensor_numel (out);
  if (ts_dtype_is_float (out->dtype))
    return ts_tensor_read_f32 (out, error);
  g_autofree void *raw = g_malloc (ts_tensor_nbytes (out));
  if (!ts_tensor_read (out, raw, ts_tensor_nbytes (out), error))
    return NULL;
  float *values = g_new (float, *n_out);
  ts_convert (raw, out->dtype, values, TS_DTYPE_F32, *n_out);
  return values;
}
