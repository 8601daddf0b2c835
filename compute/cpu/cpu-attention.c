/* cpu-attention.c — ATTENTION: per (batch, head, block of queries) either the fused AVX-512
 * rows of cpu-attention-avx512.c (non-causal, where AVX-512 rows are in use) or two
 * single-threaded sgemms (S = scale·Q·Kᵀ, O = softmax(S)·V), reading q, k and v in place
 * through their row strides, with the (batch, head) pairs spread over the OpenMP team. One
 * head's GEMMs are too small to split further. */
#include "cpu-attention.h"
#include "cpu-precision.h"

#include <cblas.h>
#include <limits.h>
#include <omp.h>

/* Bytes of scores per query block: stays in L2 between the two sgemms. */
#define SCORE_BYTES (512u << 10)

typedef struct {
  const float *q, *k, *v;
  float *out;
  int64_t nb, nq, nk, h, d, dv;
  int64_t sq[3], sk[3], sv[3]; /* strides of the batch, token and head dimensions */
  float scale;
  gboolean causal;
  int64_t qb;                  /* queries per block */
  gboolean fused;              /* cpu-attention-avx512.c's rows */
  gboolean bf16;               /* cpu-attention-bf16.c's (fused, VDPBF16PS products) */
  int64_t nkp;                 /* nk rounded up to 16: the fused rows' packed keys */
} Attn;

/* Fused: per block, Kᵀ packed into the thread's scratch, then the rows (scores in L1); bf16:
 * the keys and values packed (cpu-attention.h), the key rows' scratch, the scores and the
 * rows' bf16 queries and probabilities. In floats, each part a whole number of 64 bytes. */
#define BF16_FLOATS(n) (TS_CPU_ALIGN64 (sizeof (uint16_t) * (size_t) (n)) / sizeof (float))

static int64_t
scratch_floats (const Attn *a)
{
  int64_t r = TS_CPU_ATTENTION_ROWS;
  if (a->bf16)
    return BF16_FLOATS (a->d * a->nkp) + BF16_FLOATS (a->nkp * a->dv) + BF16_FLOATS (a->nk * a->d) +
           r * a->nkp + BF16_FLOATS (r * a->d) + BF16_FLOATS (r * a->nkp);
  return a->fused ? (a->d + r) * a->nkp : a->qb * a->nk;
}

static void
attend_block_bf16 (const Attn *a, const float *q, const float *k, const float *v, int64_t nq,
                   float *out, float *s)
{
  int64_t r = TS_CPU_ATTENTION_ROWS;
  uint16_t *kt = (uint16_t *) s;
  uint16_t *vp = (uint16_t *) (s + BF16_FLOATS (a->d * a->nkp));
  uint16_t *row = (uint16_t *) ((float *) vp + BF16_FLOATS (a->nkp * a->dv));
  float *scores = (float *) row + BF16_FLOATS (a->nk * a->d);
  uint16_t *q16 = (uint16_t *) (scores + r * a->nkp);
  uint16_t *p16 = (uint16_t *) ((float *) q16 + BF16_FLOATS (r * a->d));
  ts_cpu_attention_pack_bf16 (k, a->sk[1], v, a->sv[1], a->nk, a->nkp, a->d, a->dv, kt, vp, row);
  ts_cpu_attention_rows_bf16 (q, a->sq[1], nq, kt, a->nk, a->nkp, a->d, vp, a->dv, a->scale,
                              scores, q16, p16, out, a->h * a->dv);
}

static void
attend_block (const Attn *a, int64_t b, int64_t head, int64_t q0, float *s)
{
  int64_t nq = MIN (a->qb, a->nq - q0);
  /* causal: no query of this block sees keys past its last query */
  int64_t nk = a->causal ? MIN (a->nk, q0 + nq) : a->nk;
  const float *q = a->q + b * a->sq[0] + q0 * a->sq[1] + head * a->sq[2];
  const float *k = a->k + b * a->sk[0] + head * a->sk[2];
  const float *v = a->v + b * a->sv[0] + head * a->sv[2];
  float *out = a->out + ((b * a->nq + q0) * a->h + head) * a->dv;

  if (a->bf16) {
    attend_block_bf16 (a, q, k, v, nq, out, s);
    return;
  }
  if (a->fused) {
    float *kt = s, *rows = s + a->d * a->nkp;
    ts_cpu_attention_pack_keys (k, a->sk[1], a->nk, a->d, kt, a->nkp);
    ts_cpu_attention_rows_avx512 (q, a->sq[1], nq, kt, a->nk, a->nkp, a->d, v, a->sv[1], a->dv,
                                  a->scale, rows, out, a->h * a->dv);
    return;
  }
  cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, (int) nq, (int) nk, (int) a->d,
               a->scale, q, (int) a->sq[1], k, (int) a->sk[1], 0.0f, s, (int) nk);
  for (int64_t i = 0; i < nq; i++) {
    float *row = s + i * nk;
    int64_t seen = a->causal ? MIN (nk, q0 + i + 1) : nk;
    ts_cpu_softmax_row (row, row, seen);
    if (seen < nk)
      memset (row + seen, 0, (nk - seen) * sizeof (float));
  }
  cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, (int) nq, (int) a->dv, (int) nk,
               1.0f, s, (int) nk, v, (int) a->sv[1], 0.0f, out, (int) (a->h * a->dv));
}

