/* ref-ops.c — the naive references (see ref-ops.h). */
#include "ref-ops.h"

#include <math.h>
#include <string.h>

void
ref_matmul (const float *a, const float *b, const float *bias, float *out, int64_t batch,
            int64_t m, int64_t n, int64_t k, gboolean ta, gboolean tb, gboolean shared_b)
{
  for (int64_t bi = 0; bi < batch; bi++) {
    const float *ab = a + bi * m * k, *bb = shared_b ? b : b + bi * k * n;
    for (int64_t i = 0; i < m; i++)
      for (int64_t j = 0; j < n; j++) {
        double s = bias ? bias[j] : 0.0;
        for (int64_t l = 0; l < k; l++) {
          double av = ta ? ab[l * m + i] : ab[i * k + l];
          double bv = tb ? bb[j * k + l] : bb[l * n + j];
          s += av * bv;
        }
        out[(bi * m + i) * n + j] = (float) s;
      }
  }
}

int64_t
ref_broadcast_shape (int na, const int64_t *sa, int nb, const int64_t *sb, int *out_ndim,
                     int64_t *out_shape)
{
  int nd = MAX (na, nb);
  int64_t total = 1;
  for (int i = 0; i < nd; i++) {
    int ia = i - (nd - na), ib = i - (nd - nb);
    int64_t da = ia >= 0 ? sa[ia] : 1, db = ib >= 0 ? sb[ib] : 1;
    out_shape[i] = MAX (da, db);
    total *= out_shape[i];
  }
  *out_ndim = nd;
  return total;
}

/* Index into an operand of shape s (n dims) for output multi-index idx (nd dims). */
static int64_t
broadcast_index (const int64_t *idx, int nd, int n, const int64_t *s)
{
  int64_t at = 0;
  for (int i = 0; i < n; i++) {
    int64_t v = s[i] == 1 ? 0 : idx[i + nd - n];
    at = at * s[i] + v;
  }
  return at;
}

void
ref_add_mul (gboolean mul, const float *a, int na, const int64_t *sa, const float *b, int nb,
             const int64_t *sb, float *out)
{
  int nd;
  int64_t shape[8], idx[8];
  int64_t total = ref_broadcast_shape (na, sa, nb, sb, &nd, shape);
  for (int64_t i = 0; i < total; i++) {
    int64_t rest = i;
    for (int d = nd - 1; d >= 0; d--) {
      idx[d] = rest % shape[d];
      rest /= shape[d];
    }
    double x = a[broadcast_index (idx, nd, na, sa)], y = b[broadcast_index (idx, nd, nb, sb)];
    out[i] = (float) (mul ? x * y : x + y);
  }
}

void
ref_scale (const float *x, float *out, int64_t n, float scale, float offset)
{
  for (int64_t i = 0; i < n; i++)
    out[i] = (float) ((double) x[i] * scale + offset);
}

static double
sigmoid (double x)
{
  return 1.0 / (1.0 + exp (-x));
}

static double
gelu (double x)
{
  return 0.5 * x * erfc (-x / sqrt (2.0));
}

void
ref_silu (const float *x, float *out, int64_t n)
{
  for (int64_t i = 0; i < n; i++)
    out[i] = (float) (x[i] * sigmoid (x[i]));
}

void
ref_gelu (const float *x, float *out, int64_t n)
{
  for (int64_t i = 0; i < n; i++)
    out[i] = (float) gelu (x[i]);
}

void
ref_quick_gelu (const float *x, float *out, int64_t n)
{
  for (int64_t i = 0; i < n; i++)
    out[i] = (float) (x[i] * sigmoid (1.702 * x[i]));
}

void
ref_geglu (const float *x, float *out, int64_t rows, int64_t h)
{
  for (int64_t r = 0; r < rows; r++)
    for (int64_t j = 0; j < h; j++)
      out[r * h + j] = (float) (x[r * 2 * h + j] * gelu (x[r * 2 * h + h + j]));
}

void
ref_softmax (const float *x, float *out, int64_t rows, int64_t d)
{
  for (int64_t r = 0; r < rows; r++) {
    const float *row = x + r * d;
    double m = -INFINITY, s = 0;
    for (int64_t i = 0; i < d; i++)
      m = MAX (m, row[i]);
    for (int64_t i = 0; i < d; i++)
      s += m == -INFINITY ? 0.0 : exp (row[i] - m);
    for (int64_t i = 0; i < d; i++)
      out[r * d + i] = s > 0 ? (float) (exp (row[i] - m) / s) : 0.0f;
  }
}

void
ref_layer_norm (const float *x, const float *w, const float *b, float *out, int64_t rows,
                int64_t d, float eps)
{
  for (int64_t r = 0; r < rows; r++) {
    const float *row = x + r * d;
    double mean = 0, var = 0;
    for (int64_t i = 0; i < d; i++)
      mean += row[i];
    mean /= d;
    for (int64_t i = 0; i < d; i++)
      var += (row[i] - mean) * (row[i] - mean);
    var /= d;
    for (int64_t i = 0; i < d; i++) {
      double y = (row[i] - mean) / sqrt (var + eps);
      out[r * d + i] = (float) (y * (w ? w[i] : 1.0) + (b ? b[i] : 0.0));
    }
  }
}

