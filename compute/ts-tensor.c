/* ts-tensor.c — tensor creation, views and host transfers (backend-independent). */
#include "ts-backend-private.h"
#include "ts-fault.h"

#include <string.h>

/* The size in bytes of a dense tensor of this shape, or 0 (with the backend's error set) when
 * the shape is invalid. Each dimension is checked before it is multiplied in, so a hostile
 * shape cannot overflow. */
static guint64
shape_bytes (TsBackend *be, int ndim, const int64_t *shape, TsDType dtype)
{
  if (ndim < 1 || ndim > TS_MAX_DIMS) {
    ts_backend_set_error (be, TS_ERROR, TS_ERROR_INVALID_ARGUMENT,
                          "tensors have 1 to %d dimensions, not %d", TS_MAX_DIMS, ndim);
    return 0;
  }
  if ((unsigned) dtype >= TS_DTYPE_COUNT) {
    ts_backend_set_error (be, TS_ERROR, TS_ERROR_INVALID_ARGUMENT, "unknown dtype %d", dtype);
    return 0;
  }
  guint64 n = ts_dtype_size (dtype);
  for (int i = 0; i < ndim; i++) {
    if (shape[i] < 1 || (guint64) shape[i] > G_MAXINT64 / 16 / n) {
      ts_backend_set_error (be, TS_ERROR, TS_ERROR_INVALID_ARGUMENT,
                            "invalid size %" G_GINT64_FORMAT " in dimension %d", shape[i], i);
      return 0;
    }
    n *= (guint64) shape[i];
  }
  return n;
}

static void
set_contiguous_strides (TsTensor *t)
{
  int64_t s = 1;
  for (int i = TS_MAX_DIMS - 1; i >= 0; i--) {
    if (i >= t->ndim)
      t->shape[i] = 1;
    t->stride[i] = s;
    s *= t->shape[i];
  }
}

static TsTensor *
tensor_alloc_header (TsBackend *be, TsStorage *storage, TsDType dtype, int ndim,
                     const int64_t *shape)
{
  TsTensor *t = g_new0 (TsTensor, 1);
  t->ref_count = 1;
  t->backend = be;
  t->storage = storage;
  t->dtype = dtype;
  t->ndim = ndim;
  memcpy (t->shape, shape, sizeof (int64_t) * ndim);
  set_contiguous_strides (t);
  return t;
}

/* The budget is checked before the backend is asked, so a request that cannot fit never
 * reaches the system allocator or the driver (whose failures may be slow or fatal). */
static gboolean
budget_allows (TsBackend *be, guint64 bytes)
{
  if (ts_fault_hit (TS_FAULT_ALLOC)) {
    ts_backend_set_error (be, TS_ERROR, TS_ERROR_OUT_OF_MEMORY,
                          "%s: out of memory allocating %.1f MiB (injected by TESSERA_FAULT)",
                          ts_backend_name (be), bytes / 1048576.0);
    return FALSE;
  }
  if (be->mem_budget > 0 && (bytes > be->mem_budget || be->mem_used > be->mem_budget - bytes)) {
    ts_backend_set_error (be, TS_ERROR, TS_ERROR_OUT_OF_MEMORY,
                          "%s: %.1f MiB more do not fit in the memory budget of %.1f MiB "
                          "(%.1f MiB in use; see TESSERA_MEMORY_BUDGET)", ts_backend_name (be),
                          bytes / 1048576.0, be->mem_budget / 1048576.0,
                          be->mem_used / 1048576.0);
    return FALSE;
  }
  return TRUE;
}

TsTensor *
ts_tensor_new_uninit (TsBackend *be, TsDType dtype, int ndim, const int64_t *shape)
{
  guint64 bytes = shape_bytes (be, ndim, shape, dtype);
  if (!bytes || !budget_allows (be, bytes))
    return NULL;
  GError *err = NULL;
  TsStorage *s = be->klass->storage_new (be, bytes, &err);
  if (!s) {
    ts_backend_propagate_error (be, err);
    return NULL;
  }
  s->ref_count = 1;
  s->size = bytes;
  s->charged = bytes;
  be->mem_used += bytes;
  be->mem_peak = MAX (be->mem_peak, be->mem_used);
  return tensor_alloc_header (be, s, dtype, ndim, shape);
}

