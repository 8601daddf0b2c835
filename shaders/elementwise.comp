#version 450
// elementwise.comp — ADD/MUL (BINARY), SCALE/SILU/GELU/QUICK_GELU (UNARY) and GEGLU.
// Outputs are f32; inputs any float dtype. Push-constant structs are mirrored in
// compute/vulkan/vk-op-elementwise.c.
#extension GL_GOOGLE_include_directive : require

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 256;

#include "ts-common.glsl"
#include "ts-math.glsl"

#if defined(BINARY)

// out = a op b over a 4-D box; broadcast inputs have stride 0.
layout(constant_id = 1) const uint OP = 0;   // 0 add, 1 mul
layout(constant_id = 2) const uint A_T = 0;
layout(constant_id = 3) const uint B_T = 0;

layout(push_constant) uniform Push {
  uvec4 shape;
  uvec4 a_stride;
  uvec4 b_stride;
  uvec4 y_stride;
  uint n, a_off, b_off, y_off;
} p;

layout(binding = 0) readonly buffer A { uint a[]; };
layout(binding = 1) readonly buffer B { uint b[]; };
layout(binding = 2) writeonly buffer Y { float y[]; };

void main ()
{
  uint i = ts_group_index () * WG + gl_LocalInvocationID.x;
  if (i >= p.n)
    return;
  uvec4 c;
  c.w = i % p.shape.w;
  uint t = i / p.shape.w;
  c.z = t % p.shape.z;
  t /= p.shape.z;
  c.y = t % p.shape.y;
  c.x = t / p.shape.y;
  uint ai = p.a_off + c.x * p.a_stride.x + c.y * p.a_stride.y + c.z * p.a_stride.z + c.w * p.a_stride.w;
  uint bi = p.b_off + c.x * p.b_stride.x + c.y * p.b_stride.y + c.z * p.b_stride.z + c.w * p.b_stride.w;
  uint yi = p.y_off + c.x * p.y_stride.x + c.y * p.y_stride.y + c.z * p.y_stride.z + c.w * p.y_stride.w;
  float va = TS_LOAD_FLOAT (a, A_T, ai);
  float vb = TS_LOAD_FLOAT (b, B_T, bi);
  y[yi] = OP == 0u ? va + vb : va * vb;
}

#elif defined(UNARY)

layout(constant_id = 1) const uint OP = 0;   // 0 scale, 1 silu, 2 gelu, 3 quick_gelu
layout(constant_id = 2) const uint X_T = 0;
layout(constant_id = 3) const uint PER_THREAD = 4;

layout(push_constant) uniform Push {
  uint n, x_off, y_off;
  float scale, offset;
} p;

layout(binding = 0) readonly buffer X { uint x[]; };
layout(binding = 1) writeonly buffer Y { float y[]; };

void main ()
{
  uint base = ts_group_index () * WG * PER_THREAD + gl_LocalInvocationID.x;
  for (uint k = 0u; k < PER_THREAD; k++) {
    uint i = base + k * WG;
    if (i >= p.n)
      return;
    uint xi = p.x_off + i;
    float v = TS_LOAD_FLOAT (x, X_T, xi);
    float r;
    if (OP == 0u)
      r = v * p.scale + p.offset;
    else if (OP == 1u)
      r = ts_silu (v);
    else if (OP == 2u)
      r = ts_gelu (v);
    else
      r = ts_quick_gelu (v);
    y[p.y_off + i] = r;
  }
}

#elif defined(GEGLU)

// x[rows, 2h] → y[rows, h] = x[:, :h] · gelu(x[:, h:])
layout(constant_id = 1) const uint X_T = 0;

layout(push_constant) uniform Push {
  uint n, h, x_off, y_off;
} p;

layout(binding = 0) readonly buffer X { uint x[]; };
layout(binding = 1) writeonly buffer Y { float y[]; };

void main ()
{
  uint i = ts_group_index () * WG + gl_LocalInvocationID.x;
  if (i >= p.n)
    return;
  uint r = i / p.h, j = i % p.h;
  uint ai = p.x_off + r * 2u * p.h + j;
  uint gi = ai + p.h;
  y[p.y_off + i] = TS_LOAD_FLOAT (x, X_T, ai) * ts_gelu (TS_LOAD_FLOAT (x, X_T, gi));
}

#else
#error define BINARY, UNARY or GEGLU
#endif
