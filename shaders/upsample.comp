#version 450
// upsample.comp — UPSAMPLE_NEAREST_2X: src[n, c, h, w] (strided) → dst[n, c, 2h, 2w]
// (contiguous). One invocation per destination word: a 16-bit destination word holds the
// two horizontal copies of one source element. Push constants are mirrored in
// compute/vulkan/vk-op-layout.c.
#extension GL_GOOGLE_include_directive : require

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 256;
layout(constant_id = 1) const uint SRC_T = 0;
layout(constant_id = 2) const uint DST_T = 0;   // f32, f16 or bf16

#include "ts-common.glsl"

layout(push_constant) uniform Push {
  uvec4 shape;        // source box
  uvec4 src_stride;
  uint n_words, src_off, dst_word_off;
} p;

layout(binding = 0) readonly buffer S { uint src[]; };
layout(binding = 1) writeonly buffer D { uint dst[]; };

void main ()
{
  uint g = ts_group_index () * WG + gl_LocalInvocationID.x;
  if (g >= p.n_words)
    return;
  uint per = 4u / ts_dtype_bytes (DST_T);
  uint e = g * per; // first destination element of the word (even column when per = 2)
  uint ow = 2u * p.shape.w, oh = 2u * p.shape.z;
  uint ox = e % ow;
  uint t = e / ow;
  uint oy = t % oh;
  t /= oh;
  uint c = t % p.shape.y, n = t / p.shape.y;
  uint i = p.src_off + n * p.src_stride.x + c * p.src_stride.y + (oy / 2u) * p.src_stride.z +
           (ox / 2u) * p.src_stride.w;
  uint raw = SRC_T == TS_DT_F32 ? src[i] : ts_half_of (src[i >> 1], i);
  uint v = ts_convert_raw (SRC_T, DST_T, uvec2 (raw, 0u)).x;
  dst[p.dst_word_off + g] = per == 2u ? (v & 0xffffu) | (v << 16) : v;
}
