/* cli-selfcheck.c — `tessera-cli selfcheck`: a quick proof that the engine computes right
 * on this machine. The CPU backend is checked against identities that need no second
 * implementation; each Vulkan device is then checked op by op against the CPU backend. */
#include "cli.h"

#include <glib/gi18n.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

typedef struct {
  int     ndim;
  int64_t shape[4];
  TsDType dtype;   /* f32/f16 inputs are uniform in [-2, 2]; integer inputs are ids in [0, 16) */
} InputSpec;

typedef TsTensor *(*OpFunc) (TsBackend *be, TsTensor **in);

typedef struct {
  const char *name;
  OpFunc      run;
  int         n_inputs;
  InputSpec   inputs[3];
  double      tolerance; /* normalized squared error against the CPU backend */
} CrossCheck;

static TsTensor *op_linear (TsBackend *be, TsTensor **in) { return ts_linear (be, in[0], in[1], in[2]); }
static TsTensor *op_matmul_nn (TsBackend *be, TsTensor **in) { return ts_matmul (be, in[0], in[1], NULL, 0); }
static TsTensor *op_add (TsBackend *be, TsTensor **in) { return ts_add (be, in[0], in[1]); }
static TsTensor *op_mul (TsBackend *be, TsTensor **in) { return ts_mul (be, in[0], in[1]); }
static TsTensor *op_silu (TsBackend *be, TsTensor **in) { return ts_silu (be, in[0]); }
static TsTensor *op_gelu (TsBackend *be, TsTensor **in) { return ts_gelu (be, in[0]); }
static TsTensor *op_quick_gelu (TsBackend *be, TsTensor **in) { return ts_quick_gelu (be, in[0]); }
static TsTensor *op_geglu (TsBackend *be, TsTensor **in) { return ts_geglu (be, in[0]); }
static TsTensor *op_softmax (TsBackend *be, TsTensor **in) { return ts_softmax (be, in[0]); }
static TsTensor *op_layer_norm (TsBackend *be, TsTensor **in) { return ts_layer_norm (be, in[0], in[1], in[2], 1e-5f); }
static TsTensor *op_rms_norm (TsBackend *be, TsTensor **in) { return ts_rms_norm (be, in[0], in[1], 1e-6f); }
static TsTensor *op_group_norm (TsBackend *be, TsTensor **in) { return ts_group_norm (be, in[0], 4, in[1], in[2], 1e-6f); }
static TsTensor *op_grn (TsBackend *be, TsTensor **in) { return ts_global_response_norm (be, in[0], in[1], in[2], 1e-6f); }
static TsTensor *op_attention (TsBackend *be, TsTensor **in) { return ts_attention (be, in[0], in[1], in[2], 0.25f, FALSE); }
static TsTensor *op_attention_causal (TsBackend *be, TsTensor **in) { return ts_attention (be, in[0], in[1], in[2], 0.25f, TRUE); }
static TsTensor *op_conv3x3 (TsBackend *be, TsTensor **in)
{
  TsConv2dParams p = { 1, 1, 1, 1, 1, 1, 1 };
  return ts_conv2d (be, in[0], in[1], in[2], &p);
}
static TsTensor *op_conv_down (TsBackend *be, TsTensor **in)
{
  TsConv2dParams p = { 2, 2, 0, 0, 1, 1, 1 };
  return ts_conv2d (be, in[0], in[1], in[2], &p);
}
static TsTensor *op_conv_depthwise (TsBackend *be, TsTensor **in)
{
  TsConv2dParams p = { 1, 1, 1, 1, 1, 1, 8 };
  return ts_conv2d (be, in[0], in[1], NULL, &p);
}
static TsTensor *op_conv_transpose (TsBackend *be, TsTensor **in) { return ts_conv_transpose_2x2 (be, in[0], in[1], in[2]); }
static TsTensor *op_upsample (TsBackend *be, TsTensor **in) { return ts_upsample_nearest_2x (be, in[0]); }
static TsTensor *op_pad (TsBackend *be, TsTensor **in)
{
  int64_t before[4] = { 0, 0, 0, 1 }, after[4] = { 0, 0, 1, 2 };
  return ts_pad (be, in[0], before, after, -1.5f);
}
static TsTensor *op_embedding (TsBackend *be, TsTensor **in) { return ts_embedding (be, in[0], in[1]); }
static TsTensor *op_permute (TsBackend *be, TsTensor **in)
{
  int perm[4] = { 0, 2, 3, 1 };
  return ts_permute (be, in[0], perm);
}
static TsTensor *op_concat (TsBackend *be, TsTensor **in) { return ts_concat (be, in, 2, 1); }
static TsTensor *op_nearest (TsBackend *be, TsTensor **in)
{
  g_autoptr (TsTensor) codes = ts_nearest_code (be, in[0], in[1]);
  return codes ? ts_copy (be, codes, TS_DTYPE_F32) : NULL; /* compared like any output */
}

