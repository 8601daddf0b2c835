/* vk-op-matmul.c — TS_OP_MATMUL on Vulkan (shaders/matmul.comp).
 *
 * The front-end hands over a [batch, M, K] (or [batch, K, M] with trans_a), b [batch or 1,
 * K, N] (or [.., N, K] with trans_b) in f32/f16/bf16, an optional f32 bias [N], and a
 * contiguous f32 output [batch, M, N]. Transposition is only a matter of strides. When an
 * operand is too large for one binding, the product is cut into chunks along the batch,
 * M, N and K, each a dispatch over its own sub-ranges; K chunks after the first add to
 * what the earlier ones wrote. */
#include "vk-ops.h"
#include "vk-split.h"
#include "vk-variant.h"
#include "vk-coopmat.h"

/* Mirrors MatmulPush in shaders/matmul.comp. */
typedef struct {
  uint32_t M, N, K, batches;
  uint32_t a_off, a_sm, a_sk, a_sb;
  uint32_t b_off, b_sk, b_sn, b_sb;
  uint32_t d_off, d_sm, d_sb;
  uint32_t bias_off;
  uint32_t flags;
} TsVkMatmulPush;

enum { MATMUL_BIAS = 1, MATMUL_ACCUMULATE = 2 };

/* The product in GEMM terms, strides in elements. */
typedef struct {
  const TsTensor *a, *b, *bias, *d;
  int64_t batch, m, n, k;
  int64_t a_sb, a_sm, a_sk;
  int64_t b_sb, b_sk, b_sn;
  int64_t d_sb, d_sm;
} Problem;

/* A sub-product: start and length along batch, M, N and K. */
typedef struct {
  int64_t b0, nb, m0, nm, n0, nn, k0, nk;
} Chunk;

typedef struct {
  TsVkSpan a, b, bias, d;
} Spans;

static void
problem_init (Problem *p, const TsOp *op)
{
  const TsTensor *a = op->src[0], *b = op->src[1], *d = op->dst;
  gboolean ta = op->p.matmul.trans_a, tb = op->p.matmul.trans_b;
  *p = (Problem) {
    .a = a, .b = b, .bias = op->src[2], .d = d,
    .batch = d->shape[0], .m = d->shape[1], .n = d->shape[2],
    .k = a->shape[ta ? 1 : 2],
    .a_sb = a->stride[0], .a_sm = a->stride[ta ? 2 : 1], .a_sk = a->stride[ta ? 1 : 2],
    /* A weight shared by the batch has batch stride 0. */
    .b_sb = b->shape[0] == 1 ? 0 : b->stride[0],
    .b_sk = b->stride[tb ? 2 : 1], .b_sn = b->stride[tb ? 1 : 2],
    .d_sb = d->stride[0], .d_sm = d->stride[1],
  };
}

static TsVkSpan
span3 (const TsTensor *t, int64_t s0, int64_t s1, int64_t s2, int64_t i0, int64_t n0,
       int64_t i1, int64_t n1, int64_t i2, int64_t n2)
{
  int64_t lo = i0 * s0 + i1 * s1 + i2 * s2;
  return (TsVkSpan) { t, lo, lo + (n0 - 1) * s0 + (n1 - 1) * s1 + (n2 - 1) * s2 };
}

static void
chunk_spans (const Problem *p, const Chunk *c, Spans *s)
{
  s->a = span3 (p->a, p->a_sb, p->a_sm, p->a_sk, c->b0, c->nb, c->m0, c->nm, c->k0, c->nk);
  s->b = span3 (p->b, p->b_sb, p->b_sk, p->b_sn, c->b0, c->nb, c->k0, c->nk, c->n0, c->nn);
  s->d = span3 (p->d, p->d_sb, p->d_sm, 1, c->b0, c->nb, c->m0, c->nm, c->n0, c->nn);
  if (p->bias)
    s->bias = (TsVkSpan) { p->bias, c->n0, c->n0 + c->nn - 1 };
}

/* Shrink the chunk lengths in *c until every operand fits one binding: first the batch,
 * then for each operand too large the dimension that is outer in its layout. */
static gboolean
choose_chunk (TsVkBackend *vk, const Problem *p, Chunk *c, GError **error)
{
  *c = (Chunk) { 0, p->batch, 0, p->m, 0, p->n, 0, p->k };
  for (;;) {
    Spans s;
    chunk_spans (p, c, &s);
    gboolean a_ok = ts_vk_span_fits (vk, &s.a), b_ok = ts_vk_span_fits (vk, &s.b);
    gboolean d_ok = ts_vk_span_fits (vk, &s.d);
    gboolean bias_ok = !p->bias || ts_vk_span_fits (vk, &s.bias);
    if (a_ok && b_ok && d_ok && bias_ok)
      return TRUE;
    gboolean shrunk;
    if (c->nb > 1)
      shrunk = ts_vk_halve (&c->nb);
    else if (!d_ok)
      shrunk = ts_vk_halve (&c->nm) || ts_vk_halve (&c->nn);
    else if (!a_ok)
      shrunk = p->a_sm > p->a_sk ? ts_vk_halve (&c->nm) || ts_vk_halve (&c->nk)
                                 : ts_vk_halve (&c->nk) || ts_vk_halve (&c->nm);
    else if (!b_ok)
      shrunk = p->b_sn > p->b_sk ? ts_vk_halve (&c->nn) || ts_vk_halve (&c->nk)
                                 : ts_vk_halve (&c->nk) || ts_vk_halve (&c->nn);
    else
      shrunk = ts_vk_halve (&c->nn);
    if (!shrunk) {
      g_set_error (error, TS_ERROR, TS_ERROR_UNSUPPORTED,
                   "matmul: an operand row does not fit one storage binding (%" G_GUINT64_FORMAT
                   " bytes)", (guint64) ts_vk_limits (vk)->max_storage_range);
      return FALSE;
    }
  }
}

