/* vk-op-layout.c — COPY and FILL (shaders/copy.comp), UPSAMPLE_NEAREST_2X (upsample.comp)
 * and EMBEDDING (embedding.comp). */
#include "vk-ops.h"
#include "vk-split.h"

#include <string.h>

#define WG 256

/* Mirror the Push blocks of the shaders. */
typedef struct {
  uint32_t shape[4], src_stride[4], dst_stride[4];
  uint32_t n, src_off, dst_off, fill_lo, fill_hi;
} CopyPush;

typedef struct {
  uint32_t shape[4], src_stride[4];
  uint32_t n_words, src_off, dst_word_off;
} UpsamplePush;

typedef struct {
  uint32_t n, d, ids_off, table_off, y_off, row_lo, row_hi, vocab, zero_invalid;
} EmbeddingPush;

/* Whether the box is one dense run of the tensor with these (box) strides. */
static gboolean
box_is_dense (const TsVkBox *box, const uint32_t stride[4])
{
  int64_t expect = 1;
  for (int i = 3; i >= 0; i--) {
    if (box->count[i] > 1 && stride[i] != expect)
      return FALSE;
    expect *= box->count[i];
  }
  return TRUE;
}

/* The fill value in the destination dtype, as the low and high words of its bits. */
static void
fill_bits (float value, TsDType dtype, uint32_t *lo, uint32_t *hi)
{
  guint8 buf[8] = { 0 };
  uint64_t bits;
  ts_convert (&value, TS_DTYPE_F32, buf, dtype, 1);
  memcpy (&bits, buf, 8);
  bits = GUINT64_FROM_LE (bits);
  *lo = (uint32_t) bits;
  *hi = (uint32_t) (bits >> 32);
}

/* COPY (src → dst, converting) or FILL (dst only): a strided 4-D box per dispatch. */
static gboolean
run_copy (TsVkBackend *vk, const TsOp *op, GError **error)
{
  gboolean fill = op->kind == TS_OP_FILL;
  const TsTensor *src = op->src[0], *dst = op->dst;
  const TsTensor *ts[2] = { fill ? dst : src, dst };
  size_t des = ts_dtype_size (dst->dtype);
  TsVkSplit split;
  TsVkBox box;

  if (!ts_vk_split_init (&split, vk, dst->ndim, dst->shape, ts, 2, 3, error))
    return FALSE;
  while (ts_vk_split_next (&split, &box)) {
    CopyPush pc = { .n = (uint32_t) ts_vk_box_numel (&box) };
    TsVkBinding b[2];
    uint32_t grid[3];
    for (int i = 0; i < 4; i++)
      pc.shape[i] = (uint32_t) box.count[i];
    if (fill)
      fill_bits (op->p.fill_value, dst->dtype, &pc.fill_lo, &pc.fill_hi);
    else if (!ts_vk_split_bind (&split, vk, 0, &box, FALSE, &b[0], &pc.src_off, pc.src_stride, error))
      return FALSE;
    if (!ts_vk_split_bind (&split, vk, 1, &box, TRUE, &b[fill ? 0 : 1], &pc.dst_off, pc.dst_stride, error))
      return FALSE;
    /* Sub-word destinations written densely go a word per invocation (no atomics inside). */
    gboolean words = des < 4 && box_is_dense (&box, pc.dst_stride);
    uint32_t per = 4 / MIN (des, 4);
    uint64_t items = words ? (pc.dst_off + (uint64_t) pc.n + per - 1) / per - pc.dst_off / per
                           : pc.n;
    uint32_t spec[4] = { WG, fill ? dst->dtype : src->dtype, dst->dtype, words };
    ts_vk_grid_1d (vk, (items + WG - 1) / WG, grid);
    if (!ts_vk_dispatch (vk, fill ? TS_VK_KERNEL_FILL : TS_VK_KERNEL_COPY, spec, 4, b,
                         fill ? 1 : 2, &pc, sizeof pc, grid[0], grid[1], grid[2], 0,
                         (double) pc.n * (des + (fill ? 0 : ts_dtype_size (src->dtype))), error))
      return FALSE;
  }
  return TRUE;
}