#define F32(...) { G_N_ELEMENTS (((int64_t[]) { __VA_ARGS__ })), { __VA_ARGS__ }, TS_DTYPE_F32 }
#define F16(...) { G_N_ELEMENTS (((int64_t[]) { __VA_ARGS__ })), { __VA_ARGS__ }, TS_DTYPE_F16 }
#define I32(...) { G_N_ELEMENTS (((int64_t[]) { __VA_ARGS__ })), { __VA_ARGS__ }, TS_DTYPE_I32 }

static const CrossCheck cross_checks[] = {
  { "linear f32", op_linear, 3, { F32 (37, 65), F32 (33, 65), F32 (33) }, 1e-10 },
  { "linear f16 weight", op_linear, 3, { F32 (2, 19, 64), F16 (70, 64), F32 (70) }, 1e-10 },
  { "batched matmul", op_matmul_nn, 2, { F32 (3, 17, 9), F32 (3, 9, 21) }, 1e-10 },
  { "add broadcast", op_add, 2, { F32 (2, 5, 33), F32 (5, 1) }, 1e-12 },
  { "mul broadcast", op_mul, 2, { F32 (3, 1, 7), F32 (4, 7) }, 1e-12 },
  { "silu", op_silu, 1, { F32 (1001) }, 1e-12 },
  { "gelu", op_gelu, 1, { F32 (1001) }, 1e-12 },
  { "quick_gelu", op_quick_gelu, 1, { F32 (1001) }, 1e-12 },
  { "geglu", op_geglu, 1, { F32 (7, 46) }, 1e-12 },
  { "softmax", op_softmax, 1, { F32 (9, 77) }, 1e-12 },
  { "layer_norm", op_layer_norm, 3, { F32 (5, 96), F32 (96), F32 (96) }, 1e-11 },
  { "rms_norm", op_rms_norm, 2, { F32 (5, 96), F32 (96) }, 1e-11 },
  { "group_norm", op_group_norm, 3, { F32 (2, 8, 5, 7), F32 (8), F32 (8) }, 1e-11 },
  { "global_response_norm", op_grn, 3, { F32 (2, 4, 5, 12), F32 (12), F32 (12) }, 1e-11 },
  { "attention", op_attention, 3, { F32 (2, 19, 3, 16), F32 (2, 11, 3, 16), F32 (2, 11, 3, 16) }, 1e-10 },
  { "attention causal", op_attention_causal, 3, { F32 (1, 13, 2, 8), F32 (1, 13, 2, 8), F32 (1, 13, 2, 8) }, 1e-10 },
  { "conv2d 3x3", op_conv3x3, 3, { F32 (1, 6, 9, 11), F32 (10, 6, 3, 3), F32 (10) }, 1e-10 },
  { "conv2d 3x3 stride 2", op_conv_down, 3, { F32 (2, 5, 9, 8), F32 (7, 5, 3, 3), F32 (7) }, 1e-10 },
  { "conv2d depthwise", op_conv_depthwise, 2, { F32 (1, 8, 7, 6), F32 (8, 1, 3, 3) }, 1e-10 },
  { "conv_transpose_2x2", op_conv_transpose, 3, { F32 (1, 6, 4, 5), F32 (6, 3, 2, 2), F32 (3) }, 1e-10 },
  { "upsample_nearest_2x", op_upsample, 1, { F32 (2, 3, 4, 5) }, 0 },
  { "pad", op_pad, 1, { F32 (2, 3, 4, 5) }, 0 },
  { "embedding", op_embedding, 2, { F32 (16, 24), I32 (3, 5) }, 0 },
  { "permute", op_permute, 1, { F32 (2, 3, 4, 5) }, 0 },
  { "concat", op_concat, 2, { F32 (2, 3, 4), F32 (2, 3, 4) }, 0 },
  { "nearest_code", op_nearest, 2, { F32 (40, 6), F32 (16, 6) }, 0 },
};

