/* ts-safetensors.h — reading and writing .safetensors files.
 *
 * Format: u64 little-endian header length N, N bytes of UTF-8 JSON
 *   { "<name>": {"dtype": "F32", "shape": [d0, ...], "data_offsets": [begin, end]}, ...,
 *     "__metadata__": {"key": "value", ...} }
 * then the data section; offsets are relative to its first byte, tensors are row-major and
 * little-endian.
 *
 * The reader maps the file and validates the whole header before anything is handed out, so a
 * TsSafetensors only ever describes tensors that lie inside the file, do not overlap and whose
 * byte length matches dtype × shape. */
#pragma once

#include "../ts-backend.h"

G_BEGIN_DECLS

/* Dimensions a file may declare (loading into the engine is limited to TS_MAX_DIMS). */
#define TS_SAFETENSORS_MAX_DIMS 8
/* The header may be at most this long (the reference implementation's limit). */
#define TS_SAFETENSORS_MAX_HEADER (100u * 1024u * 1024u)

typedef struct _TsSafetensors TsSafetensors;

typedef struct {
  const char *name;
  const char *dtype_name;  /* as written in the file: "F32", "F64", "I16", ... */
  TsDType     dtype;       /* the engine dtype it loads as (F64 loads as F32, BOOL as U8) */
  gboolean    loadable;    /* FALSE for dtypes the engine has no equivalent of (I16, F8, ...) */
  size_t      elem_size;   /* bytes per element in the file */
  int         ndim;        /* 0 (a scalar) .. TS_SAFETENSORS_MAX_DIMS */
  int64_t     shape[TS_SAFETENSORS_MAX_DIMS];
  guint64     numel;
  guint64     offset;      /* from the start of the file */
  guint64     nbytes;
} TsSafetensorsTensor;

/* Maps `path` read-only and validates it. */
TsSafetensors *ts_safetensors_open (const char *path, GError **error);
/* The same over bytes in memory; `display_name` names it in errors. */
TsSafetensors *ts_safetensors_new_from_bytes (GBytes *bytes, const char *display_name,
                                              GError **error);
TsSafetensors *ts_safetensors_ref (TsSafetensors *st);
void           ts_safetensors_unref (TsSafetensors *st);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TsSafetensors, ts_safetensors_unref)

const char *ts_safetensors_path (const TsSafetensors *st);
/* TRUE when the file's bytes are a read-only private mapping of the file (ts_safetensors_open),
 * whose pages can be given back and read again from the file; FALSE for memory. */
gboolean    ts_safetensors_is_mapped (const TsSafetensors *st);
/* A mapped file's pages out of this process's memory (MADV_DONTNEED); tensors over them stay
 * valid and read the same bytes again from the file. Nothing for memory. */
void        ts_safetensors_release_pages (TsSafetensors *st);
guint       ts_safetensors_n_tensors (const TsSafetensors *st);
/* Tensors in file order (by offset). */
const TsSafetensorsTensor *ts_safetensors_get (const TsSafetensors *st, guint index);
/* NULL when there is no tensor of that name. */
const TsSafetensorsTensor *ts_safetensors_lookup (const TsSafetensors *st, const char *name);
/* A `__metadata__` value, or NULL. */
const char *ts_safetensors_metadata (const TsSafetensors *st, const char *key);
/* All metadata keys, sorted; free the container with g_free (the strings are the file's). */
const char **ts_safetensors_metadata_keys (const TsSafetensors *st, guint *n_keys);
/* The tensor's bytes inside the mapping (valid while `st` lives). */
const void *ts_safetensors_data (const TsSafetensors *st, const TsSafetensorsTensor *info);
/* Bytes held by tensors (the data section without gaps). */
guint64     ts_safetensors_data_bytes (const TsSafetensors *st);

/* Copies a tensor into host memory as `dtype` (converting between float types; integer
 * types only as themselves). `size` must be numel × the size of `dtype`. */
gboolean ts_safetensors_read (const TsSafetensors *st, const TsSafetensorsTensor *info,
                              TsDType dtype, void *dst, size_t size, GError **error);

/* A backend tensor of `info`, converted to `dtype` (TS_DTYPE_COUNT: as stored). When no
 * conversion is needed and the backend can wrap host memory (the CPU backend), the tensor
 * points into the mapped file and keeps the mapping alive; otherwise the data is copied.
 * Wrapped tensors are read-only (the mapping is): use them as op inputs, never write into
 * them. Scalars load as shape [1]. */
TsTensor *ts_safetensors_load (TsSafetensors *st, const TsSafetensorsTensor *info,
                               TsBackend *backend, TsDType dtype, GError **error);

/* Safetensors dtype name of an engine dtype ("F32", ...). */
const char *ts_safetensors_dtype_name (TsDType dtype);

G_END_DECLS
