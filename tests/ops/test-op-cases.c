/* test-op-cases.c — the shared op cases (compute/ts-op-cases.c) on the CPU backend against
 * the naive references of ref-ops.c, and the checks that keep the op table, the backends'
 * kernel tables and the cases in step: together the cases run every op kind, and every
 * case has a reference here. */
#include "op-case-tests.h"
#include "ref-ops.h"
#include "test-common.h"

#include <math.h>
#include <string.h>

static TsBackend *cpu;

/* A reference: the case's exact input values (ids as floats) and shapes → the expected
 * output, dense row-major f32. */
typedef void (*CaseRef) (const TsOpCase *c, float *const *in, float *out);

#define SHAPE_OF(i) (c->inputs[i].shape)
#define NDIM_OF(i) (c->inputs[i].ndim)

static int64_t
rows_of (const TsOpCaseInput *input)
{
  int64_t rows = 1;
  for (int i = 0; i < input->ndim - 1; i++)
    rows *= input->shape[i];
  return rows;
}

static int64_t last_of (const TsOpCaseInput *input) { return input->shape[input->ndim - 1]; }
static int64_t numel_of (const TsOpCaseInput *input) { return ts_test_numel (input->ndim, input->shape); }

static void
ref_case_linear (const TsOpCase *c, float *const *in, float *out)
{
  ref_matmul (in[0], in[1], c->n_inputs > 2 ? in[2] : NULL, out, 1, rows_of (&c->inputs[0]),
              SHAPE_OF (1)[0], last_of (&c->inputs[0]), FALSE, TRUE, TRUE);
}

static void
ref_case_matmul (const TsOpCase *c, float *const *in, float *out)
{
  ref_matmul (in[0], in[1], NULL, out, SHAPE_OF (0)[0], SHAPE_OF (0)[1], SHAPE_OF (1)[2],
              SHAPE_OF (0)[2], FALSE, FALSE, FALSE);
}

static void
ref_case_add (const TsOpCase *c, float *const *in, float *out)
{
  ref_add_mul (FALSE, in[0], NDIM_OF (0), SHAPE_OF (0), in[1], NDIM_OF (1), SHAPE_OF (1), out);
}

static void
ref_case_mul (const TsOpCase *c, float *const *in, float *out)
{
  ref_add_mul (TRUE, in[0], NDIM_OF (0), SHAPE_OF (0), in[1], NDIM_OF (1), SHAPE_OF (1), out);
}

static void ref_case_scale (const TsOpCase *c, float *const *in, float *out) { ref_scale (in[0], out, numel_of (&c->inputs[0]), 0.5f, -1.0f); }
static void ref_case_silu (const TsOpCase *c, float *const *in, float *out) { ref_silu (in[0], out, numel_of (&c->inputs[0])); }
static void ref_case_gelu (const TsOpCase *c, float *const *in, float *out) { ref_gelu (in[0], out, numel_of (&c->inputs[0])); }
static void ref_case_quick_gelu (const TsOpCase *c, float *const *in, float *out) { ref_quick_gelu (in[0], out, numel_of (&c->inputs[0])); }
static void ref_case_geglu (const TsOpCase *c, float *const *in, float *out) { ref_geglu (in[0], out, rows_of (&c->inputs[0]), last_of (&c->inputs[0]) / 2); }
static void ref_case_softmax (const TsOpCase *c, float *const *in, float *out) { ref_softmax (in[0], out, rows_of (&c->inputs[0]), last_of (&c->inputs[0])); }
static void ref_case_layer_norm (const TsOpCase *c, float *const *in, float *out) { ref_layer_norm (in[0], in[1], in[2], out, rows_of (&c->inputs[0]), last_of (&c->inputs[0]), 1e-5f); }
static void ref_case_rms_norm (const TsOpCase *c, float *const *in, float *out) { ref_rms_norm (in[0], in[1], out, rows_of (&c->inputs[0]), last_of (&c->inputs[0]), 1e-6f); }

static void
ref_case_group_norm (const TsOpCase *c, float *const *in, float *out)
{
  const int64_t *s = SHAPE_OF (0);
  ref_group_norm (in[0], in[1], in[2], out, s[0], s[1], s[2] * s[3], s[1] % 32 == 0 ? 32 : 4,
                  1e-6f);
}

static void
ref_case_grn (const TsOpCase *c, float *const *in, float *out)
{
  const int64_t *s = SHAPE_OF (0);
  ref_grn (in[0], in[1], in[2], out, s[0], s[1] * s[2], s[3], 1e-6f);
}

