/* cpu-elementwise.c — ADD, MUL (broadcasting through strides), SCALE, SILU, GELU,
 * QUICK_GELU, GEGLU. Memory-bound: the loops are split into chunks of a few thousand
 * elements across threads, and every inner loop is a plain vectorisable one. */
#include "cpu-util.h"

/* Elements per work item: large enough to amortise scheduling, small enough to balance. */
#define CHUNK 8192

/* ---- ADD, MUL ---- */

/* An operand of dst's shape reduced to at most 4 loops; the last is the innermost. */
typedef struct {
  int     ndim;
  int64_t shape[TS_MAX_DIMS];
  int64_t sa[TS_MAX_DIMS], sb[TS_MAX_DIMS];
} Loops;

/* Drop size-1 dimensions and merge neighbours that both inputs walk contiguously, so a
 * plain same-shape add becomes one long row and a bias add becomes rows × a broadcast. */
static void
collapse (const TsTensor *a, const TsTensor *b, const TsTensor *dst, Loops *l)
{
  l->ndim = 0;
  for (int i = 0; i < dst->ndim; i++) {
    if (dst->shape[i] == 1)
      continue;
    int j = l->ndim - 1;
    if (j >= 0 && l->sa[j] == a->stride[i] * dst->shape[i] &&
        l->sb[j] == b->stride[i] * dst->shape[i]) {
      l->shape[j] *= dst->shape[i];
      l->sa[j] = a->stride[i];
      l->sb[j] = b->stride[i];
      continue;
    }
    l->shape[++j] = dst->shape[i];
    l->sa[j] = a->stride[i];
    l->sb[j] = b->stride[i];
    l->ndim = j + 1;
  }
  if (l->ndim == 0) {
    l->ndim = 1;
    l->shape[0] = 1;
    l->sa[0] = l->sb[0] = 0;
  }
}

static inline void
binary_row (gboolean mul, float *restrict d, const float *x, int64_t sx, const float *y,
            int64_t sy, int64_t n)
{
  if (sx == 1 && sy == 1) {
    if (mul)
#pragma omp simd
      for (int64_t i = 0; i < n; i++)
        d[i] = x[i] * y[i];
    else
#pragma omp simd
      for (int64_t i = 0; i < n; i++)
        d[i] = x[i] + y[i];
  } else if (sx == 1 && sy == 0) {
    float v = y[0];
    if (mul)
#pragma omp simd
      for (int64_t i = 0; i < n; i++)
        d[i] = x[i] * v;
    else
#pragma omp simd
      for (int64_t i = 0; i < n; i++)
        d[i] = x[i] + v;
  } else if (sx == 0 && sy == 1) {
    float v = x[0];
    if (mul)
#pragma omp simd
      for (int64_t i = 0; i < n; i++)
        d[i] = v * y[i];
    else
#pragma omp simd
      for (int64_t i = 0; i < n; i++)
        d[i] = v + y[i];
  } else {
    for (int64_t i = 0; i < n; i++)
      d[i] = mul ? x[i * sx] * y[i * sy] : x[i * sx] + y[i * sy];
  }
}

static gboolean
op_binary (TsBackend *be, const TsOp *op, GError **error)
{
  const TsTensor *a = op->src[0], *b = op->src[1];
  if (a->dtype != TS_DTYPE_F32 || b->dtype != TS_DTYPE_F32) {
    g_set_error (error, TS_ERROR, TS_ERROR_UNSUPPORTED, "%s: inputs must be f32",
                 ts_op_name (op->kind));
    return FALSE;
  }
  Loops l;
  collapse (a, b, op->dst, &l);
  gboolean mul = op->kind == TS_OP_MUL;
  const float *pa = ts_cpu_tensor_data (a), *pb = ts_cpu_tensor_data (b);
  float *pd = ts_cpu_tensor_data (op->dst);

  int last = l.ndim - 1;
  int64_t cols = l.shape[last], rows = 1;
  for (int i = 0; i < last; i++)
    rows *= l.shape[i];
  int64_t per_row = (cols + CHUNK - 1) / CHUNK, items = rows * per_row;
  int nt = ts_cpu_threads_for (be, (double) rows * cols);

#pragma omp parallel for num_threads (nt) if (nt > 1) schedule (static)
  for (int64_t it = 0; it < items; it++) {
    int64_t row = it / per_row, c0 = (it % per_row) * CHUNK;
    /* the row's offsets in a and b from its multi-index over the outer loops */
    int64_t oa = 0, ob = 0, rest = row;
    for (int i = last - 1; i >= 0; i--) {
      int64_t idx = rest % l.shape[i];
      rest /= l.shape[i];
      oa += idx * l.sa[i];
      ob += idx * l.sb[i];
    }
    binary_row (mul, pd + row * cols + c0, pa + oa + c0 * l.sa[last], l.sa[last],
                pb + ob + c0 * l.sb[last], l.sb[last], MIN (CHUNK, cols - c0));
  }
  return TRUE;
}

