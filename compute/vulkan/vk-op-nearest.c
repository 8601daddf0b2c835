/* vk-op-nearest.c — TS_OP_NEAREST_CODE on Vulkan (shaders/nearest.comp): for each row of
 * x[N, D], the index of the nearest codebook[K, D] row (lowest on ties).
 *
 * A codebook larger than one binding is walked in slices of codes, one dispatch each;
 * the best distance so far is kept in a scratch buffer between them, and since slices go
 * in increasing code order and only a strictly smaller distance wins, ties still resolve
 * to the lowest index. Rows are cut into dispatches when x or the output is too large. */
#include "vk-ops.h"
#include "vk-split.h"
#include "vk-variant.h"

/* Mirrors NearestPush in shaders/nearest.comp. */
typedef struct {
  uint32_t N, K, D;
  uint32_t x_off, e_off, d_off, best_off;
  uint32_t k_first;
  uint32_t flags;
} TsVkNearestPush;

enum { NEAREST_MERGE = 1, NEAREST_KEEP = 2 };

#define NEAREST_WG 64
#define NEAREST_BLOCK 16
#define NEAREST_MAX_REG_DIM 256 /* wider rows are re-read from memory (STREAM) */

typedef struct {
  const TsTensor *x, *e, *d;
  int64_t n, k, dim;
} Nearest;

static TsVkSpan
rows (const TsTensor *t, int64_t r0, int64_t nr)
{
  int64_t start[2] = { r0, 0 };
  int64_t len[2] = { nr, t->ndim > 1 ? t->shape[1] : 1 };
  return ts_vk_span_box (t, start, len);
}

static gboolean
choose_chunk (TsVkBackend *vk, const Nearest *nc, int64_t *nr, int64_t *nk, GError **error)
{
  *nr = nc->n;
  *nk = nc->k;
  for (;;) {
    TsVkSpan x = rows (nc->x, 0, *nr), d = rows (nc->d, 0, *nr), e = rows (nc->e, 0, *nk);
    gboolean rows_ok = ts_vk_span_fits (vk, &x) && ts_vk_span_fits (vk, &d);
    gboolean codes_ok = ts_vk_span_fits (vk, &e);
    if (rows_ok && codes_ok)
      return TRUE;
    if (!(rows_ok ? ts_vk_halve (nk) : ts_vk_halve (nr))) {
      g_set_error (error, TS_ERROR, TS_ERROR_UNSUPPORTED,
                   "nearest_code: one row does not fit a storage binding (%" G_GUINT64_FORMAT
                   " bytes)", (guint64) ts_vk_limits (vk)->max_storage_range);
      return FALSE;
    }
  }
}

static gboolean
dispatch_chunk (TsVkBackend *vk, const Nearest *nc, const TsTensor *best, int64_t r0,
                int64_t nr, int64_t k0, int64_t nk, GError **error)
{
  TsVkSpan xs = rows (nc->x, r0, nr), es = rows (nc->e, k0, nk), ds = rows (nc->d, r0, nr);
  TsVkBinding bind[4];
  uint32_t x_off, e_off, d_off, best_off = 0;
  if (!ts_vk_span_bind (vk, &xs, FALSE, &bind[0], &x_off, error) ||
      !ts_vk_span_bind (vk, &es, FALSE, &bind[1], &e_off, error) ||
      !ts_vk_span_bind (vk, &ds, TRUE, &bind[2], &d_off, error))
    return FALSE;
  gboolean last = k0 + nk == nc->k;
  if (best) {
    TsVkSpan bs = rows (best, r0, nr);
    if (!ts_vk_span_bind (vk, &bs, !last, &bind[3], &best_off, error))
      return FALSE;
  } else {
    bind[3] = bind[0]; /* never accessed without a slice to merge or keep */
  }

  gboolean stream = nc->dim > NEAREST_MAX_REG_DIM;
  uint32_t d4 = stream ? 1 : (nc->dim + 3) / 4;
  gboolean shm = !stream && ts_vk_want_staging (vk) &&
                 NEAREST_BLOCK * d4 * 16 <= ts_vk_limits (vk)->max_shared_memory;
  TsVkNearestPush push = {
    .N = nr, .K = nk, .D = nc->dim,
    .x_off = x_off, .e_off = e_off, .d_off = d_off, .best_off = best_off,
    .k_first = k0,
    .flags = (k0 > 0 ? NEAREST_MERGE : 0) | (last ? 0 : NEAREST_KEEP),
  };
  uint32_t spec[4] = { NEAREST_WG, d4, NEAREST_BLOCK, stream };
  double flops = 3.0 * nr * nk * nc->dim;
  double bytes = 4.0 * (nr * nc->dim + nr + nk * nc->dim * ((nr + NEAREST_WG - 1) / NEAREST_WG));
  return ts_vk_dispatch_linear (vk, shm ? TS_VK_KERNEL_NEAREST_SHM : TS_VK_KERNEL_NEAREST_REG, spec,
                                G_N_ELEMENTS (spec), bind, 4, &push, sizeof push,
                                (nr + NEAREST_WG - 1) / NEAREST_WG, flops, bytes, error);
}

gboolean
ts_vk_op_nearest_code (TsVkBackend *vk, const TsOp *op, GError **error)
{
  Nearest nc = {
    .x = op->src[0], .e = op->src[1], .d = op->dst,
    .n = op->src[0]->shape[0], .k = op->src[1]->shape[0], .dim = op->src[0]->shape[1],
  };
  int64_t nr, nk;
  if (!choose_chunk (vk, &nc, &nr, &nk, error))
    return FALSE;
  g_autoptr (TsTensor) best = NULL;
  if (nk < nc.k) {
    best = ts_vk_scratch (vk, TS_DTYPE_F32, 1, &nc.n, error);
    if (!best)
      return FALSE;
  }
  for (int64_t r0 = 0; r0 < nc.n; r0 += nr)
    for (int64_t k0 = 0; k0 < nc.k; k0 += nk)
      if (!dispatch_chunk (vk, &nc, best, r0, MIN (nr, nc.n - r0), k0, MIN (nk, nc.k - k0),
                           error))
        return FALSE;
  return TRUE;
}
