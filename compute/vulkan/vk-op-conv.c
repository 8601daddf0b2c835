/* vk-op-conv.c — TS_OP_CONV2D and TS_OP_CONV_TRANSPOSE_2X2 on Vulkan.
 *
 * Dense and grouped convolutions are implicit GEMMs (shaders/conv.comp): per image and
 * group, out[o][p] = Σ w[o][k]·im2col(x)[k][p], the im2col matrix gathered on the fly.
 * Convolutions where each output channel reads a single input channel (depthwise) use a
 * direct kernel (shaders/conv-dw.comp). The 2×2 stride-2 transposed convolution is the
 * GEMM w[c][(o,a,b)]ᵀ·x[c][p] scattered into the output (conv.comp, MODE 1).
 * x is contiguous f32 NCHW, w contiguous in PyTorch layout (f32/f16/bf16), bias f32.
 * Operands larger than one binding are cut into chunks of images, groups, output channels
 * and input channels; input-channel chunks after the first add to the output. */
#include "vk-ops.h"
#include "vk-split.h"
#include "vk-variant.h"

#include <string.h>

/* Mirrors ConvPush in shaders/conv.comp. */
typedef struct {
  uint32_t M, N, K, batches;
  uint32_t groups;
  uint32_t H, W, OW;
  uint32_t pad_t, pad_l;
  uint32_t x_off, x_sn, x_sc, x_sg;
  uint32_t w_off, w_sm, w_sk, w_sg;
  uint32_t d_off, d_sn, d_sc, d_sg;
  uint32_t bias_off, bias_sg;
  uint32_t flags;
} TsVkConvPush;

/* Mirrors ConvDwPush in shaders/conv-dw.comp. */
typedef struct {
  uint32_t total;
  uint32_t O, OH, OW;
  uint32_t H, W, pad_t, pad_l;
  uint32_t mult;
  uint32_t x_off, x_sn, x_sc;
  uint32_t w_off;
  uint32_t d_off, d_sn, d_sc;
  uint32_t bias_off;
  uint32_t flags;
} TsVkConvDwPush;

enum { CONV_BIAS = 1, CONV_ACCUMULATE = 2 };
enum { MODE_CONV = 0, MODE_TRANSPOSE = 1 };

/* One convolution. For the transposed one, "out channels" are the O of w[C, O, 2, 2] and
 * groups is 1. */
typedef struct {
  const TsTensor *x, *w, *bias, *d;
  gboolean transpose;
  int64_t images, groups;
  int64_t cg, og;            /* input and output channels per group */
  int64_t kh, kw;
  int64_t h, w_in, oh, ow;   /* input and output sizes */
} Conv;

/* A chunk: images, groups, output channels within the group, input channels within it. */
typedef struct {
  int64_t i0, ni, g0, ng, o0, no, c0, nc;
} Chunk;

typedef struct {
  TsVkSpan x, w, bias, d;
} Spans;

static void
conv_init (Conv *cv, const TsOp *op)
{
  const TsTensor *x = op->src[0], *w = op->src[1], *d = op->dst;
  cv->x = x;
  cv->w = w;
  cv->bias = op->src[2];
  cv->d = d;
  cv->transpose = op->kind == TS_OP_CONV_TRANSPOSE_2X2;
  cv->images = x->shape[0];
  cv->h = x->shape[2];
  cv->w_in = x->shape[3];
  cv->oh = d->shape[2];
  cv->ow = d->shape[3];
  if (cv->transpose) {
    cv->groups = 1;
    cv->cg = x->shape[1];
    cv->og = w->shape[1];
    cv->kh = cv->kw = 2;
  } else {
    cv->groups = op->p.conv.groups;
    cv->cg = w->shape[1];
    cv->og = w->shape[0] / cv->groups;
    cv->kh = w->shape[2];
    cv->kw = w->shape[3];
  }
}

