/* vk-split.c — see vk-split.h. */
#include "vk-split.h"

/* Bytes a binding may span from its first element, leaving room for aligning its start
 * down and rounding its end up to a word. */
static int64_t
binding_budget (TsVkBackend *vk)
{
  const TsVkLimits *l = ts_vk_limits (vk);
  return (int64_t) l->max_storage_range - (int64_t) l->min_storage_alignment - 4;
}

int64_t
ts_vk_items_per_binding (TsVkBackend *vk, size_t item_bytes, int64_t max_items)
{
  int64_t n = binding_budget (vk) / (int64_t) MAX (item_bytes, 1);
  return CLAMP (n, 0, max_items);
}

/* The largest chunk of dimension d (dimensions after d whole) that keeps every tensor
 * within one binding and the box within TS_VK_MAX_BOX_ELEMENTS; 0 when none does. */
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
    int64_t es = (int64_t) ts_dtype_size (s->t[k]->dtype), inner = 0;
    for (int j = d + 1; j < 4; j++)
      inner += (s->shape[j] - 1) * s->stride[k][j];
    int64_t room = binding_budget (vk) / es - 1 - inner; /* for (chunk − 1)·stride */
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

gboolean
ts_vk_split_bind (TsVkSplit *s, TsVkBackend *vk, int k, const TsVkBox *box, gboolean writes,
                  TsVkBinding *binding, uint32_t *elem_offset, uint32_t stride[4],
                  GError **error)
{
  const TsTensor *t = s->t[k];
  size_t es = ts_dtype_size (t->dtype);
  int64_t first = 0, last = 0;
  for (int i = 0; i < 4; i++) {
    first += box->start[i] * s->stride[k][i];
    last += (box->count[i] - 1) * s->stride[k][i];
    stride[i] = box->count[i] > 1 ? (uint32_t) s->stride[k][i] : 0;
  }
  size_t begin = t->offset + (size_t) first * es;
  return ts_vk_bind_bytes (vk, t, begin, begin + (size_t) (last + 1) * es, es, writes, binding,
                           elem_offset, error);
}