/* A q/k/v operand as sgemm needs it: a pointer and [batch, token, head] strides with the
 * token stride a valid leading dimension. Views BLAS cannot take (token stride 0 from a
 * broadcast, or overlapping rows) are packed into *owned first. */
static gboolean
operand (const TsTensor *t, const float **p, int64_t st[3], float **owned, GError **error)
{
  *owned = NULL;
  *p = ts_cpu_tensor_data (t);
  for (int i = 0; i < 3; i++)
    st[i] = t->stride[i];
  if (t->shape[1] == 1)
    st[1] = t->shape[3]; /* never stepped over: any valid leading dimension will do */
  if (st[1] >= t->shape[3] && st[1] <= INT_MAX)
    return TRUE;

  int64_t rows = t->shape[0] * t->shape[1] * t->shape[2], d = t->shape[3];
  float *buf = ts_cpu_scratch_new (sizeof (float) * rows * d, "attention operand", error);
  if (!buf)
    return FALSE;
  for (int64_t r = 0; r < rows; r++) {
    int64_t b = r / (t->shape[1] * t->shape[2]), n = (r / t->shape[2]) % t->shape[1];
    int64_t h = r % t->shape[2];
    memcpy (buf + r * d, *p + b * t->stride[0] + n * t->stride[1] + h * t->stride[2],
            d * sizeof (float));
  }
  *owned = buf;
  *p = buf;
  st[0] = t->shape[1] * t->shape[2] * d;
  st[1] = t->shape[2] * d;
  st[2] = d;
  return TRUE;
}

static void
run_blocks (TsBackend *be, const Attn *a, float *scores, int nt, int64_t items, int64_t blocks)
{
#pragma omp parallel num_threads (nt) if (nt > 1)
  {
    float *s = scores + (size_t) scratch_floats (a) * omp_get_thread_num ();
#pragma omp for schedule (dynamic, 1)
    for (int64_t it = 0; it < items; it++) {
      int64_t blk = it % blocks, bh = it / blocks;
      attend_block (a, bh / a->h, bh % a->h, blk * a->qb, s);
    }
  }
}

const char *
ts_cpu_attention_kernel_name (void)
{
  if (!ts_cpu_rows_avx512 ())
    return "sgemm pairs (OpenBLAS, f32)";
  return ts_cpu_bf16_rounds_activations ()
           ? "avx512 fused rows (f32; for bf16/int8 networks VDPBF16PS products; causal masks: sgemm pairs)"
           : "avx512 fused rows (f32; causal masks: sgemm pairs)";
}

gboolean
ts_cpu_op_attention (TsBackend *be, const TsOp *op, GError **error)
{
  const TsTensor *q = op->src[0], *k = op->src[1], *v = op->src[2];
  if (q->stride[3] != 1 || k->stride[3] != 1 || v->stride[3] != 1 ||
      q->dtype != TS_DTYPE_F32 || k->dtype != TS_DTYPE_F32 || v->dtype != TS_DTYPE_F32) {
    g_set_error (error, TS_ERROR, TS_ERROR_UNSUPPORTED,
                 "attention: q, k and v must be f32 with a dense last dimension");
    return FALSE;
  }
  Attn a = {
    .out = ts_cpu_tensor_data (op->dst),
    .nb = q->shape[0], .nq = q->shape[1], .nk = k->shape[1], .h = q->shape[2],
    .d = q->shape[3], .dv = v->shape[3],
    .scale = op->p.attention.scale,
    .causal = op->p.attention.causal,
  };
  if (a.nk > INT_MAX / 2 || a.h * a.dv > INT_MAX) {
    g_set_error (error, TS_ERROR, TS_ERROR_UNSUPPORTED, "attention: sizes beyond 2^31");
    return FALSE;
  }
  a.fused = !a.causal && ts_cpu_rows_avx512 ();
  /* reduced precision asked for (the network's weights are bf16 or int8) and the products
   * round to bf16 anyway on this kernel choice */
  a.bf16 = a.fused && op->p.attention.precision != TS_PRECISION_F32 &&
           ts_cpu_bf16_rounds_activations () && a.d % 2 == 0;
  a.nkp = (a.nk + 15) / 16 * 16;
  a.qb = SCORE_BYTES / (sizeof (float) * a.nk);
  /* causal: smaller blocks skip more of the masked upper triangle; fused: the scores never
   * leave L1 whatever the block, which only sets how often Kᵀ is packed */
  a.qb = a.fused ? 256 : CLAMP (a.qb, 16, a.causal ? 32 : 256);
  if (a.qb > a.nq)
    a.qb = a.nq;
  int64_t blocks = (a.nq + a.qb - 1) / a.qb, items = a.nb * a.h * blocks;
  double flops = 2.0 * a.nb * a.h * a.nq * a.nk * (a.d + a.dv);
  int nt = ts_cpu_threads_for (be, flops / 64);
  if (nt > items)
    nt = (int) items;

  float *own_q = NULL, *own_k = NULL, *own_v = NULL, *scores = NULL;
  gboolean ok = operand (q, &a.q, a.sq, &own_q, error) && operand (k, &a.k, a.sk, &own_k, error) &&
                operand (v, &a.v, a.sv, &own_v, error) &&
                (scores = ts_cpu_scratch_new (sizeof (float) * scratch_floats (&a) * nt,
                                              "attention scores", error)) != NULL;
  if (ok)
    run_blocks (be, &a, scores, nt, items, blocks);
  free (own_q);
  free (own_k);
  free (own_v);
  free (scores);
  return ok;
}