static TsVkSpan
box (const TsTensor *t, int64_t s0, int64_t n0, int64_t s1, int64_t n1)
{
  int64_t start[4] = { s0, s1, 0, 0 };
  int64_t len[4] = { n0, n1, t->shape[2], t->shape[3] };
  return ts_vk_span_box (t, start, len);
}

/* The channel range [first, first + n) of a chunk that spans groups g0 .. g0+ng-1 and
 * channels c0 .. c0+nc-1 within each group of `per_group` channels. */
static void
channel_range (int64_t g0, int64_t ng, int64_t per_group, int64_t c0, int64_t nc,
               int64_t *first, int64_t *n)
{
  *first = g0 * per_group + c0;
  *n = (ng - 1) * per_group + nc;
}

static void
chunk_spans (const Conv *cv, const Chunk *c, Spans *s)
{
  int64_t ci, nci, oi, noi;
  channel_range (c->g0, c->ng, cv->cg, c->c0, c->nc, &ci, &nci);
  channel_range (c->g0, c->ng, cv->og, c->o0, c->no, &oi, &noi);
  s->x = box (cv->x, c->i0, c->ni, ci, nci);
  s->d = box (cv->d, c->i0, c->ni, oi, noi);
  s->w = cv->transpose ? box (cv->w, c->c0, c->nc, c->o0, c->no) : box (cv->w, oi, noi, 0, 1);
  if (!cv->transpose) {
    /* Only the chunk's input channels of each weight row: [oi, c0] .. [last, c0+nc-1]. */
    int64_t lo[4] = { oi, c->c0, 0, 0 }, hi[4] = { oi + noi - 1, c->c0 + c->nc - 1,
                                                    cv->kh - 1, cv->kw - 1 };
    s->w.lo = ts_vk_span_index (cv->w, lo);
    s->w.hi = ts_vk_span_index (cv->w, hi);
  }
  if (cv->bias)
    s->bias = (TsVkSpan) { cv->bias, oi, oi + noi - 1 };
}

static gboolean
chunk_fits (TsVkBackend *vk, const Spans *s, const Conv *cv, gboolean *x_ok, gboolean *w_ok,
            gboolean *d_ok)
{
  *x_ok = ts_vk_span_fits (vk, &s->x);
  *w_ok = ts_vk_span_fits (vk, &s->w);
  *d_ok = ts_vk_span_fits (vk, &s->d) && (!cv->bias || ts_vk_span_fits (vk, &s->bias)) &&
          /* 32-bit output indices (conv-dw numbers every output of a dispatch) */
          s->d.hi - s->d.lo < G_MAXUINT32 - 1024;
  return *x_ok && *w_ok && *d_ok;
}

/* Shrink the chunk until every operand fits a binding: images, then groups, then output
 * channels for the output and the weights, input channels for the input. Depthwise chunks
 * move input and output channels together (dw: nc counts input channels, no = nc·mult). */
static gboolean
choose_chunk (TsVkBackend *vk, const Conv *cv, gboolean dw, Chunk *c, GError **error)
{
  *c = (Chunk) { 0, cv->images, 0, cv->groups, 0, cv->og, 0, cv->cg };
  for (;;) {
    Spans s;
    gboolean x_ok, w_ok, d_ok, shrunk;
    chunk_spans (cv, c, &s);
    if (chunk_fits (vk, &s, cv, &x_ok, &w_ok, &d_ok))
      return TRUE;
    if (c->ni > 1)
      shrunk = ts_vk_halve (&c->ni);
    else if (c->ng > 1)
      shrunk = ts_vk_halve (&c->ng);
    else if (dw)
      shrunk = FALSE; /* groups are the channels: one channel per chunk is the end */
    else if (!d_ok || !w_ok)
      shrunk = ts_vk_halve (&c->no) || ts_vk_halve (&c->nc);
    else
      shrunk = ts_vk_halve (&c->nc);
    if (!shrunk) {
      g_set_error (error, TS_ERROR, TS_ERROR_UNSUPPORTED,
                   "convolution: one channel plane does not fit a storage binding (%"
                   G_GUINT64_FORMAT " bytes)", (guint64) ts_vk_limits (vk)->max_storage_range);
      return FALSE;
    }
  }
}