TsTensor *
ts_tensor_new_wrapped (TsBackend *be, TsDType dtype, int ndim, const int64_t *shape,
                       const void *data, GDestroyNotify release, gpointer owner, GError **error)
{
  if (!be->klass->storage_wrap) {
    g_set_error (error, TS_ERROR, TS_ERROR_UNSUPPORTED,
                 "the %s backend cannot use host memory in place", ts_backend_name (be));
    return NULL;
  }
  guint64 bytes = shape_bytes (be, ndim, shape, dtype);
  if (!bytes) {
    ts_backend_take_error (be, error);
    return NULL;
  }
  TsStorage *s = be->klass->storage_wrap (be, data, bytes, release, owner, error);
  if (!s)
    return NULL;
  s->ref_count = 1;
  s->size = bytes;
  s->charged = 0;
  return tensor_alloc_header (be, s, dtype, ndim, shape);
}

TsTensor *
ts_tensor_new (TsBackend *be, TsDType dtype, int ndim, const int64_t *shape)
{
  g_return_val_if_fail (be != NULL && shape != NULL, NULL);
  return ts_tensor_new_uninit (be, dtype, ndim, shape);
}

TsTensor *
ts_tensor_new_from_data (TsBackend *be, TsDType dtype, int ndim, const int64_t *shape,
                         const void *data)
{
  g_return_val_if_fail (be != NULL && shape != NULL && data != NULL, NULL);
  TsTensor *t = ts_tensor_new_uninit (be, dtype, ndim, shape);
  if (!t)
    return NULL;
  GError *err = NULL;
  if (!ts_tensor_write (t, data, ts_tensor_nbytes (t), &err)) {
    ts_backend_propagate_error (be, err);
    ts_tensor_unref (t);
    return NULL;
  }
  return t;
}

TsTensor *
ts_tensor_new_f32 (TsBackend *be, int ndim, const int64_t *shape, const float *data)
{
  return ts_tensor_new_from_data (be, TS_DTYPE_F32, ndim, shape, data);
}

TsTensor *
ts_tensor_ref (TsTensor *t)
{
  g_return_val_if_fail (t != NULL, NULL);
  g_atomic_int_inc (&t->ref_count);
  return t;
}

void
ts_tensor_unref (TsTensor *t)
{
  if (!t || !g_atomic_int_dec_and_test (&t->ref_count))
    return;
  ts_storage_unref (t->backend, t->storage);
  g_free (t);
}

TsStorage *
ts_storage_ref (TsStorage *s)
{
  g_atomic_int_inc (&s->ref_count);
  return s;
}

void
ts_storage_unref (TsBackend *be, TsStorage *s)
{
  if (s && g_atomic_int_dec_and_test (&s->ref_count)) {
    be->mem_used -= MIN (s->charged, be->mem_used);
    be->klass->storage_free (be, s);
  }
}

int64_t
ts_tensor_numel (const TsTensor *t)
{
  int64_t n = 1;
  for (int i = 0; i < t->ndim; i++)
    n *= t->shape[i];
  return n;
}

int64_t
ts_tensor_rows (const TsTensor *t)
{
  return ts_tensor_numel (t) / t->shape[t->ndim - 1];
}

size_t
ts_tensor_nbytes (const TsTensor *t)
{
  return (size_t) ts_tensor_numel (t) * ts_dtype_size (t->dtype);
}

gboolean
ts_tensor_is_contiguous (const TsTensor *t)
{
  int64_t s = 1;
  for (int i = t->ndim - 1; i >= 0; i--) {
    if (t->shape[i] != 1 && t->stride[i] != s)
      return FALSE;
    s *= t->shape[i];
  }
  return TRUE;
}

