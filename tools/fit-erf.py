#!/usr/bin/env python3
"""Derive the erf() approximation used by shaders/include/ts-math.glsl.

GLSL has no erf. The shader evaluates erf(z), z >= 0, in three pieces:
  z < 0.5      Taylor series z * sum_k (-1)^k 2/sqrt(pi) z^(2k) / (k! (2k+1)), k <= 5
  0.5 <= z < 2 a polynomial in t = (z - 1.25) / 0.75 interpolating erf at Chebyshev nodes
  2 <= z < 4   1 - exp(-z^2 + q(t)), q interpolating log(erfc(z)) + z^2, t = (z - 3) / 1
  z >= 4       1 (erfc(4) < 2e-8, below half an ulp of 1)
Chebyshev interpolation is near-minimax; evaluated in float the result is within ~2.5 ulp
(|error| < 1e-7) of erf on [0, 4]. Run this script to print the coefficients and that check.
"""
import math
import struct


def f32(x):
    return struct.unpack('f', struct.pack('f', x))[0]


def cheb_fit(fn, deg, a, b):
    """Monomial coefficients, in t in [-1, 1], of the interpolant at Chebyshev nodes."""
    n = deg + 1
    nodes = [math.cos(math.pi * (k + 0.5) / n) for k in range(n)]
    vals = [fn((b - a) / 2 * t + (a + b) / 2) for t in nodes]
    c = [2 / n * sum(vals[k] * math.cos(math.pi * j * (k + 0.5) / n) for k in range(n))
         for j in range(n)]
    c[0] /= 2
    cheb = [[1.0], [0.0, 1.0]]
    for j in range(2, n):
        nxt = [0.0] * (j + 1)
        for i, v in enumerate(cheb[j - 1]):
            nxt[i + 1] += 2 * v
        for i, v in enumerate(cheb[j - 2]):
            nxt[i] -= v
        cheb.append(nxt)
    mono = [0.0] * n
    for j in range(n):
        for i, v in enumerate(cheb[j]):
            mono[i] += c[j] * v
    return mono


def horner(cs, t):
    p = 0.0
    for v in reversed(cs):
        p = f32(f32(p * t) + v)
    return p


TAYLOR = [2 / math.sqrt(math.pi) * (-1) ** k / (math.factorial(k) * (2 * k + 1)) for k in range(6)]
MID = cheb_fit(math.erf, 11, 0.5, 2.0)
TAIL = cheb_fit(lambda z: math.log(math.erfc(z)) + z * z, 9, 2.0, 4.0)


def erf_f32(z):
    if z < 0.5:
        return f32(z * horner([f32(c) for c in TAYLOR], f32(z * z)))
    if z < 2.0:
        return horner([f32(c) for c in MID], f32((z - 1.25) * f32(1 / 0.75)))
    if z < 4.0:
        q = horner([f32(c) for c in TAIL], f32(z - 3.0))
        return f32(1.0 - f32(math.exp(f32(f32(-z * z) + q))))
    return 1.0


def main():
    for name, cs in (('TAYLOR', TAYLOR), ('MID', MID), ('TAIL', TAIL)):
        print(name, ', '.join('%.9e' % c for c in cs))
    worst_ulp = worst_abs = 0.0
    for i in range(1, 80001):
        z = f32(4.0 * i / 80000)
        ref = math.erf(z)
        err = abs(erf_f32(z) - ref)
        worst_abs = max(worst_abs, err)
        worst_ulp = max(worst_ulp, err / 2 ** (math.frexp(ref)[1] - 24))
    print('float evaluation: max error %.3g (%.2f ulp)' % (worst_abs, worst_ulp))


if __name__ == '__main__':
    main()
