#version 450
// groupnorm.comp — GROUP_NORM in three kernels over rows of `len` elements (one row per
// (sample, group), contiguous in NCHW):
//   PARTIAL: one workgroup per chunk of a row → its mean and sum of squared deviations;
//   MERGE:   one invocation per row combines the chunks (Chan et al.) → mean, 1/std;
//   APPLY:   elementwise (x − mean)·rstd·w[c] + b[c], then SiLU when SILU is set; Y may be
//            X itself (in place, f32), as each invocation reads its element before writing it.
// Chunking spreads a large group (4 channels × 512² in the VQ decoder) over many
// workgroups. Push constants are mirrored in compute/vulkan/vk-op-norm.c.
#extension GL_GOOGLE_include_directive : require
#ifdef SUBGROUP
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require
#endif

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 64;
layout(constant_id = 1) const uint X_T = 0;

#include "ts-common.glsl"

#if defined(PARTIAL)

layout(push_constant) uniform Push {
  uint rows, len, chunk, nchunks, x_off;
} p;

layout(binding = 0) readonly buffer X { uint x[]; };
layout(binding = 1) writeonly buffer Part { float part[]; };

#include "ts-reduce.glsl"

float load_x (uint i)
{
  uint k = p.x_off + i;
  return TS_LOAD_FLOAT (x, X_T, k);
}

void main ()
{
  uint g = ts_group_index ();
  if (g >= p.rows * p.nchunks)
    return;
  uint row = g / p.nchunks, c = g % p.nchunks;
  uint start = c * p.chunk;
  uint n = min (p.chunk, p.len - start);
  uint base = row * p.len + start;
  uint l = gl_LocalInvocationID.x;
  // Mean, then deviations from it (their sum corrects the mean's rounding error).
  float s = 0.0;
  for (uint i = l; i < n; i += WG)
    s += load_x (base + i);
  float m0 = ts_wg_sum (s) / float (n);
  float s1 = 0.0, s2 = 0.0;
  for (uint i = l; i < n; i += WG) {
    float dx = load_x (base + i) - m0;
    s1 += dx;
    s2 += dx * dx;
  }
  s1 = ts_wg_sum (s1);
  s2 = ts_wg_sum (s2);
  if (l == 0u) {
    part[2u * g] = m0 + s1 / float (n);
    part[2u * g + 1u] = max (s2 - s1 * s1 / float (n), 0.0);
  }
}

#elif defined(MERGE)

layout(push_constant) uniform Push {
  uint rows, len, chunk, nchunks;
  float eps;
} p;

layout(binding = 0) readonly buffer Part { float part[]; };
layout(binding = 1) writeonly buffer Stats { float stats[]; };

void main ()
{
  uint row = ts_group_index () * WG + gl_LocalInvocationID.x;
  if (row >= p.rows)
    return;
  float n = 0.0, mean = 0.0, m2 = 0.0;
  for (uint c = 0u; c < p.nchunks; c++) {
    float nb = float (min (p.chunk, p.len - c * p.chunk));
    float mb = part[2u * (row * p.nchunks + c)];
    float delta = mb - mean;
    float nn = n + nb;
    mean += delta * (nb / nn);
    m2 += part[2u * (row * p.nchunks + c) + 1u] + delta * delta * (n * nb / nn);
    n = nn;
  }
  stats[2u * row] = mean;
  stats[2u * row + 1u] = 1.0 / sqrt (m2 / float (p.len) + p.eps);
}

#elif defined(APPLY)

#include "ts-math.glsl"

layout(constant_id = 2) const bool HAS_W = false;
layout(constant_id = 3) const bool HAS_B = false;
layout(constant_id = 4) const bool SILU = false;

// rows start at global row row0; channel c of element j of row r is
// ((row0 + r) % groups)·cpg + j / spatial.
layout(push_constant) uniform Push {
  uint n, len, spatial, groups, cpg, row0, x_off, y_off, w_off, b_off;
} p;

layout(binding = 0) readonly buffer X { uint x[]; };
layout(binding = 1) readonly buffer Stats { float stats[]; };
layout(binding = 2) readonly buffer W { float w[]; };
layout(binding = 3) readonly buffer B { float b[]; };
layout(binding = 4) writeonly buffer Y { float y[]; };

void main ()
{
  uint i = ts_group_index () * WG + gl_LocalInvocationID.x;
  if (i >= p.n)
    return;
  uint r = i / p.len, j = i % p.len;
  uint c = ((p.row0 + r) % p.groups) * p.cpg + j / p.spatial;
  uint xi = p.x_off + i;
  float v = (TS_LOAD_FLOAT (x, X_T, xi) - stats[2u * r]) * stats[2u * r + 1u];
  if (HAS_W)
    v *= w[p.w_off + c];
  if (HAS_B)
    v += b[p.b_off + c];
  if (SILU)
    v = ts_silu (v);
  y[p.y_off + i] = v;
}

#else
#error define PARTIAL, MERGE or APPLY
#endif
