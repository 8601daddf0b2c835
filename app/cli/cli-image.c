/* cli-image.c — image files ⇄ the engine's 8-bit buffers. Reading goes through the decoder
 * the editor uses too (app/common/tessera-image-decode.h: its formats and size limits);
 * writing through GdkPixbuf (PNG, JPEG, and WebP when its loader is installed). Kept out of
 * libtessera so the engine has no image-file dependency. */
#include "cli.h"

#include "tessera-image-decode.h"

#include <gdk-pixbuf/gdk-pixbuf.h>
#include <glib/gi18n.h>
#include <string.h>

TsImage *
cli_image_from_rgba (GBytes *rgba, int width, int height, int channels, GError **error)
{
  g_autoptr (GBytes) mask = channels == 1 ? tessera_image_rgba_to_mask (rgba, width, height)
                                          : NULL;
  if (channels == 1 && !mask) {
    g_set_error (error, TS_ERROR, TS_ERROR_OUT_OF_MEMORY, _("not enough memory for the mask"));
    return NULL;
  }
  TsImage *im = ts_image_new (width, height, channels, error);
  if (!im)
    return NULL;
  if (mask) {
    memcpy (im->pixels, g_bytes_get_data (mask, NULL), (gsize) width * height);
    return im;
  }
  const guint8 *src = g_bytes_get_data (rgba, NULL);
  for (gsize i = 0; i < (gsize) width * height; i++)
    memcpy (im->pixels + i * 3, src + i * 4, 3);
  return im;
}

TsImage *
cli_image_load (const char *path, int channels, GError **error)
{
  g_autoptr (GError) local = NULL;
  g_autoptr (GFile) file = g_file_new_for_path (path);
  int w = 0, h = 0;
  g_autoptr (GBytes) rgba = tessera_image_load_file (file, NULL, &w, &h, &local);
  TsImage *im = rgba ? cli_image_from_rgba (rgba, w, h, channels, &local) : NULL;
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
