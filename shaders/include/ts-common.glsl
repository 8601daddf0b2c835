// ts-common.glsl — dtypes, conversions and grid indexing shared by every kernel.
//
// Every tensor is bound as a `uint` array whatever its dtype, so no kernel needs 16-bit or
// 8-bit storage features: 16-bit elements are read two per word, bytes four per word.
// Element indices are relative to the binding (the host adds its elem_offset).
#ifndef TS_COMMON_GLSL
#define TS_COMMON_GLSL

// The TsDType numbering of compute/ts-types.h.
#define TS_DT_F32  0u
#define TS_DT_F16  1u
#define TS_DT_BF16 2u
#define TS_DT_I32  3u
#define TS_DT_I64  4u
#define TS_DT_U8   5u

// The linear workgroup index of a grid folded by ts_vk_grid_1d.
uint ts_group_index ()
{
  return (gl_WorkGroupID.z * gl_NumWorkGroups.y + gl_WorkGroupID.y) * gl_NumWorkGroups.x +
         gl_WorkGroupID.x;
}

// IEEE half → float, exact (subnormals included), bit-compatible with ts_f16_to_f32.
float ts_f16_to_f32 (uint h)
{
  uint sign = (h & 0x8000u) << 16;
  uint e = (h >> 10) & 0x1fu;
  uint m = h & 0x3ffu;
  if (e == 0x1fu)
    return uintBitsToFloat (sign | 0x7f800000u | (m << 13));
  if (e == 0u) {
    float v = float (m) * 5.9604644775390625e-8; // m · 2^-24
    return sign != 0u ? -v : v;
  }
  return uintBitsToFloat (sign | ((e + 112u) << 23) | (m << 13));
}

// float → half, round to nearest even; the same bits as ts_f32_to_f16 on the host.
uint ts_f32_to_f16 (float f)
{
  uint u = floatBitsToUint (f);
  uint sign = (u >> 16) & 0x8000u;
  uint a = u & 0x7fffffffu;
  if (a >= 0x7f800000u)
    return sign | 0x7c00u | (a > 0x7f800000u ? (0x200u | ((a >> 13) & 0x3ffu)) : 0u);
  if (a >= 0x477ff000u)
    return sign | 0x7c00u;
  if (a < 0x38800000u)
    return sign | uint (roundEven (uintBitsToFloat (a) * 16777216.0));
  uint r = a - 0x38000000u;
  r += 0xfffu + ((r >> 13) & 1u);
  return sign | (r >> 13);
}

float ts_bf16_to_f32 (uint b)
{
  return uintBitsToFloat (b << 16);
}

uint ts_f32_to_bf16 (float f)
{
  uint u = floatBitsToUint (f);
  if ((u & 0x7fffffffu) > 0x7f800000u)
    return ((u >> 16) | 0x40u) & 0xffffu;
  u += 0x7fffu + ((u >> 16) & 1u);
  return u >> 16;
}

// The 16-bit element i of a pair packed in `word` (little-endian: even index low).
uint ts_half_of (uint word, uint i)
{
  return (i & 1u) != 0u ? word >> 16 : word & 0xffffu;
}

// Element i of `buf` (a uint[] array) holding floats of dtype `dt` (a compile-time or
// specialisation constant in every use, so the choice folds away): the one loader of f32,
// f16 and bf16 tensors, for every kernel. f16 goes through unpackHalf2x16, one instruction
// on GPUs and exact for every f16 value, subnormals included (the conversion widens; it
// rounds nothing): the GEMMs' weights have always been read this way, and the same bits
// come out as ts_f16_to_f32's except that a signalling NaN may come out quiet.
// ts_f16_to_f32 stays for conversions that must keep NaN payloads bit for bit (copy).
#define TS_LOAD_FLOAT(buf, dt, i) \
  ((dt) == TS_DT_F32 ? uintBitsToFloat (buf[(i)]) : \
   (dt) == TS_DT_F16 ? unpackHalf2x16 (buf[(i) >> 1] >> (((i) & 1u) << 4)).x : \
                       ts_bf16_to_f32 (ts_half_of (buf[(i) >> 1], (i))))

uint ts_dtype_bytes (uint dt)
{
  return dt == TS_DT_I64 ? 8u : dt == TS_DT_U8 ? 1u : (dt == TS_DT_F16 || dt == TS_DT_BF16) ? 2u : 4u;
}

bool ts_dtype_is_float (uint dt)
{
  return dt == TS_DT_F32 || dt == TS_DT_F16 || dt == TS_DT_BF16;
}

// Raw element bits (x: low word, y: high word of an i64) → float.
float ts_raw_to_float (uint dt, uvec2 r)
{
  if (dt == TS_DT_F32) return uintBitsToFloat (r.x);
  if (dt == TS_DT_F16) return ts_f16_to_f32 (r.x);
  if (dt == TS_DT_BF16) return ts_bf16_to_f32 (r.x);
  if (dt == TS_DT_I32) return float (int (r.x));
  if (dt == TS_DT_U8) return float (r.x);
  // i64: exact conversion when it fits 32 bits, else hi·2^32 + lo (ids never get there)
  if (r.y == ((r.x & 0x80000000u) != 0u ? 0xffffffffu : 0u))
    return float (int (r.x));
  return float (int (r.y)) * 4294967296.0 + float (r.x);
}

// Integer elements as a sign-extended 64-bit pair.
uvec2 ts_raw_to_i64 (uint dt, uvec2 r)
{
  if (dt == TS_DT_I32) return uvec2 (r.x, (r.x & 0x80000000u) != 0u ? 0xffffffffu : 0u);
  if (dt == TS_DT_U8) return uvec2 (r.x, 0u);
  return r;
}

// float → integer, truncating toward zero like a C cast; NaN and ±inf give 0 (as
// ts_convert does). Values beyond the i64 range are undefined, as in C.
uvec2 ts_float_to_i64 (float f)
{
  if (isnan (f) || isinf (f))
    return uvec2 (0u);
  float t = trunc (f);
  if (abs (t) < 2147483648.0) {
    int i = int (t);
    return uvec2 (uint (i), i < 0 ? 0xffffffffu : 0u);
  }
  // |t| >= 2^31 is a multiple of 256, so both parts below are exact.
  float hi = floor (t * 2.3283064365386963e-10);
  return uvec2 (uint (t - hi * 4294967296.0), uint (int (hi)));
}

uvec2 ts_float_to_raw (uint dt, float f)
{
  if (dt == TS_DT_F32) return uvec2 (floatBitsToUint (f), 0u);
  if (dt == TS_DT_F16) return uvec2 (ts_f32_to_f16 (f), 0u);
  if (dt == TS_DT_BF16) return uvec2 (ts_f32_to_bf16 (f), 0u);
  uvec2 i = ts_float_to_i64 (f);
  if (dt == TS_DT_I64) return i;
  if (dt == TS_DT_U8) return uvec2 (i.x & 0xffu, 0u);
  return uvec2 (i.x, 0u);
}

// Convert raw element bits between dtypes with ts_convert's semantics.
uvec2 ts_convert_raw (uint from, uint to, uvec2 r)
{
  if (from == to)
    return r;
  if (ts_dtype_is_float (from) || ts_dtype_is_float (to))
    return ts_float_to_raw (to, ts_raw_to_float (from, r));
  uvec2 i = ts_raw_to_i64 (from, r);
  if (to == TS_DT_I64) return i;
  if (to == TS_DT_U8) return uvec2 (i.x & 0xffu, 0u);
  return uvec2 (i.x, 0u);
}

#endif