static gboolean
run_upsample (TsVkBackend *vk, const TsOp *op, GError **error)
{
  const TsTensor *src = op->src[0], *dst = op->dst;
  int64_t n = src->shape[0], c = src->shape[1], h = src->shape[2], w = src->shape[3];
  size_t ses = ts_dtype_size (src->dtype), des = ts_dtype_size (dst->dtype);
  int64_t plane_out = 4 * h * w;

  if (src->ndim != 4 || !ts_dtype_is_float (src->dtype) || !ts_dtype_is_float (dst->dtype)) {
    g_set_error_literal (error, TS_ERROR, TS_ERROR_UNSUPPORTED,
                         "Vulkan upsample_nearest_2x takes a 4-D float tensor");
    return FALSE;
  }
  /* Planes (channels) per dispatch: the source span and the dense output must each fit. */
  int64_t src_plane_span = (h - 1) * src->stride[2] + (w - 1) * src->stride[3] + 1;
  int64_t per = c;
  while (per > 1 && ((per - 1) * src->stride[1] + src_plane_span >
                     ts_vk_items_per_binding (vk, ses, G_MAXINT64) ||
                     per * plane_out > ts_vk_items_per_binding (vk, des, TS_VK_MAX_BOX_ELEMENTS)))
    per = (per + 1) / 2;
  if (src_plane_span > ts_vk_items_per_binding (vk, ses, G_MAXINT64) ||
      plane_out > ts_vk_items_per_binding (vk, des, TS_VK_MAX_BOX_ELEMENTS)) {
    g_set_error (error, TS_ERROR, TS_ERROR_UNSUPPORTED,
                 "Vulkan upsample_nearest_2x: a %" G_GINT64_FORMAT "×%" G_GINT64_FORMAT
                 " plane exceeds one binding", h, w);
    return FALSE;
  }
  uint32_t spec[3] = { WG, src->dtype, dst->dtype };
  for (int64_t in = 0; in < n; in++)
    for (int64_t c0 = 0; c0 < c; c0 += per) {
      int64_t nc = MIN (per, c - c0);
      UpsamplePush pc = {
        .shape = { 1, (uint32_t) nc, (uint32_t) h, (uint32_t) w },
        .src_stride = { 0, (uint32_t) src->stride[1], (uint32_t) src->stride[2], (uint32_t) src->stride[3] },
        .n_words = (uint32_t) (nc * plane_out * des / 4),
      };
      size_t sb = src->offset + (size_t) (in * src->stride[0] + c0 * src->stride[1]) * ses;
      size_t db = dst->offset + (size_t) ((in * c + c0) * plane_out) * des;
      TsVkBinding b[2];
      uint32_t dst_off, grid[3];
      if (!ts_vk_bind_bytes (vk, src, sb, sb + (size_t) ((nc - 1) * src->stride[1] + src_plane_span) * ses,
                             ses, FALSE, &b[0], &pc.src_off, error) ||
          !ts_vk_bind_bytes (vk, dst, db, db + (size_t) (nc * plane_out) * des, des, TRUE, &b[1],
                             &dst_off, error))
        return FALSE;
      pc.dst_word_off = dst_off * des / 4; /* planes hold an even number of elements */
      ts_vk_grid_1d (vk, (pc.n_words + WG - 1) / WG, grid);
      if (!ts_vk_dispatch (vk, TS_VK_KERNEL_UPSAMPLE_NEAREST_2X, spec, 3, b, 2, &pc, sizeof pc,
                           grid[0], grid[1], grid[2], 0,
                           (double) nc * plane_out * (des + ses / 4.0), error))
        return FALSE;
    }
  return TRUE;
}