/* ---- unary ---- */

static inline void
unary_chunk (const TsOp *op, float *restrict d, const float *restrict x, int64_t n)
{
  switch (op->kind) {
  case TS_OP_SCALE: {
    float s = op->p.scale.scale, o = op->p.scale.offset;
#pragma omp simd
    for (int64_t i = 0; i < n; i++)
      d[i] = x[i] * s + o;
    break;
  }
  case TS_OP_SILU:
#pragma omp simd
    for (int64_t i = 0; i < n; i++)
      d[i] = ts_cpu_sigmoid_mul (x[i], 1.0f);
    break;
  case TS_OP_QUICK_GELU:
#pragma omp simd
    for (int64_t i = 0; i < n; i++)
      d[i] = ts_cpu_sigmoid_mul (x[i], 1.702f);
    break;
  case TS_OP_GELU:
#pragma omp simd
    for (int64_t i = 0; i < n; i++)
      d[i] = ts_cpu_gelu (x[i]);
    break;
  default:
    break;
  }
}

static gboolean
op_unary (TsBackend *be, const TsOp *op)
{
  const float *x = ts_cpu_tensor_data (op->src[0]);
  float *d = ts_cpu_tensor_data (op->dst);
  int64_t n = ts_tensor_numel (op->dst), items = (n + CHUNK - 1) / CHUNK;
  int nt = ts_cpu_threads_for (be, (double) n);
#pragma omp parallel for num_threads (nt) if (nt > 1) schedule (static)
  for (int64_t it = 0; it < items; it++)
    unary_chunk (op, d + it * CHUNK, x + it * CHUNK, MIN (CHUNK, n - it * CHUNK));
  return TRUE;
}

/* GEGLU: the first half of each row is the value, the second half goes through the gate. */
static gboolean
op_geglu (TsBackend *be, const TsOp *op)
{
  const float *x = ts_cpu_tensor_data (op->src[0]);
  float *d = ts_cpu_tensor_data (op->dst);
  int64_t h = op->dst->shape[op->dst->ndim - 1], rows = ts_tensor_rows (op->dst);
  int64_t per_row = (h + CHUNK - 1) / CHUNK, items = rows * per_row;
  int nt = ts_cpu_threads_for (be, 1.5 * rows * h);
#pragma omp parallel for num_threads (nt) if (nt > 1) schedule (static)
  for (int64_t it = 0; it < items; it++) {
    int64_t r = it / per_row, c0 = (it % per_row) * CHUNK, n = MIN (CHUNK, h - c0);
    const float *val = x + r * 2 * h + c0, *gate = val + h;
    float *out = d + r * h + c0;
#pragma omp simd
    for (int64_t i = 0; i < n; i++)
      out[i] = val[i] * ts_cpu_gelu (gate[i]);
  }
  return TRUE;
}

gboolean
ts_cpu_op_elementwise (TsBackend *be, const TsOp *op, GError **error)
{
  switch (op->kind) {
  case TS_OP_ADD:
  case TS_OP_MUL:
    return op_binary (be, op, error);
  case TS_OP_GEGLU:
    return op_geglu (be, op);
  default:
    return op_unary (be, op);
  }
}