static void
attention (const TsOpCase *c, float *const *in, float *out, gboolean causal)
{
  const int64_t *q = SHAPE_OF (0), *v = SHAPE_OF (2);
  ref_attention (in[0], in[1], in[2], out, q[0], q[1], SHAPE_OF (1)[1], q[2], q[3], v[3],
                 1.0f / sqrtf ((float) q[3]), causal);
}
static void ref_case_attention (const TsOpCase *c, float *const *in, float *out) { attention (c, in, out, FALSE); }
static void ref_case_attention_causal (const TsOpCase *c, float *const *in, float *out) { attention (c, in, out, TRUE); }

static void
conv (const TsOpCase *c, float *const *in, float *out, const TsConv2dParams *p)
{
  const int64_t *x = SHAPE_OF (0), *w = SHAPE_OF (1);
  int64_t oh, ow;
  ref_conv2d (in[0], in[1], c->n_inputs > 2 ? in[2] : NULL, out, x[0], x[1], x[2], x[3], w[0],
              w[2], w[3], p, &oh, &ow);
}
static void ref_case_conv3x3 (const TsOpCase *c, float *const *in, float *out) { conv (c, in, out, &(TsConv2dParams) { 1, 1, 1, 1, 1, 1, 1 }); }
static void ref_case_conv1x1 (const TsOpCase *c, float *const *in, float *out) { conv (c, in, out, &(TsConv2dParams) { 1, 1, 0, 0, 0, 0, 1 }); }
static void ref_case_conv_down (const TsOpCase *c, float *const *in, float *out) { conv (c, in, out, &(TsConv2dParams) { 2, 2, 0, 0, 1, 1, 1 }); }
static void ref_case_conv_depthwise (const TsOpCase *c, float *const *in, float *out) { conv (c, in, out, &(TsConv2dParams) { 1, 1, 1, 1, 1, 1, (int) SHAPE_OF (0)[1] }); }

static void
ref_case_conv_transpose (const TsOpCase *c, float *const *in, float *out)
{
  const int64_t *x = SHAPE_OF (0);
  ref_conv_transpose_2x2 (in[0], in[1], in[2], out, x[0], x[1], x[2], x[3], SHAPE_OF (1)[1]);
}

static void
ref_case_upsample (const TsOpCase *c, float *const *in, float *out)
{
  const int64_t *x = SHAPE_OF (0);
  ref_upsample_nearest_2x (in[0], out, x[0] * x[1], x[2], x[3]);
}

static void
ref_case_pad (const TsOpCase *c, float *const *in, float *out)
{
  int64_t before[4] = { 0, 0, 0, 1 }, after[4] = { 0, 0, 1, 2 };
  ref_pad (in[0], NDIM_OF (0), SHAPE_OF (0), before, after, -1.5f, out);
}

static void
ref_case_embedding (const TsOpCase *c, float *const *in, float *out)
{
  int64_t n = numel_of (&c->inputs[1]);
  g_autofree int64_t *ids = g_new (int64_t, n);
  for (int64_t i = 0; i < n; i++)
    ids[i] = (int64_t) in[1][i];
  ref_embedding (in[0], SHAPE_OF (0)[1], ids, n, out);
}

static void
ref_case_permute (const TsOpCase *c, float *const *in, float *out)
{
  ref_permute (in[0], NDIM_OF (0), SHAPE_OF (0), (const int[]) { 0, 2, 3, 1 }, out);
}

static void
ref_case_concat (const TsOpCase *c, float *const *in, float *out)
{
  const int64_t *s = SHAPE_OF (0);
  const float *parts[2] = { in[0], in[1] };
  ref_concat (parts, (const int64_t[]) { s[1], SHAPE_OF (1)[1] }, 2, s[0], s[2], out);
}

static void
ref_case_copy (const TsOpCase *c, float *const *in, float *out)
{
  memcpy (out, in[0], numel_of (&c->inputs[0]) * sizeof (float));
}

static void
ref_case_nearest (const TsOpCase *c, float *const *in, float *out)
{
  int64_t n = SHAPE_OF (0)[0];
  g_autofree int32_t *codes = g_new (int32_t, n);
  ref_nearest_code (in[0], n, SHAPE_OF (0)[1], in[1], SHAPE_OF (1)[0], codes);
  for (int64_t i = 0; i < n; i++)
    out[i] = (float) codes[i];
}

