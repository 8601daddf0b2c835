/* cpu-matmul.c — MATMUL and the shared threaded sgemm.
 *
 * Every product is cut into tiles of C — one per thread for f32, or panels of output
 * columns for f16/bf16 weights — and each thread runs single-threaded sgemm on its tiles,
 * reading a and b in place. A reduced-precision weight is widened to f32 one panel at a
 * time by the thread that multiplies it, so the panel is still in that core's cache when
 * sgemm packs it and a large weight never needs a full f32 copy. */
#include "cpu-precision.h"

#include <cblas.h>
#include <limits.h>
#include <omp.h>

/* Bytes of one widened weight panel: about half a core's L2. */
#define PANEL_BYTES (1u << 20)
/* Tiles narrower than this lose more in sgemm's edge handling than they gain. */
#define MIN_TILE 16

static void
sgemm1 (gboolean ta, gboolean tb, int64_t m, int64_t n, int64_t k, const float *a, int64_t lda,
        const float *b, int64_t ldb, float beta, float *c, int64_t ldc)
{
  cblas_sgemm (CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
               (int) m, (int) n, (int) k, 1.0f, a, (int) lda, b, (int) ldb, beta, c, (int) ldc);
}

/* Where row i0 of op(A) and column j0 of op(B) start. */
static inline const float *
a_rows (const float *a, gboolean ta, int64_t lda, int64_t i0)
{
  return ta ? a + i0 : a + i0 * lda;
}

static inline const float *
b_cols (const float *b, gboolean tb, int64_t ldb, int64_t j0)
{
  return tb ? b + j0 * ldb : b + j0;
}

/* Split m×n into `parts` tiles along the longer side (sharing the shorter side's operand,
 * which each tile packs again, costs least that way). Sets the tile sizes. */
static void
split_tiles (int64_t m, int64_t n, int parts, int64_t *tm, int64_t *tn)
{
  *tm = m;
  *tn = n;
  if (parts <= 1)
    return;
  if (n >= m) {
    int64_t w = (n + parts - 1) / parts;
    w = (w + MIN_TILE - 1) / MIN_TILE * MIN_TILE;
    *tn = MIN (n, MAX (w, MIN_TILE));
  } else {
    int64_t h = (m + parts - 1) / parts;
    *tm = MAX (h, MIN_TILE / 4);
  }
}

void
ts_cpu_sgemm (TsBackend *be, gboolean ta, gboolean tb, int64_t m, int64_t n, int64_t k,
              const float *a, int64_t lda, const float *b, int64_t ldb, float beta, float *c,
              int64_t ldc)
{
  /* a thread's tile should be worth at least ~100 µs of sgemm */
  int nt = ts_cpu_threads_for (be, 2.0 * m * n * k / 256);
  int64_t tm, tn;
  split_tiles (m, n, nt, &tm, &tn);
  int64_t mt = (m + tm - 1) / tm, ntl = (n + tn - 1) / tn;
#pragma omp parallel for num_threads (nt) if (nt > 1) schedule (static)
  for (int64_t t = 0; t < mt * ntl; t++) {
    int64_t i0 = (t / ntl) * tm, j0 = (t % ntl) * tn;
    sgemm1 (ta, tb, MIN (tm, m - i0), MIN (tn, n - j0), k, a_rows (a, ta, lda, i0), lda,
            b_cols (b, tb, ldb, j0), ldb, beta, c + i0 * ldc + j0, ldc);
  }
}

/* ---- MATMUL ---- */

typedef struct {
  int64_t batch, m, n, k;      /* after folding shared-weight batches into m */
  gboolean ta, tb, widen;
  int64_t lda, ldb;
  int64_t a_batch, b_batch;    /* elements between batches (b_batch 0 when shared) */
  const float *a;
  const char *b;
  TsDType b_dtype;
  const float *bias;
  float *c;
  int64_t tm, tn;              /* tile size */
} Gemm;

/* Widen columns [j0, j0 + w) of op(B) to f32 in `panel`, laid out [w, K] for a transposed
 * b and [K, w] otherwise, i.e. as sgemm will read it with leading dimension K or w. */
static void
widen_panel (const Gemm *g, const char *b, int64_t j0, int64_t w, float *panel)
{
  size_t es = ts_dtype_size (g->b_dtype);
  if (g->tb) {
    ts_cpu_to_f32 (b + (size_t) (j0 * g->ldb) * es, g->b_dtype, panel, (size_t) (w * g->k));
    return;
  }
  for (int64_t r = 0; r < g->k; r++)
    ts_cpu_to_f32 (b + (size_t) (r * g->ldb + j0) * es, g->b_dtype, panel + r * w, (size_t) w);
}