void
ref_rms_norm (const float *x, const float *w, float *out, int64_t rows, int64_t d, float eps)
{
  for (int64_t r = 0; r < rows; r++) {
    const float *row = x + r * d;
    double ms = 0;
    for (int64_t i = 0; i < d; i++)
      ms += (double) row[i] * row[i];
    ms /= d;
    for (int64_t i = 0; i < d; i++)
      out[r * d + i] = (float) (row[i] / sqrt (ms + eps) * (w ? w[i] : 1.0));
  }
}

void
ref_group_norm (const float *x, const float *w, const float *b, float *out, int64_t n, int64_t c,
                int64_t s, int groups, float eps)
{
  int64_t cg = c / groups;
  for (int64_t i = 0; i < n; i++)
    for (int64_t g = 0; g < groups; g++) {
      const float *blk = x + (i * c + g * cg) * s;
      double mean = 0, var = 0;
      for (int64_t j = 0; j < cg * s; j++)
        mean += blk[j];
      mean /= cg * s;
      for (int64_t j = 0; j < cg * s; j++)
        var += (blk[j] - mean) * (blk[j] - mean);
      var /= cg * s;
      for (int64_t ch = g * cg; ch < (g + 1) * cg; ch++)
        for (int64_t j = 0; j < s; j++) {
          double y = (x[(i * c + ch) * s + j] - mean) / sqrt (var + eps);
          out[(i * c + ch) * s + j] = (float) (y * (w ? w[ch] : 1.0) + (b ? b[ch] : 0.0));
        }
    }
}

void
ref_grn (const float *x, const float *gamma, const float *beta, float *out, int64_t n, int64_t s,
         int64_t c, float eps)
{
  double *g = g_new (double, c);
  for (int64_t i = 0; i < n; i++) {
    double mean = 0;
    for (int64_t ch = 0; ch < c; ch++) {
      double ss = 0;
      for (int64_t p = 0; p < s; p++) {
        double v = x[(i * s + p) * c + ch];
        ss += v * v;
      }
      g[ch] = sqrt (ss);
      mean += g[ch];
    }
    mean /= c;
    for (int64_t p = 0; p < s; p++)
      for (int64_t ch = 0; ch < c; ch++) {
        double v = x[(i * s + p) * c + ch], nx = g[ch] / (mean + eps);
        out[(i * s + p) * c + ch] = (float) (gamma[ch] * (v * nx) + beta[ch] + v);
      }
  }
  g_free (g);
}

void
ref_attention (const float *q, const float *k, const float *v, float *out, int64_t b,
               int64_t nq, int64_t nk, int64_t h, int64_t d, int64_t dv, float scale,
               gboolean causal)
{
  double *p = g_new (double, nk);
  for (int64_t bi = 0; bi < b; bi++)
    for (int64_t hi = 0; hi < h; hi++)
      for (int64_t i = 0; i < nq; i++) {
        const float *qr = q + ((bi * nq + i) * h + hi) * d;
        double m = -INFINITY, sum = 0;
        for (int64_t j = 0; j < nk; j++) {
          const float *kr = k + ((bi * nk + j) * h + hi) * d;
          double s = 0;
          for (int64_t l = 0; l < d; l++)
            s += (double) qr[l] * kr[l];
          p[j] = causal && j > i ? -INFINITY : s * scale;
          m = MAX (m, p[j]);
        }
        for (int64_t j = 0; j < nk; j++) {
          p[j] = p[j] == -INFINITY ? 0.0 : exp (p[j] - m);
          sum += p[j];
        }
        for (int64_t l = 0; l < dv; l++) {
          double o = 0;
          for (int64_t j = 0; j < nk; j++)
            o += p[j] * v[((bi * nk + j) * h + hi) * dv + l];
          out[((bi * nq + i) * h + hi) * dv + l] = (float) (sum > 0 ? o / sum : 0.0);
        }
      }
  g_free (p);
}

