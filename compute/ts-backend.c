/* ts-backend.c — backend creation and choice, the sticky error, generic profiling. */
#include "ts-backend-private.h"
#include "cpu/cpu-precision.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A kernel table with a hole is a backend written wrong, not a condition to recover from:
 * it stops the program the first time such a backend is created (any test that makes one). */
static void
check_kernel_table (const TsBackendClass *klass)
{
  if (!klass->kernels)
    return;
  for (int kind = 0; kind < TS_OP_COUNT; kind++)
    if (!klass->kernels[kind])
      g_error ("the %s backend's kernel table has no entry for op %s (use ts_op_unsupported "
               "to refuse it)", klass->name, ts_op_name (kind));
}

void
ts_backend_init_base (TsBackend *be, const TsBackendClass *klass, TsBackendKind kind)
{
  check_kernel_table (klass);
  be->klass = klass;
  be->kind = kind;
  be->error = NULL;
  be->profiling = FALSE;
  be->wall_profile = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_free);
  be->mem_used = be->mem_peak = 0;
  /* No budget while a Vulkan backend sets itself up: it sets its own from its options
   * (ts_vk_options_from_env reads TESSERA_MEMORY_BUDGET for it) or the device. */
  be->mem_budget = 0;
  if (kind == TS_BACKEND_CPU && !ts_memory_budget_from_env (kind, &be->mem_budget)) {
    long pages = sysconf (_SC_PHYS_PAGES), page = sysconf (_SC_PAGESIZE);
    be->mem_budget = pages > 0 && page > 0 ? (guint64) pages * (guint64) page / 4 * 3 : 0;
  }
}

/* "1.5G" → bytes; FALSE when malformed. */
static gboolean
parse_size (const char *text, guint64 *bytes)
{
  char *end = NULL;
  double v = g_ascii_strtod (text, &end);
  if (end == text || !(v >= 0) || v > 1e18)
    return FALSE;
  double unit = 1;
  switch (g_ascii_toupper (*end)) {
  case 'K': unit = 1024.0; end++; break;
  case 'M': unit = 1048576.0; end++; break;
  case 'G': unit = 1073741824.0; end++; break;
  default: break;
  }
  if (*end == 'i' || *end == 'I')
    end++;
  if (*end == 'b' || *end == 'B')
    end++;
  if (*end != '\0' || v * unit > 1e18)
    return FALSE;
  *bytes = (guint64) (v * unit);
  return TRUE;
}

gboolean
ts_memory_budget_from_env (TsBackendKind kind, guint64 *bytes)
{
  const char *env = g_getenv ("TESSERA_MEMORY_BUDGET");
  if (!env || !*env)
    return FALSE;
  const char *name = kind == TS_BACKEND_CPU ? "cpu" : "vulkan";
  gboolean found = FALSE;
  g_auto (GStrv) items = g_strsplit (env, ",", -1);
  for (int i = 0; items[i]; i++) {
    char *item = g_strstrip (items[i]);
    char *sep = strpbrk (item, ":=");
    const char *size = sep ? sep + 1 : item;
    guint64 value;
    if (!parse_size (size, &value) ||
        (sep && g_ascii_strncasecmp (item, "cpu", sep - item) != 0 &&
         g_ascii_strncasecmp (item, "vulkan", sep - item) != 0)) {
      fprintf (stderr, "Tessera: TESSERA_MEMORY_BUDGET item \"%s\" is not SIZE or cpu:SIZE or "
               "vulkan:SIZE (SIZE like 512M or 2.5G); ignored\n", item);
      continue;
    }
    if (!sep || ((size_t) (sep - item) == strlen (name) &&
                 g_ascii_strncasecmp (item, name, sep - item) == 0)) {
      *bytes = value;
      found = TRUE;
    }
  }
  return found;
}

void
ts_backend_set_memory_budget (TsBackend *be, guint64 bytes)
{
  be->mem_budget = bytes;
}

guint64
ts_backend_get_memory_budget (const TsBackend *be)
{
  return be->mem_budget;
}

void
ts_backend_memory_usage (const TsBackend *be, guint64 *used, guint64 *peak)
{
  if (used)
    *used = be->mem_used;
  if (peak)
    *peak = be->mem_peak;
}

void
ts_backend_reset_memory_peak (TsBackend *be)
{
  be->mem_peak = be->mem_used;
}

void
ts_backend_trim (TsBackend *be)
{
  g_return_if_fail (be != NULL);
  if (be->klass->trim)
    be->klass->trim (be);
}

gboolean
ts_backend_is_lost (TsBackend *be)
{
  return be->klass->is_lost != NULL && be->klass->is_lost (be);
}

gboolean
ts_op_unsupported (TsBackend *be, const TsOp *op, GError **error)
{
  g_set_error (error, TS_ERROR, TS_ERROR_UNSUPPORTED, "the %s backend cannot run %s",
               ts_backend_name (be), ts_op_name (op->kind));
  return FALSE;
}

gboolean
ts_backend_run_op (TsBackend *be, const TsOp *op, GError **error)
{
  g_return_val_if_fail ((unsigned) op->kind < TS_OP_COUNT, FALSE);
  const TsBackendClass *klass = be->klass;
  GError *err = NULL;
  if (!klass->kernels) {
    g_set_error (error, TS_ERROR, TS_ERROR_UNSUPPORTED, "the %s backend runs no ops",
                 ts_backend_name (be));
    return FALSE;
  }
  if (klass->begin_op && !klass->begin_op (be, op, &err)) {
    g_propagate_error (error, err);
    return FALSE;
  }
  gboolean ok = klass->kernels[op->kind] (be, op, &err);
  if (klass->end_op)
    klass->end_op (be, op);
  if (!ok && !err)
    err = g_error_new (TS_ERROR, TS_ERROR_DEVICE, "%s failed", ts_op_name (op->kind));
  if (!ok)
    g_propagate_error (error, err);
  return ok;
}

