/* tessera-image-decode.h — pictures from outside (files, drops, OpenRaster layers) to straight
 * RGBA: the one way Tessera reads encoded image bytes. The CLI (cli-image.c), the editor
 * (tessera-image-io.c) and the project reader (tessera-project.c) all come through here, and
 * tests/fuzz/fuzz-image.c feeds it hostile bytes.
 *
 * Only PNG, JPEG and WebP (with webp-pixbuf-loader) are read, each with its own GdkPixbuf
 * loader chosen from the file's signature: the other loaders installed on a desktop (SVG,
 * TIFF, GIF, ICO, …) never see outside data. EXIF orientation is applied, so pixels match
 * what photo viewers show. Every error is a G_IO_ERROR with a message for the user. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* The limits on a picture, checked before the work they guard: the encoded size before
 * reading a file, the dimensions from the header (GdkPixbufLoader's size-prepared) before
 * the pixels are allocated or decoded. A decompression bomb (a few kilobytes that claim a
 * gigapixel) is refused with G_IO_ERROR_MESSAGE_TOO_LARGE in microseconds. */
typedef struct {
  gsize  max_bytes;    /* encoded size */
  int    max_side;     /* width and height, pixels */
  gint64 max_pixels;   /* width × height */
} TesseraImageLimits;

/* 256 MiB files, 16384 pixels a side (the editor's largest canvas), 64 megapixels
 * (8192 × 8192: 256 MiB of RGBA). */
#define TESSERA_IMAGE_MAX_BYTES  ((gsize) 256 << 20)
#define TESSERA_IMAGE_MAX_SIDE   16384
#define TESSERA_IMAGE_MAX_PIXELS ((gint64) 64 << 20)

extern const TesseraImageLimits tessera_image_default_limits;

/* Decodes `data` into straight RGBA (stride width × 4). `format` NULL accepts any of the three
 * formats; "png" (etc.) accepts only that one. `limits` NULL: the defaults. */
GBytes *tessera_image_decode (GBytes *data, const char *format,
                              const TesseraImageLimits *limits, int *width, int *height,
                              GError **error);

/* Reads a whole file, refusing one over limits->max_bytes before reading it all. */
GBytes *tessera_image_read_file (GFile *file, const TesseraImageLimits *limits,
                                 GCancellable *cancellable, GError **error);

/* tessera_image_read_file then tessera_image_decode, with the default limits. */
GBytes *tessera_image_load_file (GFile *file, GCancellable *cancellable, int *width,
                                 int *height, GError **error);

/* A mask picture to one byte per pixel: 255 where the pixel is bright (its brightest channel,
 * times its alpha, at least one half, as the upstream mask processor binarises), else 0.
 * NULL when out of memory. */
GBytes *tessera_image_rgba_to_mask (GBytes *rgba, int width, int height);

G_END_DECLS