void
ref_conv2d (const float *x, const float *w, const float *bias, float *out, int64_t n, int64_t c,
            int64_t h, int64_t wd, int64_t o, int64_t kh, int64_t kw, const TsConv2dParams *p,
            int64_t *oh_out, int64_t *ow_out)
{
  int64_t oh = (h + p->pad_top + p->pad_bottom - kh) / p->stride_y + 1;
  int64_t ow = (wd + p->pad_left + p->pad_right - kw) / p->stride_x + 1;
  int64_t cg = c / p->groups, og = o / p->groups;
  for (int64_t ni = 0; ni < n; ni++)
    for (int64_t oc = 0; oc < o; oc++)
      for (int64_t y = 0; y < oh; y++)
        for (int64_t xo = 0; xo < ow; xo++) {
          double s = bias ? bias[oc] : 0.0;
          int64_t g = oc / og;
          for (int64_t ci = 0; ci < cg; ci++)
            for (int64_t ky = 0; ky < kh; ky++)
              for (int64_t kx = 0; kx < kw; kx++) {
                int64_t iy = y * p->stride_y + ky - p->pad_top;
                int64_t ix = xo * p->stride_x + kx - p->pad_left;
                if (iy < 0 || iy >= h || ix < 0 || ix >= wd)
                  continue;
                s += (double) x[((ni * c + g * cg + ci) * h + iy) * wd + ix] *
                     w[((oc * cg + ci) * kh + ky) * kw + kx];
              }
          out[((ni * o + oc) * oh + y) * ow + xo] = (float) s;
        }
  if (oh_out)
    *oh_out = oh;
  if (ow_out)
    *ow_out = ow;
}

void
ref_conv_transpose_2x2 (const float *x, const float *w, const float *bias, float *out, int64_t n,
                        int64_t c, int64_t h, int64_t wd, int64_t o)
{
  for (int64_t ni = 0; ni < n; ni++)
    for (int64_t oc = 0; oc < o; oc++)
      for (int64_t y = 0; y < 2 * h; y++)
        for (int64_t xo = 0; xo < 2 * wd; xo++) {
          int64_t i = y / 2, j = xo / 2, a = y % 2, bb = xo % 2;
          double s = bias ? bias[oc] : 0.0;
          for (int64_t ci = 0; ci < c; ci++)
            s += (double) x[((ni * c + ci) * h + i) * wd + j] * w[((ci * o + oc) * 2 + a) * 2 + bb];
          out[((ni * o + oc) * 2 * h + y) * 2 * wd + xo] = (float) s;
        }
}

void
ref_upsample_nearest_2x (const float *x, float *out, int64_t planes, int64_t h, int64_t w)
{
  for (int64_t p = 0; p < planes; p++)
    for (int64_t y = 0; y < 2 * h; y++)
      for (int64_t xo = 0; xo < 2 * w; xo++)
        out[(p * 2 * h + y) * 2 * w + xo] = x[(p * h + y / 2) * w + xo / 2];
}

void
ref_pad (const float *x, int ndim, const int64_t *shape, const int64_t *before,
         const int64_t *after, float value, float *out)
{
  int64_t oshape[TS_MAX_DIMS], total = 1;
  for (int i = 0; i < ndim; i++) {
    oshape[i] = shape[i] + before[i] + after[i];
    total *= oshape[i];
  }
  for (int64_t o = 0; o < total; o++) {
    int64_t rest = o, src = 0, mul = 1;
    gboolean inside = TRUE;
    for (int d = ndim - 1; d >= 0; d--) {
      int64_t i = rest % oshape[d] - before[d];
      rest /= oshape[d];
      inside = inside && i >= 0 && i < shape[d];
      src += i * mul;
      mul *= shape[d];
    }
    out[o] = inside ? x[src] : value;
  }
}

void
ref_permute (const float *x, int ndim, const int64_t *shape, const int *perm, float *out)
{
  int64_t stride[TS_MAX_DIMS], oshape[TS_MAX_DIMS], total = 1;
  for (int d = ndim - 1, s = 1; d >= 0; d--) {
    stride[d] = s;
    s *= (int) shape[d];
  }
  for (int d = 0; d < ndim; d++) {
    oshape[d] = shape[perm[d]];
    total *= oshape[d];
  }
  for (int64_t o = 0; o < total; o++) {
    int64_t rest = o, src = 0;
    for (int d = ndim - 1; d >= 0; d--) {
      src += (rest % oshape[d]) * stride[perm[d]];
      rest /= oshape[d];
    }
    out[o] = x[src];
  }
}

void
ref_concat (const float *const *parts, const int64_t *len, int n, int64_t outer, int64_t inner,
            float *out)
{
  for (int64_t o = 0; o < outer; o++)
    for (int i = 0; i < n; i++) {
      memcpy (out, parts[i] + o * len[i] * inner, sizeof (float) * len[i] * inner);
      out += len[i] * inner;
    }
}

void
ref_embedding (const float *table, int64_t d, const int64_t *ids, int64_t n, float *out)
{
  for (int64_t i = 0; i < n; i++)
    memcpy (out + i * d, table + ids[i] * d, sizeof (float) * d);
}

void
ref_nearest_code (const float *x, int64_t n, int64_t d, const float *book, int64_t k,
                  int32_t *out)
{
  for (int64_t i = 0; i < n; i++) {
    double best = INFINITY;
    out[i] = 0;
    for (int64_t j = 0; j < k; j++) {
      double s = 0;
      for (int64_t l = 0; l < d; l++) {
        double t = (double) x[i * d + l] - book[j * d + l];
        s += t * t;
      }
      if (s < best) {
        best = s;
        out[i] = (int32_t) j;
      }
    }
  }
}
