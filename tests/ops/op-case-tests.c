/* op-case-tests.c — the shared op cases under GTest (see op-case-tests.h). */
#include "op-case-tests.h"
#include "test-common.h"

#include <string.h>

void
op_case_make_inputs (TsBackend *be, const TsOpCase *c, guint32 seed, TsTensor **in,
                     float **values)
{
  g_autoptr (GRand) rand = g_rand_new_with_seed (seed);
  for (int i = 0; i < 3; i++) {
    in[i] = NULL;
    if (values)
      values[i] = NULL;
  }
  for (int i = 0; i < c->n_inputs; i++) {
    in[i] = ts_op_case_input (be, &c->inputs[i], rand);
    ts_test_assert_no_error (be);
    if (!values)
      continue;
    size_t n = (size_t) ts_tensor_numel (in[i]);
    g_autofree void *raw = g_malloc (ts_tensor_nbytes (in[i]));
    g_assert_true (ts_tensor_read (in[i], raw, ts_tensor_nbytes (in[i]), NULL));
    values[i] = g_new (float, n);
    ts_convert (raw, in[i]->dtype, values[i], TS_DTYPE_F32, n);
  }
}

guint
op_case_families (TsBackend *cpu, const TsOpCase *c, guint64 *kinds)
{
  TsTensor *in[3];
  op_case_make_inputs (cpu, c, 1, in, NULL);
  ts_backend_profile_reset (cpu);
  ts_backend_set_profiling (cpu, TRUE);
  TsTensor *out = c->run (cpu, in);
  guint n = 0;
  g_autofree TsProfileEntry *prof = ts_backend_profile (cpu, &n);
  ts_backend_set_profiling (cpu, FALSE);
  ts_backend_profile_reset (cpu);
  ts_test_assert_no_error (cpu);
  g_assert_nonnull (out);
  ts_tensor_unref (out);
  for (int i = 0; i < 3; i++)
    g_clear_pointer (&in[i], ts_tensor_unref);

  guint families = 0;
  if (kinds)
    *kinds = 0;
  for (guint e = 0; e < n; e++)
    for (int kind = 0; kind < TS_OP_COUNT; kind++)
      if (g_str_equal (prof[e].name, ts_op_name (kind))) {
        families |= OP_FAMILY_BIT (ts_op_family (kind));
        if (kinds)
          *kinds |= G_GUINT64_CONSTANT (1) << kind;
      }
  return families;
}

static char *
test_path (const char *prefix, const TsOpCase *c, const char *variant)
{
  g_autofree char *name = g_strdelimit (g_strdup (c->name), " ", '-');
  return variant ? g_strdup_printf ("%s/%s/%s", prefix, name, variant)
                 : g_strdup_printf ("%s/%s", prefix, name);
}

static gboolean
case_selected (TsBackend *cpu, const TsOpCase *c, guint include, guint exclude)
{
  guint families = op_case_families (cpu, c, NULL);
  return (families & include) != 0 && (families & exclude) == 0;
}

void
op_case_add_tests (const char *prefix, TsBackend *cpu, guint include, guint exclude,
                   GTestDataFunc func)
{
  guint n;
  const TsOpCase *cases = ts_op_cases (&n);
  for (guint i = 0; i < n; i++)
    if (case_selected (cpu, &cases[i], include, exclude)) {
      g_autofree char *path = test_path (prefix, &cases[i], NULL);
      g_test_add_data_func (path, &cases[i], func);
    }
}

void
op_case_add_variant_tests (const char *prefix, TsBackend *cpu, guint include, guint exclude,
                           const char *const *variants, int n_variants, GTestDataFunc func)
{
  guint n;
  const TsOpCase *cases = ts_op_cases (&n);
  for (guint i = 0; i < n; i++) {
    if (!case_selected (cpu, &cases[i], include, exclude))
      continue;
    for (int v = 0; v < n_variants; v++) {
      OpCaseTest *t = g_new (OpCaseTest, 1); /* lives as long as the test program */
      t->op_case = &cases[i];
      t->variant = v;
      g_autofree char *path = test_path (prefix, &cases[i], variants[v]);
      g_test_add_data_func_full (path, t, func, g_free);
    }
  }
}

void
op_case_check_backend (TsBackend *be, TsBackend *cpu, const TsOpCase *c)
{
  g_autoptr (GError) error = NULL;
  gint64 n = 0, n_ref = 0;
  g_autofree float *want = ts_op_case_run (cpu, c, NULL, 1234, &n_ref, &error);
  g_assert_no_error (error);
  g_autofree float *got = ts_op_case_run (be, c, NULL, 1234, &n, &error);
  g_assert_no_error (error);
  g_assert_cmpint (n, ==, n_ref);
  ts_test_check_values (c->name, got, want, (size_t) n, c->tolerance);
}
