/* ts-rng.c — Philox4x32-10. */
#include "ts-rng.h"

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

static inline guint32
mulhilo (guint32 a, guint32 b, guint32 *hi)
{
  guint64 p = (guint64) a * b;
  *hi = (guint32) (p >> 32);
  return (guint32) p;
}

void
ts_philox4x32_10 (const guint32 counter[4], const guint32 key[2], guint32 out[4])
{
  guint32 c0 = counter[0], c1 = counter[1], c2 = counter[2], c3 = counter[3];
  guint32 k0 = key[0], k1 = key[1];
  for (int round = 0; round < 10; round++) {
    guint32 hi0, hi1;
    guint32 lo0 = mulhilo (PHILOX_M0, c0, &hi0);
    guint32 lo1 = mulhilo (PHILOX_M1, c2, &hi1);
    guint32 n0 = hi1 ^ c1 ^ k0, n2 = hi0 ^ c3 ^ k1;
    c0 = n0;
    c1 = lo1;
    c2 = n2;
    c3 = lo0;
    k0 += PHILOX_W0;
    k1 += PHILOX_W1;
  }
  out[0] = c0;
  out[1] = c1;
  out[2] = c2;
  out[3] = c3;
}

float
ts_rng_uniform (guint64 seed, guint32 step, guint32 kind, guint32 position)
{
  const guint32 counter[4] = { position, step, kind, 0 };
  const guint32 key[2] = { (guint32) seed, (guint32) (seed >> 32) };
  guint32 out[4];
  ts_philox4x32_10 (counter, key, out);
  /* 24 bits: every value is exact in float32 and strictly below 1. */
  return (float) (out[0] >> 8) * (1.0f / 16777216.0f);
}

void
ts_rng_fill (guint64 seed, guint32 step, guint32 kind, float *out, int64_t n)
{
  for (int64_t i = 0; i < n; i++)
    out[i] = ts_rng_uniform (seed, step, kind, (guint32) i);
}
