/* vk-split.c — see vk-split.h. */
#include "vk-split.h"

/* ---- spans ---- */

/* Bytes of `es`-byte elements one binding may hold, from a span's first element to its
 * last: room is left for aligning the binding's start down to minStorageBufferOffsetAlignment
 * and, for elements narrower than a word, for rounding its end up to a whole word. Whole
 * 32- and 64-bit elements start and end on words already. */
static int64_t
budget_bytes (TsVkBackend *vk, size_t es)
{
  const TsVkLimits *l = ts_vk_limits (vk);
  return (int64_t) l->max_storage_range - (int64_t) l->min_storage_alignment - (es < 4 ? 4 : 0);
}

/* The most elements of `es` bytes a span may have (< 1 when not even one fits). */
static int64_t
max_span_elements (TsVkBackend *vk, size_t es)
{
  int64_t budget = budget_bytes (vk, es);
  return budget < 0 ? 0 : budget / (int64_t) es;
}

int64_t
ts_vk_span_index (const TsTensor *t, const int64_t *idx)
{
  int64_t e = 0;
  for (int i = 0; i < t->ndim; i++)
    e += idx[i] * t->stride[i];
  return e;
}

TsVkSpan
ts_vk_span_box (const TsTensor *t, const int64_t *start, const int64_t *len)
{
  int64_t last[TS_MAX_DIMS];
  for (int i = 0; i < t->ndim; i++)
    last[i] = start[i] + len[i] - 1;
  /* Strides are never negative (views only slice, permute and broadcast). */
  return (TsVkSpan) { t, ts_vk_span_index (t, start), ts_vk_span_index (t, last) };
}

gboolean
ts_vk_span_fits (TsVkBackend *vk, const TsVkSpan *span)
{
  return span->hi - span->lo + 1 <= max_span_elements (vk, ts_dtype_size (span->t->dtype));
}

gboolean
ts_vk_span_bind (TsVkBackend *vk, const TsVkSpan *span, gboolean writes,
                 TsVkBinding *binding, uint32_t *elem_offset, GError **error)
{
  const TsTensor *t = span->t;
  size_t es = ts_dtype_size (t->dtype);
  size_t begin = t->offset + (size_t) span->lo * es;
  size_t end = t->offset + (size_t) (span->hi + 1) * es;
  /* The runtime extends bindings to whole 32-bit words, which 16-bit reads rely on. */
  return ts_vk_bind_bytes (vk, t, begin, end, es, writes, binding, elem_offset, error);
}

gboolean
ts_vk_halve (int64_t *len)
{
  if (*len <= 1)
    return FALSE;
  *len = (*len + 1) / 2;
  return TRUE;
}

int64_t
ts_vk_items_per_binding (TsVkBackend *vk, size_t item_bytes, int64_t max_items)
{
  /* Items of any dtype: leave the room of the narrowest (a word for the end). */
  int64_t n = budget_bytes (vk, 1) / (int64_t) MAX (item_bytes, 1);
  return CLAMP (n, 0, max_items);
}

/* ---- the box walker ---- */

/* The largest chunk of dimension d (dimensions after d whole) that keeps every tensor's
 * span within one binding and the box within TS_VK_MAX_BOX_ELEMENTS; 0 when none does. */
static int64_t
max_chunk (TsVkSplit *s, TsVkBackend *vk, int d)
{
  int64_t inner_elems = 1, chunk = s->shape[d];
  for (int j = d + 1; j < 4; j++)
    inner_elems *= s->shape[j];
  if (inner_elems > TS_VK_MAX_BOX_ELEMENTS)
    return 0;
  chunk = MIN (chunk, TS_VK_MAX_BOX_ELEMENTS / inner_elems);
  for (int k = 0; k < s->n; k++) {
    int64_t inner = 0;
    for (int j = d + 1; j < 4; j++)
      inner += (s->shape[j] - 1) * s->stride[k][j];
    /* A span of (chunk − 1)·stride + inner + 1 elements. */
    int64_t room = max_span_elements (vk, ts_dtype_size (s->t[k]->dtype)) - 1 - inner;
    if (room < 0)
      return 0;
    if (s->stride[k][d] > 0)
      chunk = MIN (chunk, room / s->stride[k][d] + 1);
  }
  return chunk;
}

