#version 450
// conv.comp — TS_OP_CONV2D (dense and grouped) and TS_OP_CONV_TRANSPOSE_2X2 as implicit GEMMs.
//
// MODE 0, conv2d: per (image, group), C[o][p] = Σk W[o][k]·X[k][p] with k = (c, ky, kx)
//   over the group's input channels and p = (oy, ox); X is the im2col matrix, gathered on
//   the fly, so it never exists in memory. W is the weight in PyTorch layout [O, C/g, KH, KW],
//   already a k-contiguous [O, K] matrix. FLAT marks 1×1 stride-1 unpadded convolutions,
//   where X is the input itself.
// MODE 1, conv_transpose 2×2 stride 2: C[r][p] = Σc W[c][r]·x[c][p] with r = (o, a, b);
//   the result scatters to out[o][2i+a][2j+b].
// W_TYPE is the weight dtype; x, bias and out are f32. SHM selects the GPU GEMM template.
// The host splits work whose operands exceed one binding into dispatches over output
// channels (offsets) and input channels (the ACCUMULATE flag).
#extension GL_GOOGLE_include_directive : require
#include "ts-common.glsl"

#ifndef W_TYPE
#define W_TYPE TS_DT_F32
#endif

#define CONV_BIAS 1u
#define CONV_ACCUMULATE 2u

// Mirrors TsVkConvPush in vk-op-conv.c.
layout(push_constant) uniform ConvPush {
  uint M, N, K, batches;      // GEMM of one (image, group); batches = images · groups
  uint groups;
  uint H, W, OW;              // input size; output width (MODE 1: the input width)
  uint pad_t, pad_l;
  uint x_off, x_sn, x_sc, x_sg;
  uint w_off, w_sm, w_sk, w_sg;
  uint d_off, d_sn, d_sc, d_sg;
  uint bias_off, bias_sg;
  uint flags;
} pc;

layout(std430, set = 0, binding = 0) readonly buffer XBuf { float x_data[]; };
layout(std430, set = 0, binding = 1) readonly buffer WBuf { uint w_data[]; };
layout(std430, set = 0, binding = 2) readonly buffer BiasBuf { float bias_data[]; };
layout(std430, set = 0, binding = 3) buffer DBuf { float d_data[]; };

#define GEMM_M pc.M
#define GEMM_N pc.N
#define GEMM_K pc.K
#define GEMM_BATCHES pc.batches

#ifdef SHM
#include "gemm-shm.glsl"
#else
#include "gemm-reg.glsl"
#endif

layout(constant_id = 8) const uint KH = 3u;
layout(constant_id = 9) const uint KW = 3u;
layout(constant_id = 10) const uint SY = 1u;
layout(constant_id = 11) const uint SX = 1u;
layout(constant_id = 12) const uint MODE = 0u;
layout(constant_id = 13) const bool FLAT = false;

uint x_base, w_base, d_base, bias_base;

void gemm_begin (uint batch)
{
  uint image = batch / pc.groups, g = batch % pc.groups;
  x_base = pc.x_off + image * pc.x_sn + g * pc.x_sg;
  w_base = pc.w_off + g * pc.w_sg;
  d_base = pc.d_off + image * pc.d_sn + g * pc.d_sg;
  bias_base = pc.bias_off + g * pc.bias_sg;
}

float gemm_a (uint m, uint k)
{
  uint i = w_base + (MODE == 0u ? m * pc.w_sm + k : m + k * pc.w_sk);
  return TS_LOAD_FLOAT (w_data, W_TYPE, i);
}

float gemm_b (uint k, uint n)
{
  if (MODE == 1u || FLAT)
    return x_data[x_base + k * pc.x_sc + n];
  uint c = k / (KH * KW), r = k % (KH * KW);
  uint oy = n / pc.OW, ox = n % pc.OW;
  // Unsigned wrap-around turns "above or left of the padding" into "too large".
  uint iy = oy * SY + r / KW - pc.pad_t, ix = ox * SX + r % KW - pc.pad_l;
  if (iy >= pc.H || ix >= pc.W)
    return 0.0;
  return x_data[x_base + c * pc.x_sc + iy * pc.W + ix];
}

void gemm_store (uint m, uint n, float v)
{
  uint i;
  uint channel = MODE == 0u ? m : m / 4u;
  if (MODE == 0u) {
    i = d_base + m * pc.d_sc + n;
  } else {
    uint y = (n / pc.OW) * 2u + (m / 2u) % 2u, x = (n % pc.OW) * 2u + m % 2u;
    i = d_base + channel * pc.d_sc + y * (2u * pc.OW) + x;
  }
  if ((pc.flags & CONV_BIAS) != 0u)
    v += bias_data[bias_base + channel];
  if ((pc.flags & CONV_ACCUMULATE) != 0u)
    v += d_data[i];
  d_data[i] = v;
}
