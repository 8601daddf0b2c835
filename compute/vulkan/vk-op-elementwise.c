/* vk-op-elementwise.c — ADD, MUL, SCALE, SILU, GELU, QUICK_GELU, GEGLU
 * (shaders/elementwise.comp). Work is cut into pieces that fit one binding per tensor. */
#include "vk-ops.h"
#include "vk-split.h"

#define WG         256
#define PER_THREAD 4

/* Mirrors `Push` in elementwise.comp, one struct per variant. */
typedef struct {
  uint32_t shape[4], a_stride[4], b_stride[4], y_stride[4];
  uint32_t n, a_off, b_off, y_off;
} BinaryPush;

typedef struct {
  uint32_t n, x_off, y_off;
  float    scale, offset;
} UnaryPush;

typedef struct {
  uint32_t n, h, x_off, y_off;
} GegluPush;

static gboolean
require_float_input (const TsTensor *t, GError **error)
{
  if (ts_dtype_is_float (t->dtype))
    return TRUE;
  g_set_error (error, TS_ERROR, TS_ERROR_UNSUPPORTED,
               "Vulkan elementwise ops take float inputs, not %s", ts_dtype_name (t->dtype));
  return FALSE;
}

static gboolean
run_binary (TsVkBackend *vk, const TsOp *op, GError **error)
{
  const TsTensor *ts[3] = { op->src[0], op->src[1], op->dst };
  uint32_t spec[4] = { WG, op->kind == TS_OP_MUL, op->src[0]->dtype, op->src[1]->dtype };
  TsVkSplit split;
  TsVkBox box;

  if (!require_float_input (op->src[0], error) || !require_float_input (op->src[1], error) ||
      !ts_vk_split_init (&split, vk, op->dst->ndim, op->dst->shape, ts, 3, 3, error))
    return FALSE;
  while (ts_vk_split_next (&split, &box)) {
    BinaryPush pc = { .n = (uint32_t) ts_vk_box_numel (&box) };
    TsVkBinding b[3];
    uint32_t grid[3];
    for (int i = 0; i < 4; i++)
      pc.shape[i] = (uint32_t) box.count[i];
    if (!ts_vk_split_bind (&split, vk, 0, &box, FALSE, &b[0], &pc.a_off, pc.a_stride, error) ||
        !ts_vk_split_bind (&split, vk, 1, &box, FALSE, &b[1], &pc.b_off, pc.b_stride, error) ||
        !ts_vk_split_bind (&split, vk, 2, &box, TRUE, &b[2], &pc.y_off, pc.y_stride, error))
      return FALSE;
    ts_vk_grid_1d (vk, (pc.n + WG - 1) / WG, grid);
    if (!ts_vk_dispatch (vk, TS_VK_KERNEL_ELTWISE_BINARY, spec, 4, b, 3, &pc, sizeof pc,
                         grid[0], grid[1], grid[2], pc.n, 12.0 * pc.n, error))
      return FALSE;
  }
  return TRUE;
}

static uint32_t
unary_code (TsOpKind kind)
{
  switch (kind) {
  case TS_OP_SILU:       return 1;
  case TS_OP_GELU:       return 2;
  case TS_OP_QUICK_GELU: return 3;
  default:               return 0; /* SCALE */
  }
}

