#version 450
// copy.comp — COPY (strided 4-D box, any dtype to any dtype, ts_convert semantics) and
// FILL. Sub-word destinations (f16, bf16, u8) are written without 8/16-bit storage:
//   WORDS: the destination box is contiguous; one invocation assembles a whole 32-bit
//          word, and only the partial words at the ends need atomics;
//   otherwise each invocation merges its element into its word with atomicAnd/atomicOr.
// Push constants are mirrored in compute/vulkan/vk-op-layout.c.
#extension GL_GOOGLE_include_directive : require

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 256;
layout(constant_id = 1) const uint SRC_T = 0;
layout(constant_id = 2) const uint DST_T = 0;
layout(constant_id = 3) const bool WORDS = false;

#include "ts-common.glsl"

layout(push_constant) uniform Push {
  uvec4 shape;
  uvec4 src_stride;
  uvec4 dst_stride;
  uint n, src_off, dst_off, fill_lo, fill_hi;
} p;

#ifdef FILL
layout(binding = 0) buffer D { uint dst[]; };
#else
layout(binding = 0) readonly buffer S { uint src[]; };
layout(binding = 1) buffer D { uint dst[]; };
#endif

uvec4 coords (uint j)
{
  uvec4 c;
  c.w = j % p.shape.w;
  uint t = j / p.shape.w;
  c.z = t % p.shape.z;
  t /= p.shape.z;
  c.y = t % p.shape.y;
  c.x = t / p.shape.y;
  return c;
}

// Element j of the box, converted to the destination dtype (raw bits).
uvec2 value (uint j)
{
#ifdef FILL
  return uvec2 (p.fill_lo, p.fill_hi);
#else
  uvec4 c = coords (j);
  uint i = p.src_off + c.x * p.src_stride.x + c.y * p.src_stride.y + c.z * p.src_stride.z +
           c.w * p.src_stride.w;
  uvec2 r;
  if (SRC_T == TS_DT_I64)
    r = uvec2 (src[2u * i], src[2u * i + 1u]);
  else if (SRC_T == TS_DT_F16 || SRC_T == TS_DT_BF16)
    r = uvec2 (ts_half_of (src[i >> 1], i), 0u);
  else if (SRC_T == TS_DT_U8)
    r = uvec2 ((src[i >> 2] >> ((i & 3u) * 8u)) & 0xffu, 0u);
  else
    r = uvec2 (src[i], 0u);
  return ts_convert_raw (SRC_T, DST_T, r);
#endif
}

void merge_word (uint w, uint bits, uint mask)
{
  if (mask == 0xffffffffu) {
    dst[w] = bits;
  } else if (mask != 0u) {
    atomicAnd (dst[w], ~mask);
    atomicOr (dst[w], bits & mask);
  }
}

void main ()
{
  uint g = ts_group_index () * WG + gl_LocalInvocationID.x;
  uint size = ts_dtype_bytes (DST_T);
  if (WORDS) {
    // g counts destination words from the one holding element dst_off.
    uint per = 4u / size, ebits = size * 8u;
    uint emask = (1u << ebits) - 1u;
    uint first = p.dst_off / per;
    if (g >= (p.dst_off + p.n + per - 1u) / per - first)
      return;
    uint w = first + g, bits = 0u, mask = 0u;
    for (uint k = 0u; k < per; k++) {
      uint e = w * per + k;
      if (e >= p.dst_off && e - p.dst_off < p.n) {
        bits |= (value (e - p.dst_off).x & emask) << (k * ebits);
        mask |= emask << (k * ebits);
      }
    }
    merge_word (w, bits, mask);
    return;
  }
  if (g >= p.n)
    return;
  uvec4 c = coords (g);
  uint i = p.dst_off + c.x * p.dst_stride.x + c.y * p.dst_stride.y + c.z * p.dst_stride.z +
           c.w * p.dst_stride.w;
  uvec2 v = value (g);
  if (size == 8u) {
    dst[2u * i] = v.x;
    dst[2u * i + 1u] = v.y;
  } else if (size == 4u) {
    dst[i] = v.x;
  } else {
    uint per = 4u / size, shift = (i % per) * size * 8u;
    uint emask = (1u << (size * 8u)) - 1u;
    merge_word (i / per, (v.x & emask) << shift, emask << shift);
  }
}
