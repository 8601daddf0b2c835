/* ts-op-list.h — the one table of backend ops. Only compute/ includes this.
 *
 * Each row is X (KIND, name, family, cost):
 *   KIND    the TsOpKind is TS_OP_<KIND>;
 *   name    what profiles, benchmarks and error messages call it;
 *   family  TsOpFamily: which kernel family runs it (tests group their variants by it);
 *   cost    TsOpCost: the FLOP model of ts_op_flops (ts-ops.c).
 * Adding an op is a row here, its front-end function in ts-ops.c, a kernel in every
 * backend's table (or ts_op_unsupported), and an entry in the shared op cases
 * (ts-op-cases.c). A backend whose table misses a row fails when it is created.
 *
 * What each op's TsOp holds (the front end guarantees it, backends rely on it):
 *   MATMUL        always 3-D: src0 a [B, M, K] (trans_a: [B, K, M]) f32;
 *                 src1 b [Bb, K, N] (trans_b: [Bb, N, K]) f32/f16/bf16, Bb = 1 or B;
 *                 src2 bias [N] f32 or NULL; dst [B, M, N]; p.matmul. All contiguous.
 *   ADD, MUL      src0, src1: shape of dst, broadcast strides (0) allowed
 *   SCALE         src0 contiguous f32; p.scale
 *   SILU, GELU, QUICK_GELU  unary: src0 contiguous f32, dst same shape
 *   GEGLU         src0 [rows, 2H] → dst [rows, H]
 *   SOFTMAX       src0 [rows, D]
 *   LAYER_NORM    src0 [rows, D], src1 weight|NULL, src2 bias|NULL; p.norm
 *   RMS_NORM      src0 [rows, D], src1 weight|NULL; p.norm
 *   GROUP_NORM    src0 [N, C, S], src1 weight|NULL, src2 bias|NULL; p.norm (silu: SiLU of
 *                 the result); dst may be src0 itself (in place)
 *   GRN           src0 [N, S, C], src1 gamma [C], src2 beta [C]; p.norm
 *   ATTENTION     src0 q, src1 k, src2 v: [B, N, H, D] strided; p.attention
 *   CONV2D        src0 x [N,C,H,W] f32, src1 w [O,C/g,KH,KW], src2 bias [O]|NULL; p.conv
 *   CONV_TRANSPOSE_2X2   src0 x [N,C,H,W], src1 w [C,O,2,2], src2 bias|NULL
 *   UPSAMPLE_NEAREST_2X  src0 [N, C, H, W] (as 4-D), dst [N, C, 2H, 2W]
 *   EMBEDDING     src0 table [V, D], src1 ids (i32/i64, any shape), dst [...ids, D] f32
 *   NEAREST_CODE  src0 x [N, D] f32, src1 codebook [K, D] f32 → dst i32 [N]
 *   COPY          src0 any strides/dtype → dst any strides (same shape), converting
 *   FILL          dst (any strides) = p.fill_value */
#pragma once

#define TS_OP_LIST(X) \
  X (MATMUL,              "matmul",               TS_OP_FAMILY_MATMUL,      TS_OP_COST_MATMUL) \
  X (ADD,                 "add",                  TS_OP_FAMILY_ELEMENTWISE, TS_OP_COST_ELEMENTS) \
  X (MUL,                 "mul",                  TS_OP_FAMILY_ELEMENTWISE, TS_OP_COST_ELEMENTS) \
  X (SCALE,               "scale",                TS_OP_FAMILY_ELEMENTWISE, TS_OP_COST_ELEMENTS) \
  X (SILU,                "silu",                 TS_OP_FAMILY_ELEMENTWISE, TS_OP_COST_ELEMENTS) \
  X (GELU,                "gelu",                 TS_OP_FAMILY_ELEMENTWISE, TS_OP_COST_ELEMENTS) \
  X (QUICK_GELU,          "quick_gelu",           TS_OP_FAMILY_ELEMENTWISE, TS_OP_COST_ELEMENTS) \
  X (GEGLU,               "geglu",                TS_OP_FAMILY_ELEMENTWISE, TS_OP_COST_ELEMENTS) \
  X (SOFTMAX,             "softmax",              TS_OP_FAMILY_NORM,        TS_OP_COST_ELEMENTS) \
  X (LAYER_NORM,          "layer_norm",           TS_OP_FAMILY_NORM,        TS_OP_COST_ELEMENTS) \
  X (RMS_NORM,            "rms_norm",             TS_OP_FAMILY_NORM,        TS_OP_COST_ELEMENTS) \
  X (GROUP_NORM,          "group_norm",           TS_OP_FAMILY_NORM,        TS_OP_COST_ELEMENTS) \
  X (GRN,                 "global_response_norm", TS_OP_FAMILY_NORM,        TS_OP_COST_ELEMENTS) \
  X (ATTENTION,           "attention",            TS_OP_FAMILY_ATTENTION,   TS_OP_COST_ATTENTION) \
  X (CONV2D,              "conv2d",               TS_OP_FAMILY_CONV,        TS_OP_COST_CONV2D) \
  X (CONV_TRANSPOSE_2X2,  "conv_transpose_2x2",   TS_OP_FAMILY_CONV,        TS_OP_COST_CONV_TRANSPOSE) \
  X (UPSAMPLE_NEAREST_2X, "upsample_nearest_2x",  TS_OP_FAMILY_LAYOUT,      TS_OP_COST_ELEMENTS) \
  X (EMBEDDING,           "embedding",            TS_OP_FAMILY_LAYOUT,      TS_OP_COST_ELEMENTS) \
  X (NEAREST_CODE,        "nearest_code",         TS_OP_FAMILY_NEAREST,     TS_OP_COST_NEAREST) \
  X (COPY,                "copy",                 TS_OP_FAMILY_LAYOUT,      TS_OP_COST_ELEMENTS) \
  X (FILL,                "fill",                 TS_OP_FAMILY_LAYOUT,      TS_OP_COST_ELEMENTS)

/* Kernel families. The "heavy" ones (matmul, attention, conv, nearest) have register and
 * shared-memory variants on Vulkan. */
typedef enum {
  TS_OP_FAMILY_ELEMENTWISE,
  TS_OP_FAMILY_NORM,
  TS_OP_FAMILY_LAYOUT,
  TS_OP_FAMILY_MATMUL,
  TS_OP_FAMILY_ATTENTION,
  TS_OP_FAMILY_CONV,
  TS_OP_FAMILY_NEAREST,
} TsOpFamily;

/* FLOP models (ts_op_flops); bytes are always inputs + output. */
typedef enum {
  TS_OP_COST_ELEMENTS,       /* one per output element */
  TS_OP_COST_MATMUL,         /* 2·M·N·K per batch */
  TS_OP_COST_ATTENTION,      /* 2·B·H·Nq·Nk·(D + Dv), halved when causal */
  TS_OP_COST_CONV2D,         /* 2 per output element per weight tap */
  TS_OP_COST_CONV_TRANSPOSE, /* 2·C per output element */
  TS_OP_COST_NEAREST,        /* 3·N·D·K (distance, compare) */
} TsOpCost;
