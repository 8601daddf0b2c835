/* ts-weight-specs.c — weight specs: the type and its helpers. The spec lists themselves
 * come from the network loaders (compute/nn), run in collect mode. */
#include "ts-weight-specs.h"

static void
spec_free (TsWeightSpec *s)
{
  g_free (s->name);
  g_free (s);
}

GPtrArray *
ts_weight_specs_new (void)
{
  return g_ptr_array_new_with_free_func ((GDestroyNotify) spec_free);
}

TsWeightSpec *
ts_weight_spec_new (const char *name, int ndim, const int64_t *shape)
{
  g_return_val_if_fail (ndim >= 0 && ndim <= 4, NULL);
  TsWeightSpec *s = g_new0 (TsWeightSpec, 1);
  s->name = g_strdup (name);
  s->ndim = ndim;
  for (int i = 0; i < ndim; i++)
    s->shape[i] = shape[i];
  return s;
}

/* ---- helpers -------------------------------------------------------------------------- */

int64_t
ts_weight_specs_numel (const GPtrArray *specs)
{
  guint64 total = 0;
  for (guint i = 0; i < specs->len; i++) {
    const TsWeightSpec *w = specs->pdata[i];
    guint64 n = 1;
    for (int d = 0; d < w->ndim; d++)
      if (!g_uint64_checked_mul (&n, n, (guint64) w->shape[d]))
        return G_MAXINT64;
    if (!g_uint64_checked_add (&total, total, n))
      return G_MAXINT64;
  }
  return (int64_t) MIN (total, (guint64) G_MAXINT64);
}

char *
ts_weight_spec_describe_shape (int ndim, const int64_t *shape)
{
  GString *s = g_string_new ("[");
  for (int i = 0; i < ndim; i++)
    g_string_append_printf (s, "%s%" G_GINT64_FORMAT, i ? "," : "", shape[i]);
  g_string_append_c (s, ']');
  return g_string_free (s, FALSE);
}