static gboolean
dispatch_chunk (TsVkBackend *vk, const Problem *p, const Chunk *c, TsVkKernelId kernel,
                const TsVkGemmConfig *cfg, GError **error)
{
  Spans s;
  chunk_spans (p, c, &s);
  TsVkBinding bind[4];
  uint32_t a_off, b_off, bias_off = 0, d_off;
  if (!ts_vk_span_bind (vk, &s.a, FALSE, &bind[0], &a_off, error) ||
      !ts_vk_span_bind (vk, &s.b, FALSE, &bind[1], &b_off, error) ||
      !ts_vk_span_bind (vk, &s.d, TRUE, &bind[3], &d_off, error))
    return FALSE;
  if (p->bias) {
    if (!ts_vk_span_bind (vk, &s.bias, FALSE, &bind[2], &bias_off, error))
      return FALSE;
  } else {
    bind[2] = bind[0]; /* unused by the shader; any valid f32 buffer */
  }

  gboolean first_k = c->k0 == 0;
  TsVkMatmulPush push = {
    .M = c->nm, .N = c->nn, .K = c->nk, .batches = c->nb,
    .a_off = a_off, .a_sm = p->a_sm, .a_sk = p->a_sk, .a_sb = p->a_sb,
    .b_off = b_off, .b_sk = p->b_sk, .b_sn = p->b_sn, .b_sb = p->b_sb,
    .d_off = d_off, .d_sm = p->d_sm, .d_sb = p->d_sb,
    .bias_off = bias_off,
    .flags = (p->bias && first_k ? MATMUL_BIAS : 0) | (first_k ? 0 : MATMUL_ACCUMULATE),
  };
  double flops = 2.0 * c->nb * c->nm * c->nn * c->nk;
  double bytes = 4.0 * c->nb * c->nm * (c->nk + c->nn) +
                 (double) ts_dtype_size (p->b->dtype) * c->nk * c->nn * (p->b_sb ? c->nb : 1);
  return ts_vk_dispatch_linear (vk, kernel, cfg->spec, G_N_ELEMENTS (cfg->spec), bind, 4,
                                &push, sizeof push, ts_vk_gemm_groups (cfg, c->nm, c->nn, c->nb),
                                flops, bytes, error);
}

gboolean
ts_vk_op_matmul (TsVkBackend *vk, const TsOp *op, GError **error)
{
  Problem p;
  problem_init (&p, op);
  /* The shader knows one of each operand's two strides is 1 (the front-end passes
   * contiguous operands). */
  if ((p.a_sk != 1 && p.a_sm != 1) || (p.b_sk != 1 && p.b_sn != 1) || p.d->stride[2] != 1) {
    g_set_error (error, TS_ERROR, TS_ERROR_UNSUPPORTED, "matmul: operands must be contiguous");
    return FALSE;
  }

  Chunk size;
  if (!choose_chunk (vk, &p, &size, error))
    return FALSE;
  TsVkGemmConfig cfg;
  TsVkKernelId kernel;
  /* NVIDIA's matrix units where the device has them and the product fits (vk-coopmat.c). */
  if (ts_vk_coopmat_gemm_choose (ts_vk_limits (vk), p.b->dtype, size.nm, size.nn, size.nk,
                                 size.nb, p.a_sk == 1, p.b_sk == 1, &cfg, NULL)) {
    kernel = TS_VK_KERNEL_MATMUL_COOPMAT_F16;
  } else {
    ts_vk_gemm_config (vk, size.nm, size.nn, size.nb, p.a_sk == 1, p.b_sk == 1, &cfg);
    kernel = cfg.shm ? ts_vk_kernel_for_dtype (p.b->dtype, TS_VK_KERNEL_MATMUL_SHM_F32,
                                               TS_VK_KERNEL_MATMUL_SHM_F16,
                                               TS_VK_KERNEL_MATMUL_SHM_BF16)
                     : ts_vk_kernel_for_dtype (p.b->dtype, TS_VK_KERNEL_MATMUL_REG_F32,
                                               TS_VK_KERNEL_MATMUL_REG_F16,
                                               TS_VK_KERNEL_MATMUL_REG_BF16);
  }

  for (int64_t b0 = 0; b0 < p.batch; b0 += size.nb)
    for (int64_t m0 = 0; m0 < p.m; m0 += size.nm)
      for (int64_t n0 = 0; n0 < p.n; n0 += size.nn)
        for (int64_t k0 = 0; k0 < p.k; k0 += size.nk) {
          Chunk c = {
            b0, MIN (size.nb, p.batch - b0), m0, MIN (size.nm, p.m - m0),
            n0, MIN (size.nn, p.n - n0), k0, MIN (size.nk, p.k - k0),
          };
          if (!dispatch_chunk (vk, &p, &c, kernel, &cfg, error))
            return FALSE;
        }
  return TRUE;
}
