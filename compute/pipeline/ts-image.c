/* ts-image.c — 8-bit host images and the resampling the pipelines need. */
#include "ts-pipeline-private.h"

#include <math.h>
#include <string.h>

TsImage *
ts_image_new (int width, int height, int channels, GError **error)
{
  if (width < 1 || height < 1 || width > 65536 || height > 65536 ||
      (channels != 1 && channels != 3)) {
    g_set_error (error, TS_ERROR, TS_ERROR_INVALID_ARGUMENT,
                 "invalid image size %d×%d with %d channels", width, height, channels);
    return NULL;
  }
  guint8 *pixels = g_try_malloc0 ((gsize) width * height * channels);
  if (!pixels) {
    g_set_error (error, TS_ERROR, TS_ERROR_OUT_OF_MEMORY, "out of memory for a %d×%d image",
                 width, height);
    return NULL;
  }
  TsImage *im = g_new (TsImage, 1);
  *im = (TsImage) { width, height, channels, pixels };
  return im;
}

TsImage *
ts_image_copy (const TsImage *image, GError **error)
{
  TsImage *im = ts_image_new (image->width, image->height, image->channels, error);
  if (im)
    memcpy (im->pixels, image->pixels, ts_image_bytes (image));
  return im;
}

void
ts_image_free (TsImage *image)
{
  if (!image)
    return;
  g_free (image->pixels);
  g_free (image);
}

gsize
ts_image_bytes (const TsImage *image)
{
  return (gsize) image->width * image->height * image->channels;
}

TsImage *
ts_image_crop (const TsImage *image, int x, int y, int w, int h, GError **error)
{
  TsImage *out = ts_image_new (w, h, image->channels, error);
  if (!out)
    return NULL;
  gsize row = (gsize) w * image->channels;
  for (int j = 0; j < h; j++)
    memcpy (out->pixels + j * row,
            image->pixels + ((gsize) (y + j) * image->width + x) * image->channels, row);
  return out;
}

/* Linear-filter weights for one output sample: a triangle widened by the scale when
 * shrinking (so every input pixel contributes: an area-like average), plain bilinear when
 * enlarging. */
typedef struct {
  int    first, count;
  float *weights;
} Taps;

static Taps *
make_taps (int in, int out)
{
  Taps *taps = g_new0 (Taps, out);
  double scale = (double) in / out, support = scale > 1 ? scale : 1;
  for (int o = 0; o < out; o++) {
    double center = (o + 0.5) * scale;
    int lo = (int) floor (center - support), hi = (int) ceil (center + support);
    lo = lo < 0 ? 0 : lo;
    hi = hi > in ? in : hi;
    taps[o].first = lo;
    taps[o].count = hi - lo;
    taps[o].weights = g_new (float, hi - lo);
    double total = 0;
    for (int i = lo; i < hi; i++) {
      double t = fabs ((i + 0.5 - center) / support);
      double wt = t < 1 ? 1 - t : 0;
      taps[o].weights[i - lo] = (float) wt;
      total += wt;
    }
    for (int i = 0; i < hi - lo; i++)
      taps[o].weights[i] = total > 0 ? (float) (taps[o].weights[i] / total) : 0;
    if (total <= 0) { /* cannot happen for in, out ≥ 1; keep the nearest pixel */
      taps[o].first = (int) CLAMP (center, 0, in - 1);
      taps[o].count = 1;
      taps[o].weights[0] = 1;
    }
  }
  return taps;
}

static void
free_taps (Taps *taps, int n)
{
  for (int i = 0; i < n; i++)
    g_free (taps[i].weights);
  g_free (taps);
}

TsImage *
ts_image_resize (const TsImage *image, int width, int height, GError **error)
{
  if (width == image->width && height == image->height)
    return ts_image_copy (image, error);
  TsImage *out = ts_image_new (width, height, image->channels, error);
  if (!out)
    return NULL;
  int c = image->channels;
  float *mid = g_try_new (float, (gsize) image->height * width * c);
  if (!mid) {
    ts_image_free (out);
    g_set_error (error, TS_ERROR, TS_ERROR_OUT_OF_MEMORY, "out of memory resizing an image");
    return NULL;
  }
  Taps *tx = make_taps (image->width, width), *ty = make_taps (image->height, height);
  for (int y = 0; y < image->height; y++)
    for (int x = 0; x < width; x++)
      for (int ch = 0; ch < c; ch++) {
        float acc = 0;
        for (int i = 0; i < tx[x].count; i++)
          acc += tx[x].weights[i] *
                 image->pixels[((gsize) y * image->width + tx[x].first + i) * c + ch];
        mid[((gsize) y * width + x) * c + ch] = acc;
      }
  for (int y = 0; y < height; y++)
    for (int x = 0; x < width; x++)
      for (int ch = 0; ch < c; ch++) {
        float acc = 0;
        for (int i = 0; i < ty[y].count; i++)
          acc += ty[y].weights[i] * mid[((gsize) (ty[y].first + i) * width + x) * c + ch];
        out->pixels[((gsize) y * width + x) * c + ch] = (guint8) CLAMP (lrintf (acc), 0, 255);
      }
  free_taps (tx, width);
  free_taps (ty, height);
  g_free (mid);
  return out;
}

float *
ts_image_to_planar (const TsImage *image, GError **error)
{
  gsize plane = (gsize) image->width * image->height;
  float *out = g_try_new (float, plane * 3);
  if (!out) {
    g_set_error (error, TS_ERROR, TS_ERROR_OUT_OF_MEMORY, "out of memory for image pixels");
    return NULL;
  }
  /* PIL → numpy → /255 in float32, as the pipelines' image processor does. */
  for (gsize i = 0; i < plane; i++)
    for (int ch = 0; ch < 3; ch++)
      out[ch * plane + i] = (float) image->pixels[i * 3 + ch] / 255.0f;
  return out;
}

void
ts_planar_to_image (const float *planar, TsImage *image)
{
  gsize plane = (gsize) image->width * image->height;
  for (gsize i = 0; i < plane; i++)
    for (int ch = 0; ch < 3; ch++) {
      /* numpy's (x·255).round(): half to even, as rintf in the default rounding mode. */
      float v = rintf (planar[ch * plane + i] * 255.0f);
      image->pixels[i * 3 + ch] = (guint8) CLAMP (v, 0.0f, 255.0f);
    }
}

void
ts_image_blend (TsImage *dst, const TsImage *src, int x0, int y0, const TsImage *alpha)
{
  for (int y = 0; y < src->height; y++)
    for (int x = 0; x < src->width; x++) {
      gsize o = (gsize) (y0 + y) * dst->width + x0 + x;
      guint8 a8 = alpha->pixels[o];
      if (!a8)
        continue;
      float a = a8 / 255.0f;
      const guint8 *s = src->pixels + ((gsize) y * src->width + x) * 3;
      guint8 *d = dst->pixels + o * 3;
      for (int c = 0; c < 3; c++)
        d[c] = (guint8) (d[c] + a * ((float) s[c] - d[c]) + 0.5f);
    }
}
