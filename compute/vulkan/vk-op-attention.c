/* vk-op-attention.c — TS_OP_ATTENTION on Vulkan (shaders/attention.comp): fused
 * multi-head attention with an online softmax, one query row per invocation.
 *
 * q, k, v are [B, N, H, D] f32 views with any strides (last dimension dense), the output
 * [B, Nq, H, Dv] is contiguous. Work whose operands exceed one binding is cut into
 * dispatches over batches and then over query rows; keys and values of one batch must fit
 * a binding (they are walked in full by every query). */
#include "vk-ops.h"
#include "vk-split.h"
#include "vk-variant.h"

/* Mirrors AttentionPush in shaders/attention.comp. */
typedef struct {
  uint32_t Nq, Nk, H, D, DV;
  uint32_t q_tiles;
  uint32_t heads;
  uint32_t q_first;
  uint32_t q_off, q_sb, q_sn, q_sh;
  uint32_t k_off, k_sb, k_sn, k_sh;
  uint32_t v_off, v_sb, v_sn, v_sh;
  uint32_t o_off, o_sb;
  float    scale;
  uint32_t flags;
} TsVkAttentionPush;

enum { ATTN_CAUSAL = 1 };

/* Registers hold q and the output row as vec4s: up to 64 of each. */
#define ATTN_MAX_DIM 256
#define ATTN_BLOCK 16

typedef struct {
  const TsTensor *q, *k, *v, *o;
  int64_t b, nq, nk, h, d, dv;
} Attn;

typedef struct {
  TsVkSpan q, k, v, o;
} Spans;

static TsVkSpan
box (const TsTensor *t, int64_t b0, int64_t nb, int64_t r0, int64_t nr)
{
  int64_t start[4] = { b0, r0, 0, 0 };
  int64_t len[4] = { nb, nr, t->shape[2], t->shape[3] };
  return ts_vk_span_box (t, start, len);
}

static void
chunk_spans (const Attn *at, int64_t b0, int64_t nb, int64_t r0, int64_t nr, Spans *s)
{
  s->q = box (at->q, b0, nb, r0, nr);
  s->o = box (at->o, b0, nb, r0, nr);
  s->k = box (at->k, b0, nb, 0, at->nk);
  s->v = box (at->v, b0, nb, 0, at->nk);
}

/* Batches per dispatch (*nb), then query rows (*nr), halved until everything fits. */
static gboolean
choose_chunk (TsVkBackend *vk, const Attn *at, int64_t *nb, int64_t *nr, GError **error)
{
  *nb = at->b;
  *nr = at->nq;
  for (;;) {
    Spans s;
    chunk_spans (at, 0, *nb, 0, *nr, &s);
    gboolean kv_ok = ts_vk_span_fits (vk, &s.k) && ts_vk_span_fits (vk, &s.v);
    gboolean q_ok = ts_vk_span_fits (vk, &s.q) && ts_vk_span_fits (vk, &s.o);
    if (kv_ok && q_ok)
      return TRUE;
    if (!ts_vk_halve (nb) && (!kv_ok || !ts_vk_halve (nr))) {
      g_set_error (error, TS_ERROR, TS_ERROR_UNSUPPORTED,
                   "attention: the keys and values of one batch do not fit a storage binding "
                   "(%" G_GUINT64_FORMAT " bytes)", (guint64) ts_vk_limits (vk)->max_storage_range);
      return FALSE;
    }
  }
}

/* Variant, rows per workgroup and keys per block. */
typedef struct {
  gboolean shm;
  uint32_t rows, block;
} Config;

static void
choose_config (TsVkBackend *vk, const Attn *at, int64_t nr, Config *cfg)
{
  const TsVkLimits *l = ts_vk_limits (vk);
  /* Enough rows per workgroup for the query count, but no more than 64: a GPU wants many
   * workgroups, and idle rows are wasted work on a CPU. */
  cfg->rows = 8;
  while (cfg->rows < 64 && cfg->rows < nr)
    cfg->rows *= 2;
  /* Blocks of keys amortise the softmax rescaling on GPUs; on CPU devices a block of 16,
   * fully unrolled, takes lavapipe seconds to compile and runs slower than 4. Without
   * shared memory each key is its own block. */
  cfg->shm = ts_vk_want_staging (vk);
  cfg->block = l->is_cpu_device ? 4 : ATTN_BLOCK;
  uint32_t per_key = ((at->d + 3) / 4 + (at->dv + 3) / 4) * 16;
  while (cfg->shm && cfg->block * per_key > l->max_shared_memory) {
    cfg->block /= 2;
    if (cfg->block == 0)
      cfg->shm = FALSE;
  }
  if (!cfg->shm)
    cfg->block = 1;
}

