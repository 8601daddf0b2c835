// packed16.glsl — reading f32, f16 and bf16 tensors from one `uint` storage buffer.
//
// 16-bit values are read two per 32-bit word, so no device needs storageBuffer16BitAccess.
// The element index i is relative to the binding (the host's elem_offset counts 16-bit
// elements for these dtypes, and bindings start on a 16-byte boundary, hence on a word).

#define TS_F32  0
#define TS_F16  1
#define TS_BF16 2

float ts_f16_in_word (uint word, uint i)
{
  return unpackHalf2x16 (word >> ((i & 1u) << 4)).x;
}

// bf16 is the high half of an f32: shift it into place, no rounding involved.
float ts_bf16_in_word (uint word, uint i)
{
  return uintBitsToFloat ((i & 1u) != 0u ? (word & 0xffff0000u) : (word << 16));
}

// Element i of `buf` (a uint[] array) holding values of `dtype` (a compile-time constant
// in every use, so the selection folds away).
#define TS_LOAD(dtype, buf, i) \
  ((dtype) == TS_F16 ? ts_f16_in_word (buf[(i) >> 1], (i)) : \
   (dtype) == TS_BF16 ? ts_bf16_in_word (buf[(i) >> 1], (i)) : uintBitsToFloat (buf[(i)]))