static gboolean
run_unary (TsVkBackend *vk, const TsOp *op, GError **error)
{
  const TsTensor *ts[2] = { op->src[0], op->dst };
  uint32_t spec[4] = { WG, unary_code (op->kind), op->src[0]->dtype, PER_THREAD };
  TsVkSplit split;
  TsVkBox box;

  if (!require_float_input (op->src[0], error) ||
      !ts_vk_split_init (&split, vk, op->dst->ndim, op->dst->shape, ts, 2, 3, error))
    return FALSE;
  while (ts_vk_split_next (&split, &box)) {
    /* Both tensors are contiguous, so every box is one dense range of each. */
    UnaryPush pc = { .n = (uint32_t) ts_vk_box_numel (&box) };
    uint32_t stride[4], grid[3];
    TsVkBinding b[2];
    if (op->kind == TS_OP_SCALE) {
      pc.scale = op->p.scale.scale;
      pc.offset = op->p.scale.offset;
    }
    if (!ts_vk_split_bind (&split, vk, 0, &box, FALSE, &b[0], &pc.x_off, stride, error) ||
        !ts_vk_split_bind (&split, vk, 1, &box, TRUE, &b[1], &pc.y_off, stride, error))
      return FALSE;
    ts_vk_grid_1d (vk, (pc.n + WG * PER_THREAD - 1) / (WG * PER_THREAD), grid);
    if (!ts_vk_dispatch (vk, TS_VK_KERNEL_ELTWISE_UNARY, spec, 4, b, 2, &pc, sizeof pc,
                         grid[0], grid[1], grid[2], 8.0 * pc.n, 8.0 * pc.n, error))
      return FALSE;
  }
  return TRUE;
}

static gboolean
run_geglu (TsVkBackend *vk, const TsOp *op, GError **error)
{
  const TsTensor *x = op->src[0], *y = op->dst;
  int64_t h = y->shape[y->ndim - 1], rows = ts_tensor_rows (y);
  size_t xes = ts_dtype_size (x->dtype);
  uint32_t spec[2] = { WG, x->dtype };

  if (!require_float_input (x, error))
    return FALSE;
  int64_t per = MIN (ts_vk_items_per_binding (vk, 2 * h * xes, rows),
                     ts_vk_items_per_binding (vk, h * sizeof (float), rows));
  per = MIN (per, TS_VK_MAX_BOX_ELEMENTS / MAX (h, 1));
  if (per < 1) {
    g_set_error (error, TS_ERROR, TS_ERROR_UNSUPPORTED,
                 "Vulkan geglu: a row of %" G_GINT64_FORMAT " elements exceeds one binding", 2 * h);
    return FALSE;
  }
  for (int64_t r0 = 0; r0 < rows; r0 += per) {
    int64_t nr = MIN (per, rows - r0);
    GegluPush pc = { .n = (uint32_t) (nr * h), .h = (uint32_t) h };
    TsVkBinding b[2];
    uint32_t grid[3];
    size_t xb = x->offset + (size_t) (r0 * 2 * h) * xes, yb = y->offset + (size_t) (r0 * h) * 4;
    if (!ts_vk_bind_bytes (vk, x, xb, xb + (size_t) (nr * 2 * h) * xes, xes, FALSE, &b[0],
                           &pc.x_off, error) ||
        !ts_vk_bind_bytes (vk, y, yb, yb + (size_t) (nr * h) * 4, 4, TRUE, &b[1], &pc.y_off,
                           error))
      return FALSE;
    ts_vk_grid_1d (vk, (pc.n + WG - 1) / WG, grid);
    if (!ts_vk_dispatch (vk, TS_VK_KERNEL_ELTWISE_GEGLU, spec, 2, b, 2, &pc, sizeof pc,
                         grid[0], grid[1], grid[2], 20.0 * pc.n, 12.0 * pc.n, error))
      return FALSE;
  }
  return TRUE;
}

gboolean
ts_vk_op_elementwise (TsVkBackend *vk, const TsOp *op, GError **error)
{
  switch (op->kind) {
  case TS_OP_ADD:
  case TS_OP_MUL:
    return run_binary (vk, op, error);
  case TS_OP_SCALE:
  case TS_OP_SILU:
  case TS_OP_GELU:
  case TS_OP_QUICK_GELU:
    return run_unary (vk, op, error);
  case TS_OP_GEGLU:
    return run_geglu (vk, op, error);
  default:
    g_set_error (error, TS_ERROR, TS_ERROR_UNSUPPORTED, "Vulkan: %s is not elementwise",
                 ts_op_name (op->kind));
    return FALSE;
  }
}