static TsTensor *
make_input (TsBackend *be, const InputSpec *spec, GRand *rand)
{
  int64_t n = 1;
  for (int i = 0; i < spec->ndim; i++)
    n *= spec->shape[i];
  g_autofree float *values = g_new (float, n);
  g_autofree void *raw = g_malloc (n * 8);
  for (int64_t i = 0; i < n; i++)
    values[i] = spec->dtype == TS_DTYPE_I32 ? (float) g_rand_int_range (rand, 0, 16)
                                            : (float) g_rand_double_range (rand, -2, 2);
  ts_convert (values, TS_DTYPE_F32, raw, spec->dtype, n);
  return ts_tensor_new_from_data (be, spec->dtype, spec->ndim, spec->shape, raw);
}

/* Run one check on `be`; returns the output as f32 host values or NULL with *error. */
static float *
run_check (TsBackend *be, const CrossCheck *check, gint64 *n_out, GError **error)
{
  g_autoptr (GRand) rand = g_rand_new_with_seed (1234);
  TsTensor *in[3] = { NULL };
  for (int i = 0; i < check->n_inputs; i++)
    in[i] = make_input (be, &check->inputs[i], rand);
  g_autoptr (TsTensor) out = check->run (be, in);
  for (int i = 0; i < check->n_inputs; i++)
    ts_tensor_unref (in[i]);
  if (!out) {
    ts_backend_take_error (be, error);
    return NULL;
  }
  *n_out = ts_tensor_numel (out);
  return ts_tensor_read_f32 (out, error);
}

/* ‖a − b‖² / ‖b‖²; infinity when either holds a NaN or an infinity. */
static double
normalized_error (const float *a, const float *b, gint64 n)
{
  double num = 0, den = 0;
  for (gint64 i = 0; i < n; i++) {
    if (!isfinite (a[i]) || !isfinite (b[i]))
      return INFINITY;
    num += ((double) a[i] - b[i]) * ((double) a[i] - b[i]);
    den += (double) b[i] * b[i];
  }
  return den > 0 ? num / den : num;
}

static int
check_against_cpu (TsBackend *be, TsBackend *cpu)
{
  int failures = 0;
  printf (_("Checking %s against the CPU backend:\n"), ts_backend_name (be));
  for (guint i = 0; i < G_N_ELEMENTS (cross_checks); i++) {
    const CrossCheck *check = &cross_checks[i];
    g_autoptr (GError) error = NULL;
    gint64 n = 0, n_ref = 0;
    g_autofree float *ref = run_check (cpu, check, &n_ref, &error);
    g_autofree float *got = ref ? run_check (be, check, &n, &error) : NULL;
    if (!got) {
      printf ("  FAIL %-22s %s\n", check->name, error->message);
      failures++;
      continue;
    }
    double err = normalized_error (got, ref, n);
    gboolean ok = n == n_ref && err <= check->tolerance;
    printf ("  %s %-22s error %.2e (limit %.0e)\n", ok ? "ok  " : "FAIL", check->name, err,
            check->tolerance);
    failures += !ok;
  }
  return failures;
}

/* ---- identities for the CPU backend (no second implementation needed) ---- */

static gboolean
identity_matmul (TsBackend *be, char **why)
{
  /* A·I = A, and (A·B)ᵀ computed as Bᵀ·Aᵀ through the transpose flags. */
  float a[6] = { 1, 2, 3, 4, 5, 6 }, eye[9] = { 1, 0, 0, 0, 1, 0, 0, 0, 1 };
  int64_t sa[2] = { 2, 3 }, si[2] = { 3, 3 };
  g_autoptr (TsTensor) ta = ts_tensor_new_f32 (be, 2, sa, a);
  g_autoptr (TsTensor) ti = ts_tensor_new_f32 (be, 2, si, eye);
  g_autoptr (TsTensor) out = ts_matmul (be, ta, ti, NULL, 0);
  g_autoptr (TsTensor) outt = ts_matmul (be, ti, ta, NULL, TS_MATMUL_TRANS_B);
  float r[6] = { 0 }, rt[6] = { 0 };
  if (!out || !outt || !ts_tensor_read (out, r, sizeof r, NULL) || !ts_tensor_read (outt, rt, sizeof rt, NULL))
    return *why = g_strdup ("matmul failed"), FALSE;
  for (int i = 0; i < 6; i++)
    if (r[i] != a[i] || rt[(i % 3) * 2 + i / 3] != a[i])
      return *why = g_strdup_printf ("A·I differs from A at %d", i), FALSE;
  return TRUE;
}