/* What each shared case means, by its name (the calls are in ts-op-cases.c). */
static const struct {
  const char *name;
  CaseRef     ref;
} refs[] = {
  { "linear f32", ref_case_linear },
  { "linear f16 weight", ref_case_linear },
  { "batched matmul", ref_case_matmul },
  { "add broadcast", ref_case_add },
  { "mul broadcast", ref_case_mul },
  { "scale", ref_case_scale },
  { "silu", ref_case_silu },
  { "gelu", ref_case_gelu },
  { "quick_gelu", ref_case_quick_gelu },
  { "geglu", ref_case_geglu },
  { "softmax", ref_case_softmax },
  { "layer_norm", ref_case_layer_norm },
  { "rms_norm", ref_case_rms_norm },
  { "group_norm", ref_case_group_norm },
  { "global_response_norm", ref_case_grn },
  { "attention", ref_case_attention },
  { "attention causal", ref_case_attention_causal },
  { "conv2d 3x3", ref_case_conv3x3 },
  { "conv2d 1x1", ref_case_conv1x1 },
  { "conv2d 3x3 stride 2", ref_case_conv_down },
  { "conv2d depthwise", ref_case_conv_depthwise },
  { "conv_transpose_2x2", ref_case_conv_transpose },
  { "upsample_nearest_2x", ref_case_upsample },
  { "pad", ref_case_pad },
  { "embedding", ref_case_embedding },
  { "permute", ref_case_permute },
  { "concat", ref_case_concat },
  { "copy f16 to f32", ref_case_copy },
  { "nearest_code", ref_case_nearest },
};

static CaseRef
find_ref (const char *name)
{
  for (guint i = 0; i < G_N_ELEMENTS (refs); i++)
    if (g_str_equal (refs[i].name, name))
      return refs[i].ref;
  return NULL;
}

/* The CPU result against the reference, within the case's tolerance (or 1e-10 where the
 * case allows none against the CPU: the reference sums in double). */
static void
test_case_reference (gconstpointer data)
{
  const TsOpCase *c = data;
  CaseRef ref = find_ref (c->name);
  if (!ref) {
    g_test_message ("shared op case \"%s\" has no reference in test-op-cases.c", c->name);
    g_test_fail ();
    return;
  }
  TsTensor *in[3];
  float *values[3];
  op_case_make_inputs (cpu, c, 1234, in, values);
  g_autoptr (TsTensor) out = c->run (cpu, in);
  ts_test_assert_no_error (cpu);
  g_assert_nonnull (out);
  gint64 n = ts_tensor_numel (out);
  g_autofree float *want = g_new0 (float, n);
  ref (c, values, want);
  g_autofree void *raw = g_malloc (ts_tensor_nbytes (out));
  g_assert_true (ts_tensor_read (out, raw, ts_tensor_nbytes (out), NULL));
  g_autofree float *got = g_new (float, n);
  ts_convert (raw, out->dtype, got, TS_DTYPE_F32, n);
  ts_test_check_values (c->name, got, want, (size_t) n, MAX (c->tolerance, 1e-10));
  for (int i = 0; i < 3; i++) {
    g_clear_pointer (&in[i], ts_tensor_unref);
    g_free (values[i]);
  }
}

/* Every op kind of the op table is run by some case, so a new op without a case fails here
 * (and with it every program the cases drive would miss it). */
static void
test_cases_cover_every_op (void)
{
  guint n;
  const TsOpCase *cases = ts_op_cases (&n);
  guint64 covered = 0;
  for (guint i = 0; i < n; i++) {
    guint64 kinds;
    op_case_families (cpu, &cases[i], &kinds);
    covered |= kinds;
    for (guint j = 0; j < i; j++)
      if (g_str_equal (cases[i].name, cases[j].name)) {
        g_test_message ("two shared op cases are called \"%s\"", cases[i].name);
        g_test_fail ();
      }
  }
  for (int kind = 0; kind < TS_OP_COUNT; kind++)
    if (!(covered & (G_GUINT64_CONSTANT (1) << kind))) {
      g_test_message ("no shared op case (compute/ts-op-cases.c) runs op %s", ts_op_name (kind));
      g_test_fail ();
    }
}

/* A reference here for a case that no longer exists is a stale row. */
static void
test_references_name_cases (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (refs); i++)
    if (!ts_op_case_find (refs[i].name)) {
      g_test_message ("reference \"%s\" names no shared op case", refs[i].name);
      g_test_fail ();
    }
}

/* An op a backend says it cannot run fails cleanly, with the backend and op named. */
static void
test_unsupported_kernel (void)
{
  TsOp op = { .kind = TS_OP_NEAREST_CODE };
  g_autoptr (GError) error = NULL;
  g_assert_false (ts_op_unsupported (cpu, &op, &error));
  g_assert_error (error, TS_ERROR, TS_ERROR_UNSUPPORTED);
  g_assert_nonnull (strstr (error->message, "nearest_code"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_autoptr (GError) error = NULL;
  cpu = ts_backend_new_cpu (0, &error);
  g_assert_no_error (error);

  g_test_add_func ("/op-cases/cover-every-op", test_cases_cover_every_op);
  g_test_add_func ("/op-cases/references-name-cases", test_references_name_cases);
  g_test_add_func ("/op-cases/unsupported-kernel", test_unsupported_kernel);
  op_case_add_tests ("/op-cases/cpu", cpu, ~0u, 0, test_case_reference);

  int status = g_test_run ();
  ts_backend_free (cpu);
  return status;
}
