/* vk-op-norm.c — SOFTMAX, LAYER_NORM, RMS_NORM (shaders/norm.comp), GROUP_NORM
 * (groupnorm.comp) and GRN (grn.comp). Statistics are f32; rows are batched into as few
 * dispatches as the binding limit allows. */
#include "vk-ops.h"
#include "vk-split.h"

#define ELEMENT_WG      256
#define GROUP_CHUNK     4096 /* elements of a group-norm row per statistics workgroup */

/* Mirror the Push blocks of the shaders. */
typedef struct {
  uint32_t rows, d, x_off, w_off, b_off, y_off;
  float    eps;
} RowPush;

typedef struct {
  uint32_t rows, len, chunk, nchunks, x_off;
} GnPartialPush;

typedef struct {
  uint32_t rows, len, chunk, nchunks;
  float    eps;
} GnMergePush;

typedef struct {
  uint32_t n, len, spatial, groups, cpg, row0, x_off, y_off, w_off, b_off;
} GnApplyPush;

typedef struct {
  uint32_t samples, s, c, x_off;
} GrnSumsqPush;

typedef struct {
  uint32_t samples, c;
  float    eps;
} GrnScalePush;

typedef struct {
  uint32_t n, slab, c, x_off, y_off, w_off, b_off;
} GrnApplyPush;

/* Workgroup size for a reduction over `len` elements: a power of two, smaller on CPU
 * devices where every barrier suspends each subgroup of the workgroup. */
static uint32_t
reduce_wg (TsVkBackend *vk, int64_t len)
{
  const TsVkLimits *l = ts_vk_limits (vk);
  uint32_t cap = l->is_cpu_device ? 64 : 256, wg = 32;
  cap = MIN (cap, l->max_workgroup_invocations);
  while (wg < cap && wg * 4 < len)
    wg *= 2;
  return MIN (wg, cap);
}

/* Kernel name with the subgroup suffix when the device can reduce in subgroups. */
static TsVkKernelId
reduce_kernel (TsVkBackend *vk, TsVkKernelId plain, TsVkKernelId subgroup)
{
  return ts_vk_limits (vk)->subgroup_arithmetic ? subgroup : plain;
}

/* Binds an optional f32 parameter vector; `fallback` stands in for an absent one (the
 * shader skips it, but every declared binding needs a buffer). */
static gboolean
bind_param (TsVkBackend *vk, const TsTensor *t, const TsVkBinding *fallback,
            TsVkBinding *binding, uint32_t *off, GError **error)
{
  if (t == NULL) {
    *binding = *fallback;
    binding->writes = FALSE;
    *off = 0;
    return TRUE;
  }
  return ts_vk_bind_tensor (vk, t, FALSE, binding, off, error);
}

static gboolean
too_large (const char *what, int64_t elems, GError **error)
{
  g_set_error (error, TS_ERROR, TS_ERROR_UNSUPPORTED,
               "Vulkan %s: a row of %" G_GINT64_FORMAT " elements exceeds one binding", what, elems);
  return FALSE;
}