static gboolean
identity_softmax (TsBackend *be, char **why)
{
  float x[8] = { 0, 1, 2, -INFINITY, 1000, 1000, -INFINITY, 999 };
  int64_t shape[2] = { 2, 4 };
  g_autoptr (TsTensor) t = ts_tensor_new_f32 (be, 2, shape, x);
  g_autoptr (TsTensor) y = ts_softmax (be, t);
  float r[8];
  if (!y || !ts_tensor_read (y, r, sizeof r, NULL))
    return *why = g_strdup ("softmax failed"), FALSE;
  double e = exp (1.0), e2 = exp (2.0), s = 1 + e + e2;
  double expect[8] = { 1 / s, e / s, e2 / s, 0, e / (2 * e + 1), e / (2 * e + 1), 0, 1 / (2 * e + 1) };
  for (int i = 0; i < 8; i++)
    if (fabs (r[i] - expect[i]) > 1e-6)
      return *why = g_strdup_printf ("element %d is %g, expected %g", i, r[i], expect[i]), FALSE;
  return TRUE;
}

static gboolean
identity_conv (TsBackend *be, char **why)
{
  /* A 3×3 kernel with a single 1 at (0, 2) shifts the image by one row down and one column
   * left under padding 1. */
  float x[20], w[9] = { 0, 0, 1, 0, 0, 0, 0, 0, 0 };
  for (int i = 0; i < 20; i++)
    x[i] = (float) (i + 1);
  int64_t sx[4] = { 1, 1, 4, 5 }, sw[4] = { 1, 1, 3, 3 };
  g_autoptr (TsTensor) tx = ts_tensor_new_f32 (be, 4, sx, x);
  g_autoptr (TsTensor) tw = ts_tensor_new_f32 (be, 4, sw, w);
  TsConv2dParams p = { 1, 1, 1, 1, 1, 1, 1 };
  g_autoptr (TsTensor) y = ts_conv2d (be, tx, tw, NULL, &p);
  float r[20];
  if (!y || !ts_tensor_read (y, r, sizeof r, NULL))
    return *why = g_strdup ("conv2d failed"), FALSE;
  for (int i = 0; i < 4; i++)
    for (int j = 0; j < 5; j++) {
      int si = i - 1, sj = j + 1;
      float expect = (si >= 0 && sj < 5) ? x[si * 5 + sj] : 0;
      if (r[i * 5 + j] != expect)
        return *why = g_strdup_printf ("pixel (%d,%d) is %g, expected %g", i, j, r[i * 5 + j], expect), FALSE;
    }
  return TRUE;
}

static gboolean
identity_norms (TsBackend *be, char **why)
{
  float x[64];
  for (int i = 0; i < 64; i++)
    x[i] = (float) ((i * 37) % 17) - 8.0f;
  int64_t shape[2] = { 2, 32 };
  g_autoptr (TsTensor) t = ts_tensor_new_f32 (be, 2, shape, x);
  g_autoptr (TsTensor) y = ts_layer_norm (be, t, NULL, NULL, 0);
  float r[64];
  if (!y || !ts_tensor_read (y, r, sizeof r, NULL))
    return *why = g_strdup ("layer_norm failed"), FALSE;
  for (int row = 0; row < 2; row++) {
    double mean = 0, var = 0;
    for (int i = 0; i < 32; i++)
      mean += r[row * 32 + i] / 32.0;
    for (int i = 0; i < 32; i++)
      var += (r[row * 32 + i] - mean) * (r[row * 32 + i] - mean) / 32.0;
    if (fabs (mean) > 1e-5 || fabs (var - 1) > 1e-4)
      return *why = g_strdup_printf ("row %d has mean %g and variance %g", row, mean, var), FALSE;
  }
  return TRUE;
}

