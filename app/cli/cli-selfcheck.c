/* cli-selfcheck.c — `tessera-cli selfcheck`: a quick proof that the engine computes right
 * on this machine. The CPU backend is checked against identities that need no second
 * implementation; each Vulkan device is then checked against the CPU backend on the shared
 * op cases (compute/ts-op-cases.c). */
#include "cli.h"

#include <glib/gi18n.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

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
  guint n_cases;
  const TsOpCase *cases = ts_op_cases (&n_cases);
  for (guint i = 0; i < n_cases; i++) {
    const TsOpCase *check = &cases[i];
    g_autoptr (GError) error = NULL;
    gint64 n = 0, n_ref = 0;
    /* the same inputs on both backends: the same seed */
    g_autofree float *ref = ts_op_case_run (cpu, check, NULL, 1234, &n_ref, &error);
    g_autofree float *got = ref ? ts_op_case_run (be, check, NULL, 1234, &n, &error) : NULL;
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
