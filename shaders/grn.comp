#version 450
// grn.comp — ConvNeXt-V2 GlobalResponseNorm on channels-last x[samples, s, c]:
//   SUMSQ: one invocation per (sample, channel) → g = ‖x[sample, :, channel]‖₂;
//   SCALE: one workgroup per sample → nx = g / (mean over channels of g + eps), in place;
//   APPLY: elementwise y = gamma·(x·nx) + beta + x.
// Push constants are mirrored in compute/vulkan/vk-op-norm.c.
#extension GL_GOOGLE_include_directive : require
#ifdef SUBGROUP
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require
#endif

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 64;
layout(constant_id = 1) const uint X_T = 0;

#include "ts-common.glsl"

#if defined(SUMSQ)

layout(push_constant) uniform Push {
  uint samples, s, c, x_off;
} p;

layout(binding = 0) readonly buffer X { uint x[]; };
layout(binding = 1) writeonly buffer G { float g[]; };

void main ()
{
  uint i = ts_group_index () * WG + gl_LocalInvocationID.x;
  if (i >= p.samples * p.c)
    return;
  uint n = i / p.c, ch = i % p.c;
  uint k = p.x_off + n * p.s * p.c + ch;
  float acc = 0.0;
  for (uint j = 0u; j < p.s; j++, k += p.c) {
    float v = TS_LOAD_FLOAT (x, X_T, k);
    acc += v * v;
  }
  g[i] = sqrt (acc);
}

#elif defined(SCALE)

layout(push_constant) uniform Push {
  uint samples, c;
  float eps;
} p;

layout(binding = 0) buffer G { float g[]; };

#include "ts-reduce.glsl"

void main ()
{
  uint n = ts_group_index ();
  if (n >= p.samples)
    return;
  uint l = gl_LocalInvocationID.x;
  float s = 0.0;
  for (uint ch = l; ch < p.c; ch += WG)
    s += g[n * p.c + ch];
  float inv = 1.0 / (ts_wg_sum (s) / float (p.c) + p.eps);
  // Each invocation rewrites exactly the entries it read.
  for (uint ch = l; ch < p.c; ch += WG)
    g[n * p.c + ch] *= inv;
}

#elif defined(APPLY)

layout(constant_id = 2) const bool HAS_W = false;
layout(constant_id = 3) const bool HAS_B = false;

layout(push_constant) uniform Push {
  uint n, slab, c, x_off, y_off, w_off, b_off;
} p;

layout(binding = 0) readonly buffer X { uint x[]; };
layout(binding = 1) readonly buffer G { float g[]; };
layout(binding = 2) readonly buffer W { float w[]; };
layout(binding = 3) readonly buffer B { float b[]; };
layout(binding = 4) writeonly buffer Y { float y[]; };

void main ()
{
  uint i = ts_group_index () * WG + gl_LocalInvocationID.x;
  if (i >= p.n)
    return;
  uint ch = i % p.c;
  uint xi = p.x_off + i;
  float v = TS_LOAD_FLOAT (x, X_T, xi);
  float r = v * g[(i / p.slab) * p.c + ch];
  if (HAS_W)
    r *= w[p.w_off + ch];
  if (HAS_B)
    r += b[p.b_off + ch];
  y[p.y_off + i] = r + v;
}

#else
#error define SUMSQ, SCALE or APPLY
#endif
