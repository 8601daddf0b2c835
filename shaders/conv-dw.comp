#version 450
// conv-dw.comp — TS_OP_CONV2D when every output channel reads one input channel
// (groups = C: depthwise, with O/C outputs per input channel). A direct convolution, one
// output pixel per invocation, neighbouring invocations on neighbouring pixels of a row.
// No shared memory: the op is bound by memory traffic, and the KH×KW neighbourhoods
// overlap in cache. W_TYPE is the weight dtype; x, bias and out are f32.
#extension GL_GOOGLE_include_directive : require
#include "ts-common.glsl"

#ifndef W_TYPE
#define W_TYPE TS_DT_F32
#endif

#define CONV_BIAS 1u

layout(local_size_x_id = 0) in;
layout(constant_id = 8) const uint KH = 3u;
layout(constant_id = 9) const uint KW = 3u;
layout(constant_id = 10) const uint SY = 1u;
layout(constant_id = 11) const uint SX = 1u;

// Mirrors TsVkConvDwPush in vk-op-conv.c.
layout(push_constant) uniform ConvDwPush {
  uint total;                 // outputs in this dispatch: images · O · OH · OW
  uint O, OH, OW;             // output channels and size of this dispatch
  uint H, W, pad_t, pad_l;
  uint mult;                  // output channels per input channel
  uint x_off, x_sn, x_sc;
  uint w_off;                 // weights [O, 1, KH, KW]
  uint d_off, d_sn, d_sc;
  uint bias_off;
  uint flags;
} pc;

layout(std430, set = 0, binding = 0) readonly buffer XBuf { float x_data[]; };
layout(std430, set = 0, binding = 1) readonly buffer WBuf { uint w_data[]; };
layout(std430, set = 0, binding = 2) readonly buffer BiasBuf { float bias_data[]; };
layout(std430, set = 0, binding = 3) writeonly buffer DBuf { float d_data[]; };

void main ()
{
  uint group = (gl_WorkGroupID.z * gl_NumWorkGroups.y + gl_WorkGroupID.y) * gl_NumWorkGroups.x +
               gl_WorkGroupID.x;
  uint idx = group * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
  if (idx >= pc.total)
    return;
  uint ox = idx % pc.OW, rest = idx / pc.OW;
  uint oy = rest % pc.OH;
  rest /= pc.OH;
  uint o = rest % pc.O, image = rest / pc.O;

  uint x_base = pc.x_off + image * pc.x_sn + (o / pc.mult) * pc.x_sc;
  uint w_base = pc.w_off + o * KH * KW;
  float acc = 0.0;
  for (uint ky = 0u; ky < KH; ky++) {
    uint iy = oy * SY + ky - pc.pad_t; // wraps to a huge value above the image
    if (iy >= pc.H)
      continue;
    for (uint kx = 0u; kx < KW; kx++) {
      uint ix = ox * SX + kx - pc.pad_l;
      if (ix < pc.W)
        acc += TS_LOAD_FLOAT (w_data, W_TYPE, w_base + ky * KW + kx) * x_data[x_base + iy * pc.W + ix];
    }
  }
  if ((pc.flags & CONV_BIAS) != 0u)
    acc += bias_data[pc.bias_off + o];
  d_data[pc.d_off + image * pc.d_sn + o * pc.d_sc + oy * pc.OW + ox] = acc;
}