static gboolean
run_embedding (TsVkBackend *vk, const TsOp *op, GError **error)
{
  const TsTensor *table = op->src[0], *ids = op->src[1], *y = op->dst;
  int64_t vocab = table->shape[0], d = table->shape[1], n_ids = ts_tensor_numel (ids);
  size_t tes = ts_dtype_size (table->dtype), ies = ts_dtype_size (ids->dtype);

  if (!ts_dtype_is_float (table->dtype) ||
      (ids->dtype != TS_DTYPE_I32 && ids->dtype != TS_DTYPE_I64)) {
    g_set_error_literal (error, TS_ERROR, TS_ERROR_UNSUPPORTED,
                         "Vulkan embedding takes a float table and i32/i64 ids");
    return FALSE;
  }
  /* Tables beyond one binding (the CLIP token table: 145 MiB in f32) go in row ranges. */
  int64_t table_rows = ts_vk_items_per_binding (vk, d * tes, vocab);
  int64_t id_rows = MIN (ts_vk_items_per_binding (vk, ies, n_ids),
                         ts_vk_items_per_binding (vk, d * sizeof (float), n_ids));
  id_rows = MIN (id_rows, TS_VK_MAX_BOX_ELEMENTS / MAX (d, 1));
  if (table_rows < 1 || id_rows < 1) {
    g_set_error (error, TS_ERROR, TS_ERROR_UNSUPPORTED,
                 "Vulkan embedding: a row of %" G_GINT64_FORMAT " elements exceeds one binding", d);
    return FALSE;
  }
  uint32_t spec[3] = { WG, table->dtype, ids->dtype };
  for (int64_t i0 = 0; i0 < n_ids; i0 += id_rows) {
    int64_t ni = MIN (id_rows, n_ids - i0);
    for (int64_t t0 = 0; t0 < vocab; t0 += table_rows) {
      int64_t nt = MIN (table_rows, vocab - t0);
      EmbeddingPush pc = {
        .n = (uint32_t) (ni * d), .d = (uint32_t) d, .row_lo = (uint32_t) t0,
        .row_hi = (uint32_t) (t0 + nt), .vocab = (uint32_t) vocab, .zero_invalid = t0 == 0,
      };
      size_t ib = ids->offset + (size_t) i0 * ies;
      size_t tb = table->offset + (size_t) (t0 * d) * tes;
      size_t yb = y->offset + (size_t) (i0 * d) * 4;
      TsVkBinding b[3];
      uint32_t grid[3];
      if (!ts_vk_bind_bytes (vk, ids, ib, ib + (size_t) ni * ies, ies, FALSE, &b[0], &pc.ids_off, error) ||
          !ts_vk_bind_bytes (vk, table, tb, tb + (size_t) (nt * d) * tes, tes, FALSE, &b[1],
                             &pc.table_off, error) ||
          !ts_vk_bind_bytes (vk, y, yb, yb + (size_t) (ni * d) * 4, 4, TRUE, &b[2], &pc.y_off, error))
        return FALSE;
      ts_vk_grid_1d (vk, (pc.n + WG - 1) / WG, grid);
      if (!ts_vk_dispatch (vk, TS_VK_KERNEL_EMBEDDING, spec, 3, b, 3, &pc, sizeof pc, grid[0],
                           grid[1], grid[2], 0, (double) ni * d * (tes + 4), error))
        return FALSE;
    }
  }
  return TRUE;
}

gboolean
ts_vk_op_layout (TsVkBackend *vk, const TsOp *op, GError **error)
{
  switch (op->kind) {
  case TS_OP_COPY:
  case TS_OP_FILL:
    return run_copy (vk, op, error);
  case TS_OP_UPSAMPLE_NEAREST_2X:
    return run_upsample (vk, op, error);
  case TS_OP_EMBEDDING:
    return run_embedding (vk, op, error);
  default:
    g_set_error (error, TS_ERROR, TS_ERROR_UNSUPPORTED, "Vulkan: %s is not a layout op",
                 ts_op_name (op->kind));
    return FALSE;
  }
}
