/* tessera-image-io.c — image files for the editor: reading through the decoder the CLI uses
 * too (tessera-image-decode.h), in a worker thread; writing with GdkPixbuf. */
#include "tessera-image-io.h"

#include "tessera-image-decode.h"

#include <gdk-pixbuf/gdk-pixbuf.h>
#include <glib/gi18n.h>
#include <string.h>

typedef struct {
  GBytes *rgba;
  int width, height;
} Loaded;

static void
loaded_free (gpointer data)
{
  Loaded *l = data;
  g_bytes_unref (l->rgba);
  g_free (l);
}

/* What a worker reads: a file, or the bytes of an encoded picture. */
typedef struct {
  GFile *file;
  GBytes *encoded;
} Source;

static void
source_free (gpointer data)
{
  Source *src = data;
  g_clear_object (&src->file);
  g_clear_pointer (&src->encoded, g_bytes_unref);
  g_free (src);
}

static void
load_worker (GTask *task, gpointer source_object, gpointer data, GCancellable *cancellable)
{
  Source *src = data;
  GError *error = NULL;
  Loaded *l = g_new0 (Loaded, 1);
  l->rgba = src->file
                ? tessera_image_load_file (src->file, cancellable, &l->width, &l->height, &error)
                : tessera_image_decode (src->encoded, NULL, NULL, &l->width, &l->height, &error);
  if (!l->rgba) {
    g_free (l);
    g_task_return_error (task, error);
    return;
  }
  g_task_return_pointer (task, l, loaded_free);
}

static void
run_load (Source *src, gpointer tag, GCancellable *cancellable, GAsyncReadyCallback callback,
          gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, tag);
  if (src->file)
    g_object_set_data_full (G_OBJECT (task), "file", g_object_ref (src->file), g_object_unref);
  g_task_set_task_data (task, src, source_free);
  g_task_run_in_thread (task, load_worker);
}

void
tessera_image_load_async (GFile *file, GCancellable *cancellable, GAsyncReadyCallback callback,
                          gpointer user_data)
{
  Source *src = g_new0 (Source, 1);
  src->file = g_object_ref (file);
  run_load (src, tessera_image_load_async, cancellable, callback, user_data);
}

void
tessera_image_decode_async (GBytes *encoded, GCancellable *cancellable,
                            GAsyncReadyCallback callback, gpointer user_data)
{
  Source *src = g_new0 (Source, 1);
  src->encoded = g_bytes_ref (encoded);
  run_load (src, tessera_image_decode_async, cancellable, callback, user_data);
}

GBytes *
tessera_image_load_finish (GAsyncResult *result, int *width, int *height, GError **error)
{
  Loaded *l = g_task_propagate_pointer (G_TASK (result), error);
  if (!l)
    return NULL;
  GBytes *b = g_bytes_ref (l->rgba);
  *width = l->width;
  *height = l->height;
  loaded_free (l);
  return b;
}

gboolean
tessera_image_save (GFile *file, GBytes *rgba, int width, int height, GError **error)
{
  g_autofree char *path = g_file_get_path (file);
  g_autofree char *lower = g_ascii_strdown (path ? path : "", -1);
  const char *type = NULL;
  if (g_str_has_suffix (lower, ".png"))
    type = "png";
  else if (g_str_has_suffix (lower, ".jpg") || g_str_has_suffix (lower, ".jpeg"))
    type = "jpeg";
  else if (g_str_has_suffix (lower, ".webp"))
    type = "webp";
  if (!type) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                 _("Export as .png, .jpg or .webp"));
    return FALSE;
  }
  g_autoptr (GdkPixbuf) pb = gdk_pixbuf_new_from_bytes (rgba, GDK_COLORSPACE_RGB, TRUE, 8, width,
                                                        height, width * 4);
  /* JPEG has no alpha: flatten onto white. */
  if (g_str_equal (type, "jpeg")) {
    g_autoptr (GdkPixbuf) rgb = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, width, height);
    guint8 *dst = gdk_pixbuf_get_pixels (rgb);
    int stride = gdk_pixbuf_get_rowstride (rgb);
    const guint8 *src = g_bytes_get_data (rgba, NULL);
    for (int y = 0; y < height; y++)
      for (int x = 0; x < width; x++) {
        const guint8 *p = src + ((gsize) y * width + x) * 4;
        for (int k = 0; k < 3; k++)
          dst[(gsize) y * stride + x * 3 + k] = (guint8) ((p[k] * p[3] + 255 * (255 - p[3])
                                                           + 127) / 255);
      }
    return gdk_pixbuf_save (rgb, path, type, error, "quality", "92", NULL);
  }
  return gdk_pixbuf_save (pb, path, type, error, NULL);
}