static gboolean
run_rows (TsVkBackend *vk, const TsOp *op, GError **error)
{
  const TsTensor *x = op->src[0], *y = op->dst, *w = op->src[1], *bias = op->src[2];
  int64_t d = x->shape[x->ndim - 1], rows = ts_tensor_rows (x);
  size_t xes = ts_dtype_size (x->dtype);
  TsVkKernelId kernel =
    op->kind == TS_OP_SOFTMAX ? reduce_kernel (vk, TS_VK_KERNEL_SOFTMAX, TS_VK_KERNEL_SOFTMAX_SG)
    : op->kind == TS_OP_LAYER_NORM ? reduce_kernel (vk, TS_VK_KERNEL_LAYER_NORM,
                                                    TS_VK_KERNEL_LAYER_NORM_SG)
    : reduce_kernel (vk, TS_VK_KERNEL_RMS_NORM, TS_VK_KERNEL_RMS_NORM_SG);
  if (op->kind == TS_OP_SOFTMAX)
    w = bias = NULL;
  if (op->kind == TS_OP_RMS_NORM)
    bias = NULL;
  uint32_t spec[4] = { reduce_wg (vk, d), x->dtype, w != NULL, bias != NULL };
  int64_t per = MIN (ts_vk_items_per_binding (vk, d * xes, rows),
                     ts_vk_items_per_binding (vk, d * sizeof (float), rows));
  per = MIN (per, TS_VK_MAX_BOX_ELEMENTS / MAX (d, 1));
  if (per < 1)
    return too_large (ts_op_name (op->kind), d, error);

  for (int64_t r0 = 0; r0 < rows; r0 += per) {
    int64_t nr = MIN (per, rows - r0);
    RowPush pc = { .rows = (uint32_t) nr, .d = (uint32_t) d, .eps = op->p.norm.eps };
    TsVkBinding b[4];
    uint32_t grid[3];
    size_t xb = x->offset + (size_t) (r0 * d) * xes, yb = y->offset + (size_t) (r0 * d) * 4;
    if (!ts_vk_bind_bytes (vk, x, xb, xb + (size_t) (nr * d) * xes, xes, FALSE, &b[0], &pc.x_off, error) ||
        !bind_param (vk, w, &b[0], &b[1], &pc.w_off, error) ||
        !bind_param (vk, bias, &b[0], &b[2], &pc.b_off, error) ||
        !ts_vk_bind_bytes (vk, y, yb, yb + (size_t) (nr * d) * 4, 4, TRUE, &b[3], &pc.y_off, error))
      return FALSE;
    ts_vk_grid_1d (vk, (uint64_t) nr, grid);
    if (!ts_vk_dispatch (vk, kernel, spec, 4, b, 4, &pc, sizeof pc, grid[0], grid[1], grid[2],
                         5.0 * nr * d, (double) nr * d * (2 * xes + 4), error))
      return FALSE;
  }
  return TRUE;
}

/* One batch of group-norm rows [r0, r0 + nr): statistics, then normalisation. */
static gboolean
group_norm_batch (TsVkBackend *vk, const TsOp *op, int64_t r0, int64_t nr, int64_t len,
                  TsTensor *part, TsTensor *stats, GError **error)
{
  const TsTensor *x = op->src[0], *y = op->dst, *w = op->src[1], *bias = op->src[2];
  size_t xes = ts_dtype_size (x->dtype);
  int64_t nchunks = (len + GROUP_CHUNK - 1) / GROUP_CHUNK, chunk = MIN (len, GROUP_CHUNK);
  uint32_t wg = reduce_wg (vk, chunk);
  size_t xb = x->offset + (size_t) (r0 * len) * xes, yb = y->offset + (size_t) (r0 * len) * 4;
  TsVkBinding bx, bpart, bstats, b[5];
  uint32_t grid[3], part_off, stats_off;

  GnPartialPush pp = { (uint32_t) nr, (uint32_t) len, (uint32_t) chunk, (uint32_t) nchunks, 0 };
  uint32_t spec_p[2] = { wg, x->dtype };
  if (!ts_vk_bind_bytes (vk, x, xb, xb + (size_t) (nr * len) * xes, xes, FALSE, &bx, &pp.x_off, error) ||
      !ts_vk_bind_tensor (vk, part, TRUE, &bpart, &part_off, error))
    return FALSE;
  b[0] = bx;
  b[1] = bpart;
  ts_vk_grid_1d (vk, (uint64_t) (nr * nchunks), grid);
  if (!ts_vk_dispatch (vk, reduce_kernel (vk, TS_VK_KERNEL_GROUP_NORM_PARTIAL,
                                          TS_VK_KERNEL_GROUP_NORM_PARTIAL_SG),
                       spec_p, 2, b, 2, &pp, sizeof pp, grid[0], grid[1], grid[2],
                       3.0 * nr * len, 2.0 * nr * len * xes, error))
    return FALSE;

  GnMergePush mp = { (uint32_t) nr, (uint32_t) len, (uint32_t) chunk, (uint32_t) nchunks,
                     op->p.norm.eps };
  uint32_t spec_m[1] = { 64 };
  bpart.writes = FALSE;
  if (!ts_vk_bind_tensor (vk, stats, TRUE, &bstats, &stats_off, error))
    return FALSE;
  b[0] = bpart;
  b[1] = bstats;
  ts_vk_grid_1d (vk, (uint64_t) (nr + 63) / 64, grid);
  if (!ts_vk_dispatch (vk, TS_VK_KERNEL_GROUP_NORM_MERGE, spec_m, 1, b, 2, &mp, sizeof mp,
                       grid[0], grid[1], grid[2], 8.0 * nr * nchunks, 8.0 * nr * nchunks, error))
    return FALSE;

  int64_t c = x->shape[1], groups = op->p.norm.groups;
  GnApplyPush ap = {
    .n = (uint32_t) (nr * len), .len = (uint32_t) len, .spatial = (uint32_t) x->shape[2],
    .groups = (uint32_t) groups, .cpg = (uint32_t) (c / groups), .row0 = (uint32_t) (r0 % groups),
    .x_off = pp.x_off,
  };
  uint32_t spec_a[5] = { ELEMENT_WG, x->dtype, w != NULL, bias != NULL,
                         op->p.norm.silu != FALSE };
  bstats.writes = FALSE;
  b[0] = bx;
  b[1] = bstats;
  if (!bind_param (vk, w, &bx, &b[2], &ap.w_off, error) ||
      !bind_param (vk, bias, &bx, &b[3], &ap.b_off, error) ||
      !ts_vk_bind_bytes (vk, y, yb, yb + (size_t) (nr * len) * 4, 4, TRUE, &b[4], &ap.y_off, error))
    return FALSE;
  ts_vk_grid_1d (vk, (ap.n + ELEMENT_WG - 1) / ELEMENT_WG, grid);
  /* y may be x itself (in place): the kernel reads each element before writing it */
  return ts_vk_dispatch (vk, TS_VK_KERNEL_GROUP_NORM_APPLY, spec_a, 5, b, 5, &ap, sizeof ap,
                         grid[0], grid[1], grid[2], 4.0 * ap.n, (double) ap.n * (xes + 4), error);
}

