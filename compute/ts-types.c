/* ts-types.c — element types, half-precision conversions, the error domain. */
#include "ts-types.h"

#include <math.h>
#include <string.h>

G_DEFINE_QUARK (tessera-error-quark, ts_error)

static const struct {
  const char *name;
  size_t      size;
} dtype_info[TS_DTYPE_COUNT] = {
  [TS_DTYPE_F32]  = { "f32", 4 },
  [TS_DTYPE_F16]  = { "f16", 2 },
  [TS_DTYPE_BF16] = { "bf16", 2 },
  [TS_DTYPE_I32]  = { "i32", 4 },
  [TS_DTYPE_I64]  = { "i64", 8 },
  [TS_DTYPE_U8]   = { "u8", 1 },
};

size_t
ts_dtype_size (TsDType dtype)
{
  return (unsigned) dtype < TS_DTYPE_COUNT ? dtype_info[dtype].size : 0;
}

const char *
ts_dtype_name (TsDType dtype)
{
  return (unsigned) dtype < TS_DTYPE_COUNT ? dtype_info[dtype].name : "invalid";
}

gboolean
ts_dtype_is_float (TsDType dtype)
{
  return dtype == TS_DTYPE_F32 || dtype == TS_DTYPE_F16 || dtype == TS_DTYPE_BF16;
}

const char *
ts_precision_name (TsPrecision precision)
{
  switch (precision) {
  case TS_PRECISION_F32:  return "f32";
  case TS_PRECISION_BF16: return "bf16";
  case TS_PRECISION_INT8: return "int8";
  }
  return "invalid";
}

gboolean
ts_precision_from_string (const char *name, TsPrecision *precision)
{
  for (TsPrecision p = TS_PRECISION_F32; p <= TS_PRECISION_INT8; p++)
    if (name && g_str_equal (name, ts_precision_name (p))) {
      *precision = p;
      return TRUE;
    }
  return FALSE;
}

static inline uint32_t
f32_bits (float f)
{
  uint32_t u;
  memcpy (&u, &f, 4);
  return u;
}

static inline float
bits_f32 (uint32_t u)
{
  float f;
  memcpy (&f, &u, 4);
  return f;
}

float
ts_f16_to_f32 (uint16_t h)
{
  uint32_t sign = (uint32_t) (h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1f;
  uint32_t mant = h & 0x3ff;

  if (exp == 0x1f) /* inf / NaN */
    return bits_f32 (sign | 0x7f800000 | (mant << 13));
  if (exp == 0) {
    /* zero or subnormal: value = mant · 2^-24, exact in f32 */
    float v = (float) mant * 0x1p-24f;
    return sign ? -v : v;
  }
  return bits_f32 (sign | ((exp + 112) << 23) | (mant << 13));
}

uint16_t
ts_f32_to_f16 (float f)
{
  uint32_t u = f32_bits (f);
  uint16_t sign = (u >> 16) & 0x8000;
  uint32_t abs = u & 0x7fffffff;

  if (abs >= 0x7f800000) /* inf or NaN (keep NaN quiet and non-zero) */
    return sign | 0x7c00 | (abs > 0x7f800000 ? 0x200 | ((abs >> 13) & 0x3ff) : 0);
  if (abs >= 0x477ff000) /* rounds to >= 65520: overflow to inf */
    return sign | 0x7c00;
  if (abs < 0x38800000) {
    /* result is subnormal (or zero): round abs/2^-24 to nearest even integer */
    float v = bits_f32 (abs) * 0x1p24f;
    return sign | (uint16_t) lrintf (v);
  }
  /* normal: rebias exponent, round mantissa to nearest even */
  uint32_t r = abs - 0x38000000;          /* exponent 127 → 15 */
  r += 0xfff + ((r >> 13) & 1);
  return sign | (uint16_t) (r >> 13);
}

float
ts_bf16_to_f32 (uint16_t b)
{
  return bits_f32 ((uint32_t) b << 16);
}

uint16_t
ts_f32_to_bf16 (float f)
{
  uint32_t u = f32_bits (f);
  if ((u & 0x7fffffff) > 0x7f800000)
    return (uint16_t) ((u >> 16) | 0x40); /* quiet NaN */
  u += 0x7fff + ((u >> 16) & 1);
  return (uint16_t) (u >> 16);
}

static double
load_as_double (const void *src, TsDType dtype, size_t i)
{
  switch (dtype) {
  case TS_DTYPE_F32:  return ((const float *) src)[i];
  case TS_DTYPE_F16:  return ts_f16_to_f32 (((const uint16_t *) src)[i]);
  case TS_DTYPE_BF16: return ts_bf16_to_f32 (((const uint16_t *) src)[i]);
  case TS_DTYPE_I32:  return ((const int32_t *) src)[i];
  case TS_DTYPE_I64:  return (double) ((const int64_t *) src)[i];
  case TS_DTYPE_U8:   return ((const uint8_t *) src)[i];
  default:            return 0;
  }
}

static void
store_from_double (void *dst, TsDType dtype, size_t i, double v)
{
  switch (dtype) {
  case TS_DTYPE_F32:  ((float *) dst)[i] = (float) v; break;
  case TS_DTYPE_F16:  ((uint16_t *) dst)[i] = ts_f32_to_f16 ((float) v); break;
  case TS_DTYPE_BF16: ((uint16_t *) dst)[i] = ts_f32_to_bf16 ((float) v); break;
  case TS_DTYPE_I32:  ((int32_t *) dst)[i] = isfinite (v) ? (int32_t) v : 0; break;
  case TS_DTYPE_I64:  ((int64_t *) dst)[i] = isfinite (v) ? (int64_t) v : 0; break;
  case TS_DTYPE_U8:   ((uint8_t *) dst)[i] = isfinite (v) ? (uint8_t) (int64_t) v : 0; break;
  default: break;
  }
}

void
ts_convert (const void *src, TsDType src_dtype, void *dst, TsDType dst_dtype, size_t n)
{
  if (src_dtype == dst_dtype) {
    memmove (dst, src, n * ts_dtype_size (src_dtype));
    return;
  }
  /* The common conversions get tight loops; everything else goes through double, which
   * holds every value of every dtype exactly except i64 beyond 2^53 (ids never are). */
  if (src_dtype == TS_DTYPE_F16 && dst_dtype == TS_DTYPE_F32) {
    for (size_t i = 0; i < n; i++)
      ((float *) dst)[i] = ts_f16_to_f32 (((const uint16_t *) src)[i]);
  } else if (src_dtype == TS_DTYPE_BF16 && dst_dtype == TS_DTYPE_F32) {
    for (size_t i = 0; i < n; i++)
      ((float *) dst)[i] = ts_bf16_to_f32 (((const uint16_t *) src)[i]);
  } else if (src_dtype == TS_DTYPE_F32 && dst_dtype == TS_DTYPE_F16) {
    for (size_t i = 0; i < n; i++)
      ((uint16_t *) dst)[i] = ts_f32_to_f16 (((const float *) src)[i]);
  } else if (src_dtype == TS_DTYPE_I64 && dst_dtype == TS_DTYPE_I32) {
    for (size_t i = 0; i < n; i++)
      ((int32_t *) dst)[i] = (int32_t) ((const int64_t *) src)[i];
  } else {
    for (size_t i = 0; i < n; i++)
      store_from_double (dst, dst_dtype, i, load_as_double (src, src_dtype, i));
  }
}