gboolean
ts_tensor_same_shape (const TsTensor *a, const TsTensor *b)
{
  if (a->ndim != b->ndim)
    return FALSE;
  for (int i = 0; i < a->ndim; i++)
    if (a->shape[i] != b->shape[i])
      return FALSE;
  return TRUE;
}

char *
ts_tensor_describe (const TsTensor *t)
{
  if (!t)
    return g_strdup ("(null)");
  GString *s = g_string_new (ts_dtype_name (t->dtype));
  g_string_append_c (s, '[');
  for (int i = 0; i < t->ndim; i++)
    g_string_append_printf (s, "%s%" G_GINT64_FORMAT, i ? "," : "", t->shape[i]);
  g_string_append_c (s, ']');
  return g_string_free (s, FALSE);
}

static TsTensor *
tensor_view (TsTensor *t)
{
  TsTensor *v = g_new (TsTensor, 1);
  *v = *t;
  v->ref_count = 1;
  ts_storage_ref (v->storage);
  return v;
}

TsTensor *
ts_tensor_reshape (TsTensor *t, int ndim, const int64_t *shape)
{
  if (!t)
    return NULL;
  TsBackend *be = t->backend;
  guint64 bytes = shape_bytes (be, ndim, shape, t->dtype);
  if (!bytes)
    return NULL;
  int64_t n = (int64_t) (bytes / ts_dtype_size (t->dtype));
  if (n != ts_tensor_numel (t) || !ts_tensor_is_contiguous (t)) {
    g_autofree char *d = ts_tensor_describe (t);
    ts_backend_set_error (be, TS_ERROR, TS_ERROR_INVALID_ARGUMENT,
                          "cannot reshape %s%s to %" G_GINT64_FORMAT " elements", d,
                          ts_tensor_is_contiguous (t) ? "" : " (not contiguous)", n);
    return NULL;
  }
  TsTensor *v = tensor_view (t);
  v->ndim = ndim;
  memcpy (v->shape, shape, sizeof (int64_t) * ndim);
  set_contiguous_strides (v);
  return v;
}

TsTensor *
ts_tensor_slice (TsTensor *t, int axis, int64_t start, int64_t length)
{
  if (!t)
    return NULL;
  if (axis < 0 || axis >= t->ndim || start < 0 || length < 1 || start > t->shape[axis] - length) {
    g_autofree char *d = ts_tensor_describe (t);
    ts_backend_set_error (t->backend, TS_ERROR, TS_ERROR_INVALID_ARGUMENT,
                          "slice [%" G_GINT64_FORMAT ", +%" G_GINT64_FORMAT ") of axis %d is "
                          "outside %s", start, length, axis, d);
    return NULL;
  }
  TsTensor *v = tensor_view (t);
  v->offset += (size_t) (start * t->stride[axis]) * ts_dtype_size (t->dtype);
  v->shape[axis] = length;
  return v;
}

TsTensor *
ts_tensor_permute (TsTensor *t, const int *perm)
{
  if (!t)
    return NULL;
  gboolean seen[TS_MAX_DIMS] = { FALSE };
  for (int i = 0; i < t->ndim; i++) {
    if (perm[i] < 0 || perm[i] >= t->ndim || seen[perm[i]]) {
      ts_backend_set_error (t->backend, TS_ERROR, TS_ERROR_INVALID_ARGUMENT,
                            "invalid permutation for a %d-D tensor", t->ndim);
      return NULL;
    }
    seen[perm[i]] = TRUE;
  }
  TsTensor *v = tensor_view (t);
  for (int i = 0; i < t->ndim; i++) {
    v->shape[i] = t->shape[perm[i]];
    v->stride[i] = t->stride[perm[i]];
  }
  return v;
}

