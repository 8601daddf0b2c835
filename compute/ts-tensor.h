/* ts-tensor.h — tensors: typed, strided views of memory owned by a backend. */
#pragma once

#include "ts-types.h"

G_BEGIN_DECLS

typedef struct _TsBackend TsBackend;
typedef struct _TsStorage TsStorage; /* backend-private memory block */

/* A tensor is a view (dtype, shape, strides in elements, byte offset) of a refcounted
 * storage. Views share storage; the storage is freed with its last tensor. Fields are
 * public for reading; create and change tensors only through the functions below. */
typedef struct _TsTensor {
  gint       ref_count;
  TsBackend *backend;
  TsStorage *storage;
  size_t     offset;              /* bytes from the start of storage */
  TsDType    dtype;
  int        ndim;                /* 1..TS_MAX_DIMS */
  int64_t    shape[TS_MAX_DIMS];  /* unused trailing entries are 1 */
  int64_t    stride[TS_MAX_DIMS]; /* in elements; 0 means broadcast */
} TsTensor;

/* New contiguous tensor with undefined contents. NULL (and the backend's error set) on failure. */
TsTensor *ts_tensor_new (TsBackend *backend, TsDType dtype, int ndim, const int64_t *shape);
/* New contiguous tensor holding a copy of `data` (contiguous, same dtype). */
TsTensor *ts_tensor_new_from_data (TsBackend *backend, TsDType dtype, int ndim,
                                   const int64_t *shape, const void *data);
/* New contiguous f32 tensor from f32 host data (any backend). */
TsTensor *ts_tensor_new_f32 (TsBackend *backend, int ndim, const int64_t *shape,
                             const float *data);

TsTensor *ts_tensor_ref (TsTensor *t);
void      ts_tensor_unref (TsTensor *t);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TsTensor, ts_tensor_unref)

int64_t  ts_tensor_numel (const TsTensor *t);
size_t   ts_tensor_nbytes (const TsTensor *t); /* numel × element size */
gboolean ts_tensor_is_contiguous (const TsTensor *t);
gboolean ts_tensor_same_shape (const TsTensor *a, const TsTensor *b);
/* "f32[2,77,768]" — for error messages; returns a newly allocated string. */
char    *ts_tensor_describe (const TsTensor *t);

/* Views: no data is copied. Each returns a new reference or NULL with an error. */
TsTensor *ts_tensor_reshape (TsTensor *t, int ndim, const int64_t *shape); /* contiguous only */
TsTensor *ts_tensor_slice (TsTensor *t, int axis, int64_t start, int64_t length);
TsTensor *ts_tensor_permute (TsTensor *t, const int *perm);  /* strides permuted, not copied */
TsTensor *ts_tensor_broadcast_to (TsTensor *t, int ndim, const int64_t *shape);

/* Copy between host memory and a tensor. The host side is dense, in the tensor's dtype
 * (read: any strides; write: contiguous tensors only). `size` must equal the tensor's bytes. */
gboolean ts_tensor_read (const TsTensor *t, void *dst, size_t size, GError **error);
gboolean ts_tensor_write (TsTensor *t, const void *src, size_t size, GError **error);
/* Read any float tensor as f32 into a new buffer (g_free it). */
float   *ts_tensor_read_f32 (const TsTensor *t, GError **error);

G_END_DECLS