gboolean
ts_vk_split_init (TsVkSplit *s, TsVkBackend *vk, int ndim, const int64_t *shape,
                  const TsTensor *const *tensors, int n, int max_depth, GError **error)
{
  g_return_val_if_fail (n <= TS_VK_SPLIT_MAX_TENSORS && ndim >= 1 && ndim <= 4, FALSE);
  *s = (TsVkSplit) { .n = n };
  for (int i = 0; i < 4; i++) {
    int src = i - (4 - ndim);
    s->shape[i] = src >= 0 ? shape[src] : 1;
    for (int k = 0; k < n; k++) {
      const TsTensor *t = tensors[k];
      int ts = i - (4 - t->ndim);
      s->stride[k][i] = ts >= 0 && s->shape[i] > 1 ? t->stride[ts] : 0;
    }
  }
  for (int k = 0; k < n; k++)
    s->t[k] = tensors[k];
  for (int i = 0; i < 4; i++)
    if (s->shape[i] == 0)
      s->done = TRUE; /* nothing to do */
  if (s->done)
    return TRUE;
  for (s->depth = 0; s->depth < 4; s->depth++) {
    s->chunk = max_chunk (s, vk, s->depth);
    if (s->chunk > 0)
      break;
  }
  if (s->depth > max_depth || s->depth == 4) {
    g_set_error (error, TS_ERROR, TS_ERROR_UNSUPPORTED,
                 "Vulkan: tensor too large for the device's storage-buffer range "
                 "(%" G_GUINT64_FORMAT " bytes) even when split",
                 (guint64) ts_vk_limits (vk)->max_storage_range);
    return FALSE;
  }
  return TRUE;
}

gboolean
ts_vk_split_next (TsVkSplit *s, TsVkBox *box)
{
  if (s->done)
    return FALSE;
  for (int i = 0; i < 4; i++) {
    box->start[i] = i <= s->depth ? s->pos[i] : 0;
    box->count[i] = i < s->depth ? 1 : i == s->depth ? MIN (s->chunk, s->shape[i] - s->pos[i])
                                                     : s->shape[i];
  }
  /* Advance like an odometer: the chunked dimension fastest. */
  s->pos[s->depth] += s->chunk;
  for (int i = s->depth; i >= 0 && s->pos[i] >= s->shape[i]; i--) {
    s->pos[i] = 0;
    if (i == 0)
      s->done = TRUE;
    else
      s->pos[i - 1]++;
  }
  return TRUE;
}

int64_t
ts_vk_box_numel (const TsVkBox *box)
{
  return box->count[0] * box->count[1] * box->count[2] * box->count[3];
}

TsVkSpan
ts_vk_split_span (const TsVkSplit *s, int k, const TsVkBox *box)
{
  int64_t first = 0, last = 0;
  for (int i = 0; i < 4; i++) {
    first += box->start[i] * s->stride[k][i];
    last += (box->count[i] - 1) * s->stride[k][i];
  }
  return (TsVkSpan) { s->t[k], first, first + last };
}

gboolean
ts_vk_split_bind (TsVkSplit *s, TsVkBackend *vk, int k, const TsVkBox *box, gboolean writes,
                  TsVkBinding *binding, uint32_t *elem_offset, uint32_t stride[4],
                  GError **error)
{
  for (int i = 0; i < 4; i++)
    stride[i] = box->count[i] > 1 ? (uint32_t) s->stride[k][i] : 0;
  TsVkSpan span = ts_vk_split_span (s, k, box);
  return ts_vk_span_bind (vk, &span, writes, binding, elem_offset, error);
}
