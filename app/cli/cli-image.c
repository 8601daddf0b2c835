/* cli-image.c — image files ⇄ the engine's 8-bit buffers, through GdkPixbuf (PNG, JPEG, and
 * WebP when its loader is installed). Kept out of libtessera so the engine has no image-file
 * dependency. */
#include "cli.h"

#include <gdk-pixbuf/gdk-pixbuf.h>
#include <glib/gi18n.h>
#include <string.h>

/* RGB (channels 3) or a mask (channels 1: 255 where the pixel is bright, after alpha). */
static TsImage *
from_pixbuf (GdkPixbuf *pb, int channels, GError **error)
{
  int w = gdk_pixbuf_get_width (pb), h = gdk_pixbuf_get_height (pb);
  int n = gdk_pixbuf_get_n_channels (pb), stride = gdk_pixbuf_get_rowstride (pb);
  gboolean alpha = gdk_pixbuf_get_has_alpha (pb);
  if (gdk_pixbuf_get_bits_per_sample (pb) != 8 || n < 3) {
    g_set_error (error, TS_ERROR, TS_ERROR_UNSUPPORTED, _("unsupported pixel format"));
    return NULL;
  }
  TsImage *im = ts_image_new (w, h, channels, error);
  if (!im)
    return NULL;
  const guint8 *src = gdk_pixbuf_read_pixels (pb);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      const guint8 *px = src + (gsize) y * stride + (gsize) x * n;
      if (channels == 3) {
        memcpy (im->pixels + ((gsize) y * w + x) * 3, px, 3);
      } else {
        int v = MAX (MAX (px[0], px[1]), px[2]);
        if (alpha)
          v = v * px[3] / 255;
        /* binarised at one half, as the upstream mask processor does */
        im->pixels[(gsize) y * w + x] = v >= 128 ? 255 : 0;
      }
    }
  return im;
}

TsImage *
cli_image_load (const char *path, int channels, GError **error)
{
  g_autoptr (GError) local = NULL;
  g_autoptr (GdkPixbuf) raw = gdk_pixbuf_new_from_file (path, &local);
  if (!raw) {
    g_set_error (error, TS_ERROR, TS_ERROR_IO, _("cannot read image “%s”: %s"), path,
                 local->message);
    return NULL;
  }
  /* Photos carry their rotation in EXIF; apply it so pixels match what viewers show. */
  g_autoptr (GdkPixbuf) pb = gdk_pixbuf_apply_embedded_orientation (raw);
  TsImage *im = from_pixbuf (pb ? pb : raw, channels, &local);
  if (!im)
    g_set_error (error, TS_ERROR, TS_ERROR_IO, _("cannot read image “%s”: %s"), path,
                 local->message);
  return im;
}

static const char *
format_for (const char *path)
{
  g_autofree char *lower = g_ascii_strdown (path, -1);
  if (g_str_has_suffix (lower, ".png"))
    return "png";
  if (g_str_has_suffix (lower, ".jpg") || g_str_has_suffix (lower, ".jpeg"))
    return "jpeg";
  if (g_str_has_suffix (lower, ".webp"))
    return "webp";
  return NULL;
}

gboolean
cli_image_format_ok (const char *path, GError **error)
{
  const char *fmt = format_for (path);
  if (!fmt) {
    g_set_error (error, TS_ERROR, TS_ERROR_INVALID_ARGUMENT,
                 _("“%s”: the output must end in .png, .jpg, .jpeg or .webp"), path);
    return FALSE;
  }
  gboolean writable = FALSE;
  GSList *formats = gdk_pixbuf_get_formats ();
  for (GSList *l = formats; l; l = l->next) {
    g_autofree char *name = gdk_pixbuf_format_get_name (l->data); /* a copy */
    if (g_str_equal (name, fmt))
      writable = gdk_pixbuf_format_is_writable (l->data);
  }
  g_slist_free (formats);
  if (!writable)
    g_set_error (error, TS_ERROR, TS_ERROR_UNSUPPORTED,
                 _("cannot write %s files: GdkPixbuf has no saver for them (for WebP install "
                   "webp-pixbuf-loader)"), fmt);
  return writable;
}

gboolean
cli_image_save (const TsImage *image, const char *path, GError **error)
{
  if (!cli_image_format_ok (path, error))
    return FALSE;
  g_autoptr (GBytes) bytes = g_bytes_new (image->pixels, (gsize) image->width *
                                          image->height * 3);
  g_autoptr (GdkPixbuf) pb = gdk_pixbuf_new_from_bytes (bytes, GDK_COLORSPACE_RGB, FALSE, 8,
                                                        image->width, image->height,
                                                        image->width * 3);
  const char *fmt = format_for (path);
  g_autoptr (GError) local = NULL;
  gboolean ok = g_str_equal (fmt, "jpeg")
                  ? gdk_pixbuf_save (pb, path, fmt, &local, "quality", "95", NULL)
                  : gdk_pixbuf_save (pb, path, fmt, &local, NULL);
  if (!ok)
    g_set_error (error, TS_ERROR, TS_ERROR_IO, _("cannot write “%s”: %s"), path,
                 local->message);
  return ok;
}
