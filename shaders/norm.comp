#version 450
// norm.comp — row-wise SOFTMAX, LAYER_NORM and RMS_NORM: one workgroup per row of d
// elements, f32 statistics. SUBGROUP selects subgroup reductions. Push constants are
// mirrored in compute/vulkan/vk-op-norm.c.
#extension GL_GOOGLE_include_directive : require
#ifdef SUBGROUP
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require
#endif

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 64;
layout(constant_id = 1) const uint X_T = 0;
layout(constant_id = 2) const bool HAS_W = false;
layout(constant_id = 3) const bool HAS_B = false;

layout(push_constant) uniform Push {
  uint rows, d, x_off, w_off, b_off, y_off;
  float eps;
} p;

// Weight and bias are f32; when absent the host binds another tensor in their place.
layout(binding = 0) readonly buffer X { uint x[]; };
layout(binding = 1) readonly buffer W { float w[]; };
layout(binding = 2) readonly buffer B { float b[]; };
layout(binding = 3) writeonly buffer Y { float y[]; };

#include "ts-common.glsl"
#include "ts-reduce.glsl"

float load_x (uint i)
{
  uint k = p.x_off + i;
  return TS_LOAD_FLOAT (x, X_T, k);
}

void main ()
{
  uint row = ts_group_index ();
  if (row >= p.rows)
    return; // the whole workgroup leaves together
  uint l = gl_LocalInvocationID.x;
  uint base = row * p.d;
  uint out_base = p.y_off + base;

#if defined(SOFTMAX)
  float neg_inf = uintBitsToFloat (0xff800000u);
  float m = neg_inf;
  for (uint i = l; i < p.d; i += WG)
    m = max (m, load_x (base + i));
  m = ts_wg_max (m);
  if (m == neg_inf) {
    // Every entry masked: probability 0 everywhere (not NaN).
    for (uint i = l; i < p.d; i += WG)
      y[out_base + i] = 0.0;
    return;
  }
  float s = 0.0;
  for (uint i = l; i < p.d; i += WG)
    s += exp (load_x (base + i) - m);
  float inv = 1.0 / ts_wg_sum (s);
  for (uint i = l; i < p.d; i += WG)
    y[out_base + i] = exp (load_x (base + i) - m) * inv;

#elif defined(LAYER_NORM)
  // Mean, then deviations from it; their sum corrects the mean's rounding error, which
  // matters when the row has a large common offset.
  float s = 0.0;
  for (uint i = l; i < p.d; i += WG)
    s += load_x (base + i);
  float m0 = ts_wg_sum (s) / float (p.d);
  float s1 = 0.0, s2 = 0.0;
  for (uint i = l; i < p.d; i += WG) {
    float dx = load_x (base + i) - m0;
    s1 += dx;
    s2 += dx * dx;
  }
  float c = ts_wg_sum (s1) / float (p.d);
  float var = max (ts_wg_sum (s2) / float (p.d) - c * c, 0.0);
  float rstd = 1.0 / sqrt (var + p.eps);
  for (uint i = l; i < p.d; i += WG) {
    float r = (load_x (base + i) - m0 - c) * rstd;
    if (HAS_W)
      r *= w[p.w_off + i];
    if (HAS_B)
      r += b[p.b_off + i];
    y[out_base + i] = r;
  }

#elif defined(RMS_NORM)
  float s = 0.0;
  for (uint i = l; i < p.d; i += WG) {
    float v = load_x (base + i);
    s += v * v;
  }
  float rstd = 1.0 / sqrt (ts_wg_sum (s) / float (p.d) + p.eps);
  for (uint i = l; i < p.d; i += WG) {
    float r = load_x (base + i) * rstd;
    if (HAS_W)
      r *= w[p.w_off + i];
    y[out_base + i] = r;
  }

#else
#error define SOFTMAX, LAYER_NORM or RMS_NORM
#endif
}
