/* tessera-thumbnail.c — downscaled copies via cairo's good filter. */
#include "tessera-thumbnail.h"

static GdkTexture *
scale_surface (cairo_surface_t *src, int width, int height, int size)
{
  double s = MIN (1.0, (double) size / MAX (width, height));
  int tw = MAX (1, (int) (width * s)), th = MAX (1, (int) (height * s));
  cairo_surface_t *dst = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, tw, th);
  cairo_t *cr = cairo_create (dst);
  cairo_scale (cr, (double) tw / width, (double) th / height);
  cairo_set_source_surface (cr, src, 0, 0);
  cairo_pattern_set_filter (cairo_get_source (cr), CAIRO_FILTER_GOOD);
  cairo_paint (cr);
  cairo_destroy (cr);
  cairo_surface_flush (dst);
  int stride = cairo_image_surface_get_stride (dst);
  g_autoptr (GBytes) bytes = g_bytes_new (cairo_image_surface_get_data (dst), (gsize) stride * th);
  cairo_surface_destroy (dst);
  return gdk_memory_texture_new (tw, th, GDK_MEMORY_DEFAULT, bytes, stride);
}

GdkTexture *
tessera_thumbnail_from_state (const TesseraState *state, int size)
{
  cairo_surface_t *src = cairo_image_surface_create_for_data (
      (guchar *) g_bytes_get_data (state->image, NULL), CAIRO_FORMAT_ARGB32, state->width,
      state->height, state->width * 4);
  GdkTexture *t = scale_surface (src, state->width, state->height, size);
  cairo_surface_destroy (src);
  return t;
}

GdkTexture *
tessera_thumbnail_from_rgba (GBytes *rgba, int width, int height, int size)
{
  cairo_surface_t *src = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, width, height);
  guint32 *dst = (guint32 *) cairo_image_surface_get_data (src);
  int stride = cairo_image_surface_get_stride (src) / 4;
  const guint8 *p = g_bytes_get_data (rgba, NULL);
  for (int y = 0; y < height; y++)
    for (int x = 0; x < width; x++) {
      const guint8 *q = p + ((gsize) y * width + x) * 4;
      guint a = q[3];
      dst[y * stride + x] = (a << 24) | ((q[0] * a / 255) << 16) | ((q[1] * a / 255) << 8)
                            | (q[2] * a / 255);
    }
  cairo_surface_mark_dirty (src);
  GdkTexture *t = scale_surface (src, width, height, size);
  cairo_surface_destroy (src);
  return t;
}