/* One tile: rows [i0, i0 + h) and columns [j0, j0 + w) of batch bi. */
static void
run_tile (const Gemm *g, int64_t bi, int64_t i0, int64_t j0, float *panel)
{
  int64_t h = MIN (g->tm, g->m - i0), w = MIN (g->tn, g->n - j0);
  float *c = g->c + (bi * g->m + i0) * g->n + j0;
  if (g->bias)
    for (int64_t i = 0; i < h; i++)
      memcpy (c + i * g->n, g->bias + j0, w * sizeof (float));
  const float *a = a_rows (g->a + bi * g->a_batch, g->ta, g->lda, i0);
  float beta = g->bias ? 1.0f : 0.0f; /* accumulate onto the bias */
  if (!g->widen) {
    const float *b = (const float *) g->b + bi * g->b_batch;
    sgemm1 (g->ta, g->tb, h, w, g->k, a, g->lda, b_cols (b, g->tb, g->ldb, j0), g->ldb, beta, c,
            g->n);
    return;
  }
  widen_panel (g, g->b + (size_t) (bi * g->b_batch) * ts_dtype_size (g->b_dtype), j0, w, panel);
  sgemm1 (g->ta, g->tb, h, w, g->k, a, g->lda, panel, g->tb ? g->k : w, beta, c, g->n);
}

/* Tile sizes: f32 splits each batch among the threads the batches leave idle; widened
 * weights go by panels that fit in cache, splitting rows only when panels are too few. */
static int
plan_tiles (TsBackend *be, Gemm *g)
{
  int nt = ts_cpu_threads_for (be, 2.0 * g->batch * g->m * g->n * g->k / 256);
  int per_batch = (int) MAX (1, (nt + g->batch - 1) / g->batch);
  if (!g->widen) {
    split_tiles (g->m, g->n, per_batch, &g->tm, &g->tn);
  } else {
    int64_t w = PANEL_BYTES / (sizeof (float) * g->k);
    w = MAX (MIN_TILE, w - w % MIN_TILE);
    g->tn = MIN (w, g->n);
    int64_t panels = (g->n + g->tn - 1) / g->tn;
    g->tm = g->m;
    if (panels < per_batch)
      g->tm = MAX (MIN_TILE / 4, (g->m + per_batch / panels - 1) / (per_batch / panels));
  }
  return nt;
}

gboolean
ts_cpu_op_matmul (TsBackend *be, const TsOp *op, GError **error)
{
  const TsTensor *a = op->src[0], *b = op->src[1], *bias = op->src[2];
  if (a->dtype != TS_DTYPE_F32 || !ts_dtype_is_float (b->dtype)) {
    g_set_error (error, TS_ERROR, TS_ERROR_UNSUPPORTED, "matmul: unsupported dtypes %s × %s",
                 ts_dtype_name (a->dtype), ts_dtype_name (b->dtype));
    return FALSE;
  }
  Gemm g = {
    .batch = a->shape[0],
    .m = op->dst->shape[1],
    .n = op->dst->shape[2],
    .ta = op->p.matmul.trans_a,
    .tb = op->p.matmul.trans_b,
    .widen = b->dtype != TS_DTYPE_F32,
    .lda = a->shape[2],
    .ldb = b->shape[2],
    .a_batch = a->shape[1] * a->shape[2],
    .b_batch = b->shape[0] == 1 ? 0 : b->shape[1] * b->shape[2],
    .a = ts_cpu_tensor_data (a),
    .b = ts_cpu_tensor_data (b),
    .b_dtype = b->dtype,
    .bias = bias ? ts_cpu_tensor_data (bias) : NULL,
    .c = ts_cpu_tensor_data (op->dst),
  };
  g.k = g.ta ? a->shape[1] : a->shape[2];
  /* one weight for all batches and a row-major a: the batches are just more rows */
  if (g.b_batch == 0 && !g.ta) {
    g.m *= g.batch;
    g.batch = 1;
  }
  if (g.m > INT_MAX || g.n > INT_MAX || g.k > INT_MAX || g.lda > INT_MAX || g.ldb > INT_MAX) {
    g_set_error (error, TS_ERROR, TS_ERROR_UNSUPPORTED,
                 "matmul: dimensions beyond 2^31 are not supported by BLAS");
    return FALSE;
  }

  /* a linear weight its network wants multiplied at reduced precision (cpu-precision.h) */
  if (g.tb && !g.ta && g.batch == 1 && g.b_batch == 0) {
    gboolean failed;
    const TsCpuPacked *packed = ts_cpu_weight_packed (be, b, g.n, g.k, 1, &failed, error);
    if (failed)
      return FALSE;
    if (packed)
      return ts_cpu_packed_matmul (be, packed, g.a, g.m, g.lda, g.bias, g.c, g.n, error);
  }

  int nt = plan_tiles (be, &g);
  int64_t mt = (g.m + g.tm - 1) / g.tm, ntl = (g.n + g.tn - 1) / g.tn;
  int64_t items = g.batch * mt * ntl;
  if (nt > items)
    nt = (int) items;
  float *panels = NULL;
  if (g.widen) {
    panels = ts_cpu_scratch_new (sizeof (float) * g.tn * g.k * nt, "matmul weights", error);
    if (!panels)
      return FALSE;
  }
#pragma omp parallel num_threads (nt) if (nt > 1)
  {
    float *panel = panels ? panels + (size_t) (g.tn * g.k) * omp_get_thread_num () : NULL;
#pragma omp for schedule (dynamic, 1)
    for (int64_t it = 0; it < items; it++) {
      int64_t bi = it / (mt * ntl), t = it % (mt * ntl);
      run_tile (&g, bi, (t / ntl) * g.tm, (t % ntl) * g.tn, panel);
    }
  }
  free (panels);
  return TRUE;
}
