/* tessera-image-io.h — reading and writing pictures (PNG, JPEG, WebP where the loader is
 * installed), off the main thread. Reading is tessera-image-decode.h's:
 * EXIF orientation applied, files over its size limits refused with a message. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

void    tessera_image_load_async (GFile *file, GCancellable *cancellable,
                                  GAsyncReadyCallback callback, gpointer user_data);
/* Decodes an encoded picture (PNG, JPEG or WebP bytes) in a worker thread, within the
 * decoder's limits; finish with tessera_image_load_finish. */
void    tessera_image_decode_async (GBytes *encoded, GCancellable *cancellable,
                                    GAsyncReadyCallback callback, gpointer user_data);
/* Straight RGBA, stride width*4. The GFile, where there is one, is attached to the result as
 * data "file". */
GBytes *tessera_image_load_finish (GAsyncResult *result, int *width, int *height,
                                   GError **error);

/* The format follows the file name's extension (.png, .jpg/.jpeg, .webp). */
gboolean tessera_image_save (GFile *file, GBytes *rgba, int width, int height, GError **error);

G_END_DECLS