TsTensor *
ts_tensor_broadcast_to (TsTensor *t, int ndim, const int64_t *shape)
{
  if (!t)
    return NULL;
  if (ndim < t->ndim || ndim > TS_MAX_DIMS)
    goto fail;
  TsTensor tmp = *t;
  int shift = ndim - t->ndim;
  for (int i = ndim - 1; i >= 0; i--) {
    int src = i - shift;
    int64_t have = src >= 0 ? t->shape[src] : 1;
    if (have != shape[i] && have != 1)
      goto fail;
    tmp.shape[i] = shape[i];
    tmp.stride[i] = (src >= 0 && have == shape[i]) ? t->stride[src] : 0;
  }
  tmp.ndim = ndim;
  TsTensor *v = tensor_view (&tmp);
  return v;

fail:;
  g_autofree char *d = ts_tensor_describe (t);
  ts_backend_set_error (t->backend, TS_ERROR, TS_ERROR_INVALID_ARGUMENT,
                        "cannot broadcast %s to %d dimensions", d, ndim);
  return NULL;
}

gboolean
ts_tensor_write (TsTensor *t, const void *src, size_t size, GError **error)
{
  g_return_val_if_fail (t != NULL && src != NULL, FALSE);
  if (!ts_tensor_is_contiguous (t) || size != ts_tensor_nbytes (t)) {
    g_set_error (error, TS_ERROR, TS_ERROR_INVALID_ARGUMENT,
                 "write of %zu bytes into a %s tensor of %zu bytes", size,
                 ts_tensor_is_contiguous (t) ? "contiguous" : "strided", ts_tensor_nbytes (t));
    return FALSE;
  }
  TsBackend *be = t->backend;
  return be->klass->storage_write (be, t->storage, t->offset, src, size, error);
}

gboolean
ts_tensor_read (const TsTensor *t, void *dst, size_t size, GError **error)
{
  g_return_val_if_fail (t != NULL && dst != NULL, FALSE);
  if (size != ts_tensor_nbytes (t)) {
    g_set_error (error, TS_ERROR, TS_ERROR_INVALID_ARGUMENT,
                 "read of %zu bytes from a tensor of %zu bytes", size, ts_tensor_nbytes (t));
    return FALSE;
  }
  TsBackend *be = t->backend;
  if (ts_tensor_is_contiguous (t))
    return be->klass->storage_read (be, t->storage, t->offset, dst, size, error);

  /* Strided: let the backend make a contiguous copy, then read that. */
  g_autoptr (TsTensor) c = ts_copy (be, (TsTensor *) t, t->dtype);
  if (!c)
    return ts_backend_take_error (be, error), FALSE;
  return be->klass->storage_read (be, c->storage, c->offset, dst, size, error);
}

float *
ts_tensor_read_f32 (const TsTensor *t, GError **error)
{
  g_return_val_if_fail (t != NULL, NULL);
  if (!ts_dtype_is_float (t->dtype)) {
    g_set_error (error, TS_ERROR, TS_ERROR_INVALID_ARGUMENT,
                 "%s tensor read as f32", ts_dtype_name (t->dtype));
    return NULL;
  }
  size_t n = (size_t) ts_tensor_numel (t);
  float *out = g_try_malloc (n * sizeof (float));
  void *raw = t->dtype == TS_DTYPE_F32 ? (void *) out : g_try_malloc (ts_tensor_nbytes (t));
  if (!out || !raw) {
    g_set_error (error, TS_ERROR, TS_ERROR_OUT_OF_MEMORY, "out of memory reading %zu values", n);
    if (raw != out)
      g_free (raw);
    g_free (out);
    return NULL;
  }
  gboolean ok = ts_tensor_read (t, raw, ts_tensor_nbytes (t), error);
  if (raw != out) {
    if (ok)
      ts_convert (raw, t->dtype, out, TS_DTYPE_F32, n);
    g_free (raw);
  }
  if (!ok) {
    g_free (out);
    return NULL;
  }
  return out;
}