static gboolean
run_group_norm (TsVkBackend *vk, const TsOp *op, GError **error)
{
  const TsTensor *x = op->src[0];
  int64_t groups = op->p.norm.groups;
  int64_t rows = x->shape[0] * groups, len = x->shape[1] / groups * x->shape[2];
  size_t xes = ts_dtype_size (x->dtype);
  int64_t per = MIN (ts_vk_items_per_binding (vk, len * xes, rows),
                     ts_vk_items_per_binding (vk, len * sizeof (float), rows));
  per = MIN (per, TS_VK_MAX_BOX_ELEMENTS / MAX (len, 1));
  if (per < 1)
    return too_large ("group_norm", len, error);

  int64_t nchunks = (len + GROUP_CHUNK - 1) / GROUP_CHUNK;
  int64_t part_shape[2] = { per * nchunks, 2 }, stats_shape[2] = { per, 2 };
  g_autoptr (TsTensor) part = ts_vk_scratch (vk, TS_DTYPE_F32, 2, part_shape, error);
  g_autoptr (TsTensor) stats = part ? ts_vk_scratch (vk, TS_DTYPE_F32, 2, stats_shape, error) : NULL;
  if (stats == NULL)
    return FALSE;
  for (int64_t r0 = 0; r0 < rows; r0 += per)
    if (!group_norm_batch (vk, op, r0, MIN (per, rows - r0), len, part, stats, error))
      return FALSE;
  return TRUE;
}

