/* fuzz-safetensors.c — fuzz target for the safetensors reader (and, for files it accepts,
 * the loader and the writer): whatever the bytes, no crash, no out-of-bounds access, and an
 * accepted file must honour every promise the reader makes. */
#include "model/ts-safetensors-writer.h"

#include <string.h>

/* What ts_safetensors_new_from_bytes promises about an accepted file. */
static void
check_invariants (TsSafetensors *st, gsize size)
{
  guint64 prev_end = 0;
  for (guint i = 0; i < ts_safetensors_n_tensors (st); i++) {
    const TsSafetensorsTensor *t = ts_safetensors_get (st, i);
    g_assert (t->offset + t->nbytes <= size);
    g_assert (t->nbytes == t->numel * t->elem_size);
    g_assert (t->nbytes == 0 || t->offset >= prev_end);
    if (t->nbytes)
      prev_end = t->offset + t->nbytes;
    g_assert (ts_safetensors_lookup (st, t->name) == t);
  }
}

/* Reads every small loadable tensor, and writes what it read into a new file that must read
 * back identically. */
static void
roundtrip (TsSafetensors *st)
{
  g_autoptr (TsSafetensorsWriter) w = ts_safetensors_writer_new ();
  for (guint i = 0; i < ts_safetensors_n_tensors (st); i++) {
    const TsSafetensorsTensor *t = ts_safetensors_get (st, i);
    if (!t->loadable || t->numel > (1u << 20))
      continue;
    size_t size = (size_t) t->numel * ts_dtype_size (t->dtype);
    g_autofree void *buf = g_malloc (size ? size : 1);
    g_assert (ts_safetensors_read (st, t, t->dtype, buf, size, NULL));
    if (ts_dtype_is_float (t->dtype) && t->dtype != TS_DTYPE_F32) {
      g_autofree float *f = g_malloc (t->numel * sizeof (float) + 1);
      g_assert (ts_safetensors_read (st, t, TS_DTYPE_F32, f, t->numel * sizeof (float), NULL));
    }
    g_assert (ts_safetensors_writer_add (w, t->name, t->dtype, t->ndim, t->shape, buf, NULL));
  }
  g_autoptr (GBytes) out = ts_safetensors_writer_to_bytes (w, NULL);
  g_assert (out);
  g_autoptr (GError) error = NULL;
  g_autoptr (TsSafetensors) again = ts_safetensors_new_from_bytes (out, "roundtrip", &error);
  g_assert_no_error (error);
  for (guint i = 0; i < ts_safetensors_n_tensors (again); i++) {
    const TsSafetensorsTensor *b = ts_safetensors_get (again, i);
    const TsSafetensorsTensor *a = ts_safetensors_lookup (st, b->name);
    g_assert (a && a->numel == b->numel && a->ndim == b->ndim);
    if (g_str_equal (a->dtype_name, b->dtype_name))
      g_assert (memcmp (ts_safetensors_data (st, a), ts_safetensors_data (again, b), a->nbytes) == 0);
  }
}

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr (GBytes) bytes = g_bytes_new_static (data, size);
  GError *error = NULL;
  TsSafetensors *st = ts_safetensors_new_from_bytes (bytes, "fuzz.safetensors", &error);
  if (!st) {
    g_assert (error && error->domain == TS_ERROR && error->code == TS_ERROR_CORRUPT);
    g_assert (g_str_has_prefix (error->message, "fuzz.safetensors: "));
    g_error_free (error);
    return 0;
  }
  check_invariants (st, size);
  roundtrip (st);
  ts_safetensors_unref (st);
  return 0;
}
