/* ts-safetensors-load.c — turning a validated safetensors entry into host data or a backend
 * tensor, converting dtypes where asked. */
#include "ts-safetensors-private.h"
#include "../ts-backend-private.h"

#include <string.h>

static gboolean
is_float_file_dtype (const TsSafetensorsTensor *info)
{
  return g_str_equal (info->dtype_name, "F64") || ts_dtype_is_float (info->dtype);
}

static gboolean
check_conversion (const TsSafetensors *st, const TsSafetensorsTensor *info, TsDType dtype,
                  GError **error)
{
  if (!info->loadable) {
    g_set_error (error, TS_ERROR, TS_ERROR_UNSUPPORTED, "%s: tensor \"%s\": dtype %s cannot be "
                 "loaded", st->path, info->name, info->dtype_name);
    return FALSE;
  }
  if ((unsigned) dtype >= TS_DTYPE_COUNT) {
    g_set_error (error, TS_ERROR, TS_ERROR_INVALID_ARGUMENT, "invalid dtype %d", dtype);
    return FALSE;
  }
  gboolean ok = is_float_file_dtype (info) ? ts_dtype_is_float (dtype) : dtype == info->dtype;
  if (!ok) {
    g_set_error (error, TS_ERROR, TS_ERROR_INVALID_ARGUMENT, "%s: tensor \"%s\" is %s and "
                 "cannot be read as %s", st->path, info->name, info->dtype_name,
                 ts_dtype_name (dtype));
    return FALSE;
  }
  return TRUE;
}

/* The file's bytes at an address suitably aligned for their element type: mapped data is
 * only as aligned as the writer made it, and the converters read whole elements. */
static const void *
aligned_source (const TsSafetensors *st, const TsSafetensorsTensor *info, void **copy)
{
  const void *src = ts_safetensors_data (st, info);
  *copy = NULL;
  if ((uintptr_t) src % info->elem_size == 0)
    return src;
  *copy = g_try_malloc (info->nbytes);
  if (*copy)
    memcpy (*copy, src, info->nbytes);
  return *copy;
}

static void
f64_to_f32 (const double *src, float *dst, size_t n)
{
  for (size_t i = 0; i < n; i++)
    dst[i] = (float) src[i];
}

gboolean
ts_safetensors_read (const TsSafetensors *st, const TsSafetensorsTensor *info, TsDType dtype,
                     void *dst, size_t size, GError **error)
{
  if (!check_conversion (st, info, dtype, error))
    return FALSE;
  size_t n = (size_t) info->numel;
  if (size != n * ts_dtype_size (dtype)) {
    g_set_error (error, TS_ERROR, TS_ERROR_INVALID_ARGUMENT, "%s: tensor \"%s\": %zu bytes "
                 "asked for, %zu needed as %s", st->path, info->name, size,
                 n * ts_dtype_size (dtype), ts_dtype_name (dtype));
    return FALSE;
  }
  if (n == 0)
    return TRUE;
  if (info->dtype == dtype && !g_str_equal (info->dtype_name, "F64")) {
    memcpy (dst, ts_safetensors_data (st, info), size);
    return TRUE;
  }

  void *copy = NULL, *tmp = NULL;
  const void *src = aligned_source (st, info, &copy);
  gboolean f64 = g_str_equal (info->dtype_name, "F64");
  if (src && f64 && dtype != TS_DTYPE_F32)
    tmp = g_try_malloc (n * sizeof (float));
  gboolean ok = src && (!f64 || dtype == TS_DTYPE_F32 || tmp);
  if (ok && f64) {
    f64_to_f32 (src, tmp ? tmp : dst, n);
    if (tmp)
      ts_convert (tmp, TS_DTYPE_F32, dst, dtype, n);
  } else if (ok) {
    ts_convert (src, info->dtype, dst, dtype, n);
  }
  g_free (tmp);
  g_free (copy);
  if (!ok)
    g_set_error (error, TS_ERROR, TS_ERROR_OUT_OF_MEMORY, "%s: out of memory converting tensor "
                 "\"%s\"", st->path, info->name);
  return ok;
}

/* A tensor over the mapped bytes. The storage holds a reference to the file's bytes, released
 * by the backend when the storage dies, so weights outlive the TsSafetensors handle. */
static TsTensor *
wrap_mapped (TsSafetensors *st, const TsSafetensorsTensor *info, TsBackend *be, int ndim,
             const int64_t *shape, GError **error)
{
  GBytes *owner = g_bytes_ref (st->bytes);
  TsTensor *t = ts_tensor_new_wrapped (be, info->dtype, ndim, shape,
                                       ts_safetensors_data (st, info),
                                       (GDestroyNotify) g_bytes_unref, owner, error);
  if (!t)
    g_bytes_unref (owner);
  return t;
}

static TsTensor *
copy_converted (TsSafetensors *st, const TsSafetensorsTensor *info, TsBackend *be,
                TsDType dtype, int ndim, const int64_t *shape, GError **error)
{
  size_t size = (size_t) info->numel * ts_dtype_size (dtype);
  const void *src = ts_safetensors_data (st, info);
  void *buf = NULL;
  if (info->dtype != dtype || g_str_equal (info->dtype_name, "F64")) {
    buf = g_try_malloc (size);
    if (!buf) {
      g_set_error (error, TS_ERROR, TS_ERROR_OUT_OF_MEMORY, "%s: out of memory loading tensor "
                   "\"%s\"", st->path, info->name);
      return NULL;
    }
    if (!ts_safetensors_read (st, info, dtype, buf, size, error)) {
      g_free (buf);
      return NULL;
    }
    src = buf;
  }
  TsTensor *t = ts_tensor_new_from_data (be, dtype, ndim, shape, src);
  g_free (buf);
  if (!t && !ts_backend_take_error (be, error))
    g_set_error (error, TS_ERROR, TS_ERROR_DEVICE, "%s: could not create tensor \"%s\"",
                 st->path, info->name);
  return t;
}

TsTensor *
ts_safetensors_load (TsSafetensors *st, const TsSafetensorsTensor *info, TsBackend *be,
                     TsDType dtype, GError **error)
{
  g_return_val_if_fail (st != NULL && info != NULL && be != NULL, NULL);
  if (dtype == TS_DTYPE_COUNT)
    dtype = info->dtype;
  if (!check_conversion (st, info, dtype, error))
    return NULL;
  if (info->ndim > TS_MAX_DIMS || info->numel == 0) {
    g_autofree char *what = info->numel == 0 ? g_strdup ("has no elements")
                                              : g_strdup_printf ("has %d dimensions (at most %d)",
                                                                 info->ndim, TS_MAX_DIMS);
    g_set_error (error, TS_ERROR, TS_ERROR_UNSUPPORTED, "%s: tensor \"%s\" %s", st->path,
                 info->name, what);
    return NULL;
  }
  int ndim = info->ndim ? info->ndim : 1;
  const int64_t scalar_shape[1] = { 1 };
  const int64_t *shape = info->ndim ? info->shape : scalar_shape;

  gboolean same = dtype == info->dtype && !g_str_equal (info->dtype_name, "F64");
  uintptr_t addr = (uintptr_t) ts_safetensors_data (st, info);
  if (same && be->klass->storage_wrap && addr % info->elem_size == 0)
    return wrap_mapped (st, info, be, ndim, shape, error);
  return copy_converted (st, info, be, dtype, ndim, shape, error);
}