typedef struct {
  TsVkBinding b[4];
  uint32_t x_off, w_off, bias_off, d_off;
} Bound;

static gboolean
bind_chunk (TsVkBackend *vk, const Conv *cv, const Chunk *c, Bound *bd, GError **error)
{
  Spans s;
  chunk_spans (cv, c, &s);
  bd->bias_off = 0;
  if (!ts_vk_span_bind (vk, &s.x, FALSE, &bd->b[0], &bd->x_off, error) ||
      !ts_vk_span_bind (vk, &s.w, FALSE, &bd->b[1], &bd->w_off, error) ||
      !ts_vk_span_bind (vk, &s.d, TRUE, &bd->b[3], &bd->d_off, error))
    return FALSE;
  if (cv->bias)
    return ts_vk_span_bind (vk, &s.bias, FALSE, &bd->b[2], &bd->bias_off, error);
  bd->b[2] = bd->b[0]; /* unused by the shader; any valid f32 buffer */
  return TRUE;
}

static gboolean
dispatch_gemm (TsVkBackend *vk, const Conv *cv, const TsConv2dParams *p, const Chunk *c,
               GError **error)
{
  Bound bd;
  if (!bind_chunk (vk, cv, c, &bd, error))
    return FALSE;
  int64_t taps = cv->kh * cv->kw;
  int64_t pixels = cv->transpose ? cv->h * cv->w_in : cv->oh * cv->ow;
  int64_t m = cv->transpose ? 4 * c->no : c->no;
  int64_t k = cv->transpose ? c->nc : c->nc * taps;
  int64_t batches = c->ni * c->ng;
  gboolean first = c->c0 == 0;

  TsVkConvPush push = {
    .M = m, .N = pixels, .K = k, .batches = batches, .groups = c->ng,
    .H = cv->h, .W = cv->w_in, .OW = cv->transpose ? cv->w_in : cv->ow,
    .x_off = bd.x_off, .x_sn = cv->x->stride[0], .x_sc = cv->x->stride[1],
    .x_sg = cv->cg * cv->x->stride[1],
    .w_off = bd.w_off,
    .d_off = bd.d_off, .d_sn = cv->d->stride[0], .d_sc = cv->d->stride[1],
    .d_sg = cv->og * cv->d->stride[1],
    .bias_off = bd.bias_off, .bias_sg = cv->og,
    .flags = (cv->bias && first ? CONV_BIAS : 0) | (first ? 0 : CONV_ACCUMULATE),
  };
  if (cv->transpose) {
    push.w_sm = 1;
    push.w_sk = cv->w->stride[0];
  } else {
    push.pad_t = p->pad_top;
    push.pad_l = p->pad_left;
    push.w_sm = cv->w->stride[0];
    push.w_sk = 1;
    push.w_sg = cv->og * cv->w->stride[0];
  }

  gboolean flat = !cv->transpose && taps == 1 && p->stride_y == 1 && p->stride_x == 1 &&
                  p->pad_top == 0 && p->pad_left == 0 && p->pad_bottom == 0 && p->pad_right == 0;
  TsVkGemmConfig cfg;
  ts_vk_gemm_config (vk, m, pixels, batches, !cv->transpose, FALSE, &cfg);
  uint32_t spec[14];
  memcpy (spec, cfg.spec, sizeof cfg.spec);
  spec[8] = cv->kh;
  spec[9] = cv->kw;
  spec[10] = cv->transpose ? 1 : p->stride_y;
  spec[11] = cv->transpose ? 1 : p->stride_x;
  spec[12] = cv->transpose ? MODE_TRANSPOSE : MODE_CONV;
  spec[13] = flat;
  TsVkKernelId kernel =
    cfg.shm ? ts_vk_kernel_for_dtype (cv->w->dtype, TS_VK_KERNEL_CONV_SHM_F32,
                                      TS_VK_KERNEL_CONV_SHM_F16, TS_VK_KERNEL_CONV_SHM_BF16)
            : ts_vk_kernel_for_dtype (cv->w->dtype, TS_VK_KERNEL_CONV_REG_F32,
                                      TS_VK_KERNEL_CONV_REG_F16, TS_VK_KERNEL_CONV_REG_BF16);
  double flops = 2.0 * batches * m * pixels * k;
  double bytes = 4.0 * c->ni * (c->ng * c->nc * cv->h * cv->w_in + m * c->ng * pixels) +
                 (double) ts_dtype_size (cv->w->dtype) * c->ng * m * k;
  return ts_vk_dispatch_linear (vk, kernel, spec, G_N_ELEMENTS (spec), bd.b, 4, &push,
                                sizeof push, ts_vk_gemm_groups (&cfg, m, pixels, batches),
                                flops, bytes, error);
}