static gboolean
dispatch_chunk (TsVkBackend *vk, const Attn *at, const TsOp *op, const Config *cfg,
                int64_t b0, int64_t nb, int64_t r0, int64_t nr, GError **error)
{
  Spans s;
  chunk_spans (at, b0, nb, r0, nr, &s);
  TsVkBinding bind[4];
  uint32_t q_off, k_off, v_off, o_off;
  if (!ts_vk_span_bind (vk, &s.q, FALSE, &bind[0], &q_off, error) ||
      !ts_vk_span_bind (vk, &s.k, FALSE, &bind[1], &k_off, error) ||
      !ts_vk_span_bind (vk, &s.v, FALSE, &bind[2], &v_off, error) ||
      !ts_vk_span_bind (vk, &s.o, TRUE, &bind[3], &o_off, error))
    return FALSE;
  uint32_t tiles = (nr + cfg->rows - 1) / cfg->rows;
  TsVkAttentionPush push = {
    .Nq = nr, .Nk = at->nk, .H = at->h, .D = at->d, .DV = at->dv,
    .q_tiles = tiles, .heads = nb * at->h, .q_first = r0,
    .q_off = q_off, .q_sb = at->q->stride[0], .q_sn = at->q->stride[1], .q_sh = at->q->stride[2],
    .k_off = k_off, .k_sb = at->k->stride[0], .k_sn = at->k->stride[1], .k_sh = at->k->stride[2],
    .v_off = v_off, .v_sb = at->v->stride[0], .v_sn = at->v->stride[1], .v_sh = at->v->stride[2],
    .o_off = o_off, .o_sb = at->o->stride[0],
    .scale = op->p.attention.scale,
    .flags = op->p.attention.causal ? ATTN_CAUSAL : 0,
  };
  uint32_t spec[4] = { cfg->rows, (at->d + 3) / 4, (at->dv + 3) / 4, cfg->block };
  double flops = 2.0 * nb * at->h * nr * at->nk * (at->d + at->dv);
  double bytes = 4.0 * nb * at->h * (nr * (at->d + at->dv) + tiles * at->nk * (at->d + at->dv));
  TsVkKernelId kernel = cfg->shm ? TS_VK_KERNEL_ATTENTION_SHM : TS_VK_KERNEL_ATTENTION_REG;
  return ts_vk_dispatch_linear (vk, kernel, spec, G_N_ELEMENTS (spec), bind, 4, &push, sizeof push,
                                (uint64_t) tiles * nb * at->h, flops, bytes, error);
}

gboolean
ts_vk_op_attention (TsVkBackend *vk, const TsOp *op, GError **error)
{
  Attn at = {
    .q = op->src[0], .k = op->src[1], .v = op->src[2], .o = op->dst,
    .b = op->src[0]->shape[0], .nq = op->src[0]->shape[1], .nk = op->src[1]->shape[1],
    .h = op->src[0]->shape[2], .d = op->src[0]->shape[3], .dv = op->src[2]->shape[3],
  };
  if (at.d > ATTN_MAX_DIM || at.dv > ATTN_MAX_DIM) {
    g_set_error (error, TS_ERROR, TS_ERROR_UNSUPPORTED,
                 "attention: head dimensions above %d are not supported on Vulkan (got %"
                 G_GINT64_FORMAT ", %" G_GINT64_FORMAT ")", ATTN_MAX_DIM, at.d, at.dv);
    return FALSE;
  }
  int64_t nb, nr;
  if (!choose_chunk (vk, &at, &nb, &nr, error))
    return FALSE;
  Config cfg;
  choose_config (vk, &at, nr, &cfg);
  for (int64_t b0 = 0; b0 < at.b; b0 += nb)
    for (int64_t r0 = 0; r0 < at.nq; r0 += nr)
      if (!dispatch_chunk (vk, &at, op, &cfg, b0, MIN (nb, at.b - b0), r0,
                           MIN (nr, at.nq - r0), error))
        return FALSE;
  return TRUE;
}