static gboolean
identity_nearest (TsBackend *be, char **why)
{
  /* Every codebook row is its own nearest code. */
  float book[5 * 3];
  for (int i = 0; i < 15; i++)
    book[i] = (float) ((i * 7) % 11);
  int64_t shape[2] = { 5, 3 };
  g_autoptr (TsTensor) t = ts_tensor_new_f32 (be, 2, shape, book);
  g_autoptr (TsTensor) ids = ts_nearest_code (be, t, t);
  int32_t r[5];
  if (!ids || !ts_tensor_read (ids, r, sizeof r, NULL))
    return *why = g_strdup ("nearest_code failed"), FALSE;
  for (int i = 0; i < 5; i++)
    if (r[i] != i)
      return *why = g_strdup_printf ("row %d maps to code %d", i, r[i]), FALSE;
  return TRUE;
}

static gboolean
identity_bad_input (TsBackend *be, char **why)
{
  int64_t sa[2] = { 2, 3 }, sb[2] = { 4, 5 };
  g_autoptr (TsTensor) a = ts_tensor_new (be, TS_DTYPE_F32, 2, sa);
  g_autoptr (TsTensor) b = ts_tensor_new (be, TS_DTYPE_F32, 2, sb);
  g_autoptr (TsTensor) c = ts_matmul (be, a, b, NULL, 0);
  g_autoptr (GError) error = NULL;
  if (c || !ts_backend_take_error (be, &error))
    return *why = g_strdup ("mismatched matmul was accepted"), FALSE;
  return TRUE;
}

static int
check_identities (TsBackend *cpu)
{
  static const struct {
    const char *name;
    gboolean (*run) (TsBackend *be, char **why);
  } identities[] = {
    { "matmul identity", identity_matmul },   { "softmax values", identity_softmax },
    { "conv2d shift", identity_conv },        { "layer_norm moments", identity_norms },
    { "nearest_code fixpoint", identity_nearest }, { "bad input rejected", identity_bad_input },
  };
  int failures = 0;
  printf (_("Checking the CPU backend against known results:\n"));
  for (guint i = 0; i < G_N_ELEMENTS (identities); i++) {
    g_autofree char *why = NULL;
    gboolean ok = identities[i].run (cpu, &why);
    printf ("  %s %-22s %s\n", ok ? "ok  " : "FAIL", identities[i].name, ok ? "" : why);
    failures += !ok;
    ts_backend_take_error (cpu, NULL);
  }
  return failures;
}

int
cli_selfcheck (int argc, char **argv)
{
  g_autofree char *device = NULL; /* GOption hands over a copy */
  GOptionEntry entries[] = {
    { "device", 'd', 0, G_OPTION_ARG_STRING, &device,
      N_("Also check this device against the CPU: auto, cpu, vulkan or vulkan:N"), N_("DEVICE") },
    { NULL }
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new (NULL);
  g_option_context_set_summary (ctx, _("Run every op and check the results."));
  g_option_context_add_main_entries (ctx, entries, GETTEXT_PACKAGE);
  g_autoptr (GError) error = NULL;
  if (!g_option_context_parse (ctx, &argc, &argv, &error)) {
    fprintf (stderr, "tessera-cli selfcheck: %s\n", error->message);
    return CLI_EXIT_USAGE;
  }

  g_autoptr (TsBackend) cpu = ts_backend_new_cpu (0, &error);
  if (!cpu) {
    fprintf (stderr, "tessera-cli selfcheck: %s\n", error->message);
    return CLI_EXIT_FAILURE;
  }
  int failures = check_identities (cpu);

  /* No fallback line: without a GPU the lines below say what was checked and why. */
  g_autoptr (TsBackend) be = cli_open_backend (device, FALSE);
  if (!be)
    return CLI_EXIT_FAILURE;
  if (ts_backend_kind (be) == TS_BACKEND_CPU && !device) {
    /* With no GPU, a software Vulkan device (lavapipe) still proves the shaders. */
    g_autoptr (GError) vk_error = NULL;
    TsBackend *vk = ts_backend_new_vulkan (-1, TRUE, &vk_error);
    if (vk) {
      ts_backend_free (g_steal_pointer (&be));
      be = vk;
    } else {
      printf (_("No Vulkan device to check (%s)\n"), vk_error->message);
    }
  }
  if (ts_backend_kind (be) != TS_BACKEND_CPU)
    failures += check_against_cpu (be, cpu);

  if (failures) {
    printf (_("selfcheck: %d check(s) FAILED\n"), failures);
    return CLI_EXIT_FAILURE;
  }
  printf (_("selfcheck: all checks passed on %s\n"), ts_backend_name (be));
  return CLI_EXIT_OK;
}
