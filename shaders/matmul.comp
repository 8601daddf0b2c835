#version 450
// matmul.comp — TS_OP_MATMUL: d[b][m][n] = Σk a[b][m][k]·B[b][k][n] (+ bias[n]).
//
// Variants (shaders/meson.build): SHM selects the shared-memory tiled GEMM for GPUs, else
// the register-blocked one without barriers; B_TYPE is the dtype of b (f32, f16, bf16),
// read from 32-bit words so 16-bit storage support is not needed. a, bias and d are f32.
// Strides are in elements and relative to each binding; transposed operands are just
// other strides. The host splits work whose operands exceed one binding's range into
// several dispatches: along N/M with offsets, and along K with the ACCUMULATE flag.
#extension GL_GOOGLE_include_directive : require
#include "ts-common.glsl"

#ifndef B_TYPE
#define B_TYPE TS_DT_F32
#endif

#define MATMUL_BIAS 1u       // add bias[n]
#define MATMUL_ACCUMULATE 2u // add to what d holds (a later K slice)

// Mirrors TsVkMatmulPush in vk-op-matmul.c.
layout(push_constant) uniform MatmulPush {
  uint M, N, K, batches;
  uint a_off, a_sm, a_sk, a_sb;
  uint b_off, b_sk, b_sn, b_sb;
  uint d_off, d_sm, d_sb;
  uint bias_off;
  uint flags;
} pc;

layout(std430, set = 0, binding = 0) readonly buffer ABuf { float a_data[]; };
layout(std430, set = 0, binding = 1) readonly buffer BBuf { uint b_data[]; };
layout(std430, set = 0, binding = 2) readonly buffer BiasBuf { float bias_data[]; };
layout(std430, set = 0, binding = 3) buffer DBuf { float d_data[]; };

#define GEMM_M pc.M
#define GEMM_N pc.N
#define GEMM_K pc.K
#define GEMM_BATCHES pc.batches

#if defined(COOPMAT) // NVIDIA matrix units, f16 operands (vk-coopmat.c chooses it)
#include "gemm-coopmat.glsl"
#elif defined(SHM)
#include "gemm-shm.glsl"
#else
#include "gemm-reg.glsl"
#endif

uint a_base, b_base, d_base;

void gemm_begin (uint batch)
{
  a_base = pc.a_off + batch * pc.a_sb;
  b_base = pc.b_off + batch * pc.b_sb;
  d_base = pc.d_off + batch * pc.d_sb;
}

// A_KFAST / B_KFAST (spec constants of the GEMM templates) tell which stride is 1, so the
// compiler can drop that multiplication.
float gemm_a (uint m, uint k)
{
  return a_data[a_base + (A_KFAST ? m * pc.a_sm + k : m + k * pc.a_sk)];
}

float gemm_b (uint k, uint n)
{
  uint i = b_base + (B_KFAST ? k + n * pc.b_sn : k * pc.b_sk + n);
  return TS_LOAD_FLOAT (b_data, B_TYPE, i);
}

void gemm_store (uint m, uint n, float v)
{
  uint i = d_base + m * pc.d_sm + n;
  if ((pc.flags & MATMUL_BIAS) != 0u)
    v += bias_data[pc.bias_off + n];
  if ((pc.flags & MATMUL_ACCUMULATE) != 0u)
    v += d_data[i];
  d_data[i] = v;
}