/* One batch of GRN samples [n0, n0 + nn). */
static gboolean
grn_batch (TsVkBackend *vk, const TsOp *op, int64_t n0, int64_t nn, TsTensor *g, GError **error)
{
  const TsTensor *x = op->src[0], *y = op->dst, *gamma = op->src[1], *beta = op->src[2];
  int64_t s = x->shape[1], c = x->shape[2], slab = s * c;
  size_t xes = ts_dtype_size (x->dtype);
  size_t xb = x->offset + (size_t) (n0 * slab) * xes, yb = y->offset + (size_t) (n0 * slab) * 4;
  TsVkBinding bx, bg, b[5];
  uint32_t grid[3], g_off;

  GrnSumsqPush sp = { (uint32_t) nn, (uint32_t) s, (uint32_t) c, 0 };
  uint32_t spec_s[2] = { 64, x->dtype };
  if (!ts_vk_bind_bytes (vk, x, xb, xb + (size_t) (nn * slab) * xes, xes, FALSE, &bx, &sp.x_off, error) ||
      !ts_vk_bind_tensor (vk, g, TRUE, &bg, &g_off, error))
    return FALSE;
  b[0] = bx;
  b[1] = bg;
  ts_vk_grid_1d (vk, (uint64_t) (nn * c + 63) / 64, grid);
  if (!ts_vk_dispatch (vk, TS_VK_KERNEL_GRN_SUMSQ, spec_s, 2, b, 2, &sp, sizeof sp, grid[0],
                       grid[1], grid[2], 2.0 * nn * slab, (double) nn * slab * xes, error))
    return FALSE;

  GrnScalePush cp = { (uint32_t) nn, (uint32_t) c, op->p.norm.eps };
  uint32_t spec_c[1] = { reduce_wg (vk, c) };
  b[0] = bg;
  ts_vk_grid_1d (vk, (uint64_t) nn, grid);
  if (!ts_vk_dispatch (vk, reduce_kernel (vk, TS_VK_KERNEL_GRN_SCALE, TS_VK_KERNEL_GRN_SCALE_SG),
                       spec_c, 1, b, 1, &cp, sizeof cp, grid[0], grid[1], grid[2], 2.0 * nn * c,
                       8.0 * nn * c, error))
    return FALSE;

  GrnApplyPush ap = { (uint32_t) (nn * slab), (uint32_t) slab, (uint32_t) c, sp.x_off };
  uint32_t spec_a[4] = { ELEMENT_WG, x->dtype, gamma != NULL, beta != NULL };
  bg.writes = FALSE;
  b[0] = bx;
  b[1] = bg;
  if (!bind_param (vk, gamma, &bx, &b[2], &ap.w_off, error) ||
      !bind_param (vk, beta, &bx, &b[3], &ap.b_off, error) ||
      !ts_vk_bind_bytes (vk, y, yb, yb + (size_t) (nn * slab) * 4, 4, TRUE, &b[4], &ap.y_off, error))
    return FALSE;
  ts_vk_grid_1d (vk, (ap.n + ELEMENT_WG - 1) / ELEMENT_WG, grid);
  return ts_vk_dispatch (vk, TS_VK_KERNEL_GRN_APPLY, spec_a, 4, b, 5, &ap, sizeof ap, grid[0],
                         grid[1], grid[2], 4.0 * ap.n, (double) ap.n * (xes + 4), error);
}

static gboolean
run_grn (TsVkBackend *vk, const TsOp *op, GError **error)
{
  const TsTensor *x = op->src[0];
  int64_t samples = x->shape[0], slab = x->shape[1] * x->shape[2];
  size_t xes = ts_dtype_size (x->dtype);
  int64_t per = MIN (ts_vk_items_per_binding (vk, slab * xes, samples),
                     ts_vk_items_per_binding (vk, slab * sizeof (float), samples));
  per = MIN (per, TS_VK_MAX_BOX_ELEMENTS / MAX (slab, 1));
  if (per < 1)
    return too_large ("global_response_norm", slab, error);

  int64_t g_shape[2] = { per, x->shape[2] };
  g_autoptr (TsTensor) g = ts_vk_scratch (vk, TS_DTYPE_F32, 2, g_shape, error);
  if (g == NULL)
    return FALSE;
  for (int64_t n0 = 0; n0 < samples; n0 += per)
    if (!grn_batch (vk, op, n0, MIN (per, samples - n0), g, error))
      return FALSE;
  return TRUE;
}

gboolean
ts_vk_op_norm (TsVkBackend *vk, const TsOp *op, GError **error)
{
  if (!ts_dtype_is_float (op->src[0]->dtype)) {
    g_set_error (error, TS_ERROR, TS_ERROR_UNSUPPORTED, "Vulkan %s takes a float input",
                 ts_op_name (op->kind));
    return FALSE;
  }
  switch (op->kind) {
  case TS_OP_SOFTMAX:
  case TS_OP_LAYER_NORM:
  case TS_OP_RMS_NORM:
    return run_rows (vk, op, error);
  case TS_OP_GROUP_NORM:
    return run_group_norm (vk, op, error);
  case TS_OP_GRN:
    return run_grn (vk, op, error);
  default:
    g_set_error (error, TS_ERROR, TS_ERROR_UNSUPPORTED, "Vulkan: %s is not a norm",
                 ts_op_name (op->kind));
    return FALSE;
  }
}
