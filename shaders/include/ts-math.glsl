// ts-math.glsl — activation functions. GLSL has no erf: ts_erf_pos evaluates it in three
// pieces whose coefficients come from tools/fit-erf.py (Taylor series near 0, Chebyshev
// interpolants elsewhere); in float it stays within ~2.5 ulp (|error| < 1e-7) of erf.
#ifndef TS_MATH_GLSL
#define TS_MATH_GLSL

// erfc(z) for z >= 2: exp(-z² + q(z)), q interpolating log(erfc(z)) + z² on [2, 4].
float ts_erfc_tail (float z)
{
  if (z >= 4.0)
    return 0.0; // erfc(4) < 2e-8
  float t = z - 3.0;
  float q = -1.337768282e-07;
  q = q * t + 1.095309855e-06;
  q = q * t - 7.117798820e-06;
  q = q * t + 4.305990517e-05;
  q = q * t - 2.456912626e-04;
  q = q * t + 1.353318124e-03;
  q = q * t - 7.411891907e-03;
  q = q * t + 4.260578025e-02;
  q = q * t - 3.037536890e-01;
  q = q * t - 1.720363042e+00;
  return exp (q - z * z);
}

// erf(z) for z >= 0 (NaN stays NaN).
float ts_erf_pos (float z)
{
  if (z < 0.5) {
    float u = z * z;
    float p = -8.548327023e-04;
    p = p * u + 5.223977625e-03;
    p = p * u - 2.686617065e-02;
    p = p * u + 1.128379167e-01;
    p = p * u - 3.761263890e-01;
    p = p * u + 1.128379167e+00;
    return z * p;
  }
  if (z < 2.0) {
    float t = (z - 1.25) * (1.0 / 0.75);
    float p = -1.015383808e-05;
    p = p * t + 3.947428456e-05;
    p = p * t + 6.208598941e-05;
    p = p * t - 5.644928137e-04;
    p = p * t + 4.859485544e-04;
    p = p * t + 3.788088781e-03;
    p = p * t - 1.119673080e-02;
    p = p * t - 1.948150832e-03;
    p = p * t + 7.067920190e-02;
    p = p * t - 1.663039763e-01;
    p = p * t + 1.773908413e-01;
    p = p * t + 9.229001291e-01;
    return p;
  }
  return 1.0 - ts_erfc_tail (z);
}

float ts_erf (float x)
{
  float a = ts_erf_pos (abs (x));
  return x < 0.0 ? -a : a;
}

// Exact GELU, x·Φ(x) = x/2·(1 + erf(x/√2)); the negative tail uses erfc directly so small
// results keep their relative precision.
float ts_gelu (float x)
{
  float z = x * 0.7071067811865476;
  float one_plus_erf;
  if (z >= 0.0)
    one_plus_erf = 1.0 + ts_erf_pos (z);
  else if (z > -2.0)
    one_plus_erf = 1.0 - ts_erf_pos (-z);
  else
    one_plus_erf = ts_erfc_tail (-z);
  return 0.5 * x * one_plus_erf;
}

float ts_silu (float x)
{
  return x / (1.0 + exp (-x));
}

float ts_quick_gelu (float x)
{
  return x / (1.0 + exp (-1.702 * x));
}

#endif