void
ts_backend_finalize_base (TsBackend *be)
{
  g_clear_error (&be->error);
  g_clear_pointer (&be->wall_profile, g_hash_table_unref);
}

TsBackend *
ts_backend_new_cpu (int n_threads, GError **error)
{
  return ts_cpu_backend_new (n_threads, error);
}

const char *
ts_backend_cpu_kernels (TsPrecision precision, gboolean *native)
{
  const char *name = precision == TS_PRECISION_BF16   ? ts_cpu_bf16_kernel_name ()
                     : precision == TS_PRECISION_INT8 ? ts_cpu_int8_kernel_name ()
                                                      : "sgemm (OpenBLAS, f32)";
  if (native)
    *native = precision != TS_PRECISION_F32 && !g_str_has_prefix (name, "portable");
  return name;
}

TsBackend *
ts_backend_new_vulkan (int device_index, gboolean allow_cpu_device, GError **error)
{
  return ts_vulkan_backend_new (device_index, allow_cpu_device, error);
}

TsBackend *
ts_backend_new_from_spec (const char *spec, char **fallback_reason, GError **error)
{
  if (fallback_reason)
    *fallback_reason = NULL;
  if (!spec)
    spec = g_getenv ("TESSERA_DEVICE");
  if (!spec || !*spec || g_str_equal (spec, "auto")) {
    GError *vk_error = NULL;
    TsBackend *be = ts_vulkan_backend_new (-1, FALSE, &vk_error);
    if (be)
      return be;
    if (fallback_reason)
      *fallback_reason = g_strdup (vk_error->message);
    g_error_free (vk_error);
    return ts_cpu_backend_new (0, error);
  }
  if (g_str_equal (spec, "cpu"))
    return ts_cpu_backend_new (0, error);
  if (g_str_equal (spec, "vulkan"))
    return ts_vulkan_backend_new (-1, TRUE, error);
  if (g_str_has_prefix (spec, "vulkan:")) {
    char *end = NULL;
    gint64 index = g_ascii_strtoll (spec + 7, &end, 10);
    if (end != spec + 7 && *end == '\0' && index >= 0 && index < 1024)
      return ts_vulkan_backend_new ((int) index, TRUE, error);
  }
  g_set_error (error, TS_ERROR, TS_ERROR_INVALID_ARGUMENT,
               "unknown device \"%s\" (use auto, cpu, vulkan or vulkan:N)", spec);
  return NULL;
}

void
ts_backend_free (TsBackend *be)
{
  if (be)
    be->klass->destroy (be);
}

TsBackendKind
ts_backend_kind (const TsBackend *be)
{
  return be->kind;
}

const char *
ts_backend_name (const TsBackend *be)
{
  return be->klass->name;
}

char *
ts_backend_describe (TsBackend *be)
{
  return be->klass->describe (be);
}

gboolean
ts_backend_sync (TsBackend *be, GError **error)
{
  return be->klass->sync (be, error);
}

gboolean
ts_backend_has_error (const TsBackend *be)
{
  return be->error != NULL;
}

const GError *
ts_backend_peek_error (const TsBackend *be)
{
  return be->error;
}

gboolean
ts_backend_take_error (TsBackend *be, GError **error)
{
  if (!be->error)
    return FALSE;
  g_propagate_error (error, g_steal_pointer (&be->error));
  return TRUE;
}

void
ts_backend_propagate_error (TsBackend *be, GError *err)
{
  if (!err)
    return;
  if (be->error)
    g_error_free (err);
  else
    be->error = err;
}

void
ts_backend_set_error (TsBackend *be, GQuark domain, int code, const char *format, ...)
{
  if (be->error)
    return;
  va_list args;
  va_start (args, format);
  be->error = g_error_new_valist (domain, code, format, args);
  va_end (args);
}

void
ts_backend_set_profiling (TsBackend *be, gboolean enabled)
{
  be->profiling = enabled;
  if (be->klass->set_profiling)
    be->klass->set_profiling (be, enabled);
}

static int
compare_entries (gconstpointer a, gconstpointer b)
{
  double ta = ((const TsProfileEntry *) a)->seconds, tb = ((const TsProfileEntry *) b)->seconds;
  return (ta < tb) - (ta > tb);
}

TsProfileEntry *
ts_backend_profile (TsBackend *be, guint *n_entries)
{
  ts_backend_sync (be, NULL);
  if (be->klass->profile)
    return be->klass->profile (be, n_entries);

  guint n = g_hash_table_size (be->wall_profile), i = 0;
  TsProfileEntry *out = g_new0 (TsProfileEntry, n + 1);
  GHashTableIter iter;
  gpointer value;
  g_hash_table_iter_init (&iter, be->wall_profile);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    out[i++] = *(TsProfileEntry *) value;
  qsort (out, n, sizeof *out, compare_entries);
  *n_entries = n;
  return out;
}

void
ts_backend_profile_reset (TsBackend *be)
{
  if (be->klass->profile_reset)
    be->klass->profile_reset (be);
  g_hash_table_remove_all (be->wall_profile);
}

gboolean
ts_backend_measure_peak (TsBackend *be, double *gflops, double *gbytes_per_s, GError **error)
{
  if (!be->klass->measure_peak) {
    g_set_error (error, TS_ERROR, TS_ERROR_UNSUPPORTED,
                 "the %s backend has no peak microbenchmark", ts_backend_name (be));
    return FALSE;
  }
  return be->klass->measure_peak (be, gflops, gbytes_per_s, error);
}