/* Depthwise: chunks are over images and (as groups) input channels. */
static gboolean
dispatch_dw (TsVkBackend *vk, const Conv *cv, const TsConv2dParams *p, const Chunk *c,
             GError **error)
{
  Bound bd;
  if (!bind_chunk (vk, cv, c, &bd, error))
    return FALSE;
  int64_t outs = c->ng * cv->og;
  TsVkConvDwPush push = {
    .total = c->ni * outs * cv->oh * cv->ow,
    .O = outs, .OH = cv->oh, .OW = cv->ow,
    .H = cv->h, .W = cv->w_in, .pad_t = p->pad_top, .pad_l = p->pad_left,
    .mult = cv->og,
    .x_off = bd.x_off, .x_sn = cv->x->stride[0], .x_sc = cv->x->stride[1],
    .w_off = bd.w_off,
    .d_off = bd.d_off, .d_sn = cv->d->stride[0], .d_sc = cv->d->stride[1],
    .bias_off = bd.bias_off,
    .flags = cv->bias ? CONV_BIAS : 0,
  };
  const uint32_t wg = 64;
  uint32_t spec[12] = { wg };
  spec[8] = cv->kh;
  spec[9] = cv->kw;
  spec[10] = p->stride_y;
  spec[11] = p->stride_x;
  double flops = 2.0 * push.total * cv->kh * cv->kw;
  double bytes = 4.0 * (c->ni * c->ng * cv->h * cv->w_in + push.total);
  return ts_vk_dispatch_linear (vk, ts_vk_kernel_for_dtype (cv->w->dtype, TS_VK_KERNEL_CONV_DW_F32,
                                                         TS_VK_KERNEL_CONV_DW_F16,
                                                         TS_VK_KERNEL_CONV_DW_BF16), spec,
                                G_N_ELEMENTS (spec), bd.b, 4, &push, sizeof push,
                                (push.total + wg - 1) / wg, flops, bytes, error);
}

gboolean
ts_vk_op_conv (TsVkBackend *vk, const TsOp *op, GError **error)
{
  Conv cv;
  conv_init (&cv, op);
  const TsConv2dParams *p = &op->p.conv;
  gboolean dw = !cv.transpose && cv.cg == 1;

  Chunk size;
  if (!choose_chunk (vk, &cv, dw, &size, error))
    return FALSE;
  for (int64_t i0 = 0; i0 < cv.images; i0 += size.ni)
    for (int64_t g0 = 0; g0 < cv.groups; g0 += size.ng)
      for (int64_t o0 = 0; o0 < cv.og; o0 += size.no)
        for (int64_t c0 = 0; c0 < cv.cg; c0 += size.nc) {
          Chunk c = {
            i0, MIN (size.ni, cv.images - i0), g0, MIN (size.ng, cv.groups - g0),
            o0, MIN (size.no, cv.og - o0), c0, MIN (size.nc, cv.cg - c0),
          };
          gboolean ok = dw ? dispatch_dw (vk, &cv, p, &c, error)
                           : dispatch_gemm (vk, &cv, p, &c, error);
          if (!ok)
            return FALSE;
        }
  return TRUE;
}
