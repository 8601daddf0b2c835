/* tessera-image-decode.c — encoded pictures to RGBA through GdkPixbufLoader, within limits. */
#include "tessera-image-decode.h"

#include <gdk-pixbuf/gdk-pixbuf.h>
#include <glib/gi18n.h>
#include <string.h>
#include <webp/decode.h>
#include <webp/demux.h>

const TesseraImageLimits tessera_image_default_limits = {
  TESSERA_IMAGE_MAX_BYTES, TESSERA_IMAGE_MAX_SIDE, TESSERA_IMAGE_MAX_PIXELS,
};

/* Bytes handed to the loader at a time: a header refused by the limits stops the feeding
 * there. Small, because the PNG loader inflates the rest of a chunk even after it gave up. */
#define CHUNK ((gsize) 4096)
/* Bytes read from a file at a time. */
#define READ_CHUNK ((gsize) 65536)

/* GdkPixbuf picks a loader by signature among all those installed, SVG, TIFF and GIF
 * included. We accept the three formats the editor offers and the CLI documents, so their
 * signatures are checked here and the loader is then named explicitly: no other loader ever
 * sees outside data. (GIF was left out after fuzz-image found GdkPixbuf's GIF loader failing
 * its own assertions on a frame placed outside the picture.) */
static const char *
sniff (const guint8 *d, gsize n)
{
  if (n >= 8 && memcmp (d, "\x89PNG\r\n\x1a\n", 8) == 0)
    return "png";
  if (n >= 3 && memcmp (d, "\xff\xd8\xff", 3) == 0)
    return "jpeg";
  if (n >= 12 && memcmp (d, "RIFF", 4) == 0 && memcmp (d + 8, "WEBP", 4) == 0)
    return "webp";
  return NULL;
}

static const char *
format_label (const char *format)
{
  static const char *const names[][2] = {
    { "png", "PNG" }, { "jpeg", "JPEG" }, { "webp", "WebP" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    if (g_str_equal (format, names[i][0]))
      return names[i][1];
  return format;
}

static void
set_too_many_bytes (GError **error, guint64 size, const TesseraImageLimits *limits)
{
  g_autofree char *have = g_format_size (size);
  g_autofree char *most = g_format_size (limits->max_bytes);
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE,
               _("The file is too large: %s (Tessera reads pictures of up to %s)"), have, most);
}

static void
set_too_many_pixels (GError **error, int width, int height, const TesseraImageLimits *limits)
{
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE,
               _("The picture is too large: %d × %d pixels (Tessera reads pictures of up to "
                 "%d pixels a side and %.0f megapixels)"),
               width, height, limits->max_side, (double) limits->max_pixels / 1e6);
}

static gboolean
fits (const TesseraImageLimits *limits, int width, int height)
{
  return width <= limits->max_side && height <= limits->max_side &&
         (gint64) width * height <= limits->max_pixels;
}

typedef struct {
  const TesseraImageLimits *limits;
  int width, height;   /* as the header gives them */
  gboolean refused;
} Header;

/* Called with the header's size, before the loader allocates the pixels. */
static void
on_size_prepared (GdkPixbufLoader *loader, int width, int height, gpointer data)
{
  Header *h = data;
  h->width = width;
  h->height = height;
  if (fits (h->limits, width, height))
    return;
  h->refused = TRUE;
  /* The PNG and JPEG loaders give up on a zero size before allocating anything (WebP is
   * checked before, see webp_check). */
  gdk_pixbuf_loader_set_size (loader, 0, 0);
}

/* Feeds the loader in chunks until the data ends, it fails or the header is refused. A failed
 * write has closed the loader already; otherwise it is closed here. */
static gboolean
feed (GdkPixbufLoader *loader, const guint8 *bytes, gsize size, const Header *h,
      GError **error)
{
  for (gsize done = 0; done < size && !h->refused; done += CHUNK)
    if (!gdk_pixbuf_loader_write (loader, bytes + done, MIN (CHUNK, size - done), error))
      return FALSE;
  return gdk_pixbuf_loader_close (loader, error);
}

/* Two things the WebP loader does not do well are checked first, with libwebp itself. It
 * decodes all the data it holds when closed, whatever the size-prepared handler asked: 38
 * bytes of lossless WebP decode to 16000 × 16000 pixels, 0.8 s and 880 MiB before they could
 * be refused. And an animation its decoder cannot open makes it call GdkPixbuf with a NULL
 * iterator (criticals, found by fuzz-image). */
static gboolean
webp_check (const guint8 *bytes, gsize size, const TesseraImageLimits *limits, GError **error)
{
  WebPBitstreamFeatures features;
  if (WebPGetFeatures (bytes, size, &features) != VP8_STATUS_OK)
    return TRUE;   /* a broken header is the loader's to report */
  if (!fits (limits, features.width, features.height)) {
    set_too_many_pixels (error, features.width, features.height, limits);
    return FALSE;
  }
  if (!features.has_animation)
    return TRUE;
  WebPData data = { bytes, size };
  WebPAnimDecoderOptions options;
  WebPAnimDecoder *dec = WebPAnimDecoderOptionsInit (&options)
                             ? WebPAnimDecoderNew (&data, &options) : NULL;
  if (dec) {
    WebPAnimDecoderDelete (dec);
    return TRUE;
  }
  g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                       _("The picture is damaged: its WebP animation cannot be read"));
  return FALSE;
}

/* More scans than any encoder writes (progressive files have about ten): libjpeg decodes
 * every scan over the whole picture, so a small file of thousands of scans costs minutes. */
#define JPEG_MAX_SCANS 256

static gboolean
jpeg_is_frame_marker (guint8 m)
{
  return m >= 0xc0 && m <= 0xcf && m != 0xc4 && m != 0xc8 && m != 0xcc;
}

/* Walks the JPEG's markers before libjpeg sees them. Only Huffman-coded frames (SOF0–SOF2:
 * baseline, extended, progressive) are read: fuzz-image found a 176-byte arithmetic-coded
 * (SOF9) file on which libjpeg's decoder never finished, and arithmetic, lossless and
 * hierarchical JPEGs are rare enough that web browsers do not show them either. Marker
 * segments are skipped by their length as libjpeg does, entropy-coded data byte by byte
 * (0xFF 0x00 is a stuffed byte, 0xFF 0xD0–0xD7 a restart). */
static gboolean
jpeg_check (const guint8 *d, gsize n, GError **error)
{
  guint scans = 0;
  gsize i = 2;
  while (i + 1 < n) {
    guint8 m = d[i + 1];
    if (d[i] != 0xff || m == 0xff) {
      i++;
      continue;
    }
    if (m == 0x00 || m == 0x01 || (m >= 0xd0 && m <= 0xd7)) {
      i += 2;
      continue;
    }
    if (m == 0xd9 || i + 3 >= n)
      break;
    if (jpeg_is_frame_marker (m) && m > 0xc2) {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                   _("This JPEG uses arithmetic, lossless or hierarchical coding (marker "
                     "FF%02X), which Tessera does not read: save it as an ordinary JPEG or "
                     "PNG first"), m);
      return FALSE;
    }
    if (m == 0xda && ++scans > JPEG_MAX_SCANS) {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   _("The picture is damaged: its JPEG data holds more than %d scans"),
                   JPEG_MAX_SCANS);
      return FALSE;
    }
    guint len = (guint) d[i + 2] << 8 | d[i + 3];
    if (len < 2)
      break;   /* libjpeg reports a bogus length itself */
    i += 2 + len;
  }
  return TRUE;
}

static GdkPixbuf *
run_loader (const char *format, const guint8 *bytes, gsize size,
            const TesseraImageLimits *limits, GError **error)
{
  if (g_str_equal (format, "webp") && !webp_check (bytes, size, limits, error))
    return NULL;
  if (g_str_equal (format, "jpeg") && !jpeg_check (bytes, size, error))
    return NULL;
  g_autoptr (GError) local = NULL;
  g_autoptr (GdkPixbufLoader) loader = gdk_pixbuf_loader_new_with_type (format, &local);
  if (!loader) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                 _("Cannot read %s pictures: GdkPixbuf has no loader for them (for WebP "
                   "install webp-pixbuf-loader)"), format_label (format));
    return NULL;
  }
  Header h = { limits, 0, 0, FALSE };
  g_signal_connect (loader, "size-prepared", G_CALLBACK (on_size_prepared), &h);
  gboolean ok = feed (loader, bytes, size, &h, &local);
  GdkPixbuf *pb = gdk_pixbuf_loader_get_pixbuf (loader);
  /* Loaders may scale in the end: check what came out too. */
  if (h.refused || (pb && !fits (limits, gdk_pixbuf_get_width (pb),
                                 gdk_pixbuf_get_height (pb)))) {
    set_too_many_pixels (error, h.refused ? h.width : gdk_pixbuf_get_width (pb),
                         h.refused ? h.height : gdk_pixbuf_get_height (pb), limits);
    return NULL;
  }
  if (!ok || !pb) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, _("The picture is damaged: %s"),
                 local ? local->message : _("the loader gave no picture"));
    return NULL;
  }
  return g_object_ref (pb);
}

static GBytes *
to_rgba (GdkPixbuf *pb, int *width, int *height, GError **error)
{
  int w = gdk_pixbuf_get_width (pb), h = gdk_pixbuf_get_height (pb);
  int n = gdk_pixbuf_get_n_channels (pb), stride = gdk_pixbuf_get_rowstride (pb);
  if (gdk_pixbuf_get_colorspace (pb) != GDK_COLORSPACE_RGB ||
      gdk_pixbuf_get_bits_per_sample (pb) != 8 ||
      n != (gdk_pixbuf_get_has_alpha (pb) ? 4 : 3) || w <= 0 || h <= 0) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                 _("Only 8-bit RGB and RGBA pictures are supported"));
    return NULL;
  }
  guint8 *out = g_try_malloc ((gsize) w * h * 4);
  if (!out) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE, _("Not enough memory for the picture"));
    return NULL;
  }
  const guint8 *src = gdk_pixbuf_read_pixels (pb);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      const guint8 *p = src + (gsize) y * stride + (gsize) x * n;
      guint8 *o = out + ((gsize) y * w + x) * 4;
      o[0] = p[0];
      o[1] = p[1];
      o[2] = p[2];
      o[3] = n == 4 ? p[3] : 255;
    }
  *width = w;
  *height = h;
  return g_bytes_new_take (out, (gsize) w * h * 4);
}

GBytes *
tessera_image_decode (GBytes *data, const char *format, const TesseraImageLimits *limits,
                      int *width, int *height, GError **error)
{
  if (!limits)
    limits = &tessera_image_default_limits;
  gsize size;
  const guint8 *bytes = g_bytes_get_data (data, &size);
  if (size > limits->max_bytes) {
    set_too_many_bytes (error, size, limits);
    return NULL;
  }
  const char *found = bytes ? sniff (bytes, size) : NULL;
  if (!found || (format && !g_str_equal (found, format))) {
    if (format)
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED, _("This is not a %s picture"),
                   format_label (format));
    else
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                           _("This is not a PNG, JPEG or WebP picture"));
    return NULL;
  }
  g_autoptr (GdkPixbuf) raw = run_loader (found, bytes, size, limits, error);
  if (!raw)
    return NULL;
  /* Photos store their rotation in EXIF rather than in the pixels. */
  g_autoptr (GdkPixbuf) pb = gdk_pixbuf_apply_embedded_orientation (raw);
  if (!pb) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE, _("Not enough memory for the picture"));
    return NULL;
  }
  return to_rgba (pb, width, height, error);
}

GBytes *
tessera_image_read_file (GFile *file, const TesseraImageLimits *limits,
                         GCancellable *cancellable, GError **error)
{
  if (!limits)
    limits = &tessera_image_default_limits;
  g_autoptr (GFileInputStream) in = g_file_read (file, cancellable, error);
  if (!in)
    return NULL;
  /* Where the file system knows the size, a huge file is refused without reading it. */
  g_autoptr (GFileInfo) info = g_file_input_stream_query_info (
      in, G_FILE_ATTRIBUTE_STANDARD_SIZE, cancellable, NULL);
  if (info && g_file_info_has_attribute (info, G_FILE_ATTRIBUTE_STANDARD_SIZE) &&
      (guint64) g_file_info_get_size (info) > limits->max_bytes) {
    set_too_many_bytes (error, g_file_info_get_size (info), limits);
    return NULL;
  }
  g_autoptr (GByteArray) buf = g_byte_array_new ();
  gsize len = 0;
  for (;;) {
    g_byte_array_set_size (buf, (guint) (len + READ_CHUNK));
    gssize n = g_input_stream_read (G_INPUT_STREAM (in), buf->data + len, READ_CHUNK,
                                    cancellable, error);
    if (n < 0)
      return NULL;
    if (n == 0)
      break;
    len += n;
    if (len > limits->max_bytes) {
      set_too_many_bytes (error, len, limits);
      return NULL;
    }
  }
  g_byte_array_set_size (buf, (guint) len);
  return g_byte_array_free_to_bytes (g_steal_pointer (&buf));
}

GBytes *
tessera_image_load_file (GFile *file, GCancellable *cancellable, int *width, int *height,
                         GError **error)
{
  g_autoptr (GBytes) data = tessera_image_read_file (file, NULL, cancellable, error);
  return data ? tessera_image_decode (data, NULL, NULL, width, height, error) : NULL;
}

GBytes *
tessera_image_rgba_to_mask (GBytes *rgba, int width, int height)
{
  gsize n = (gsize) width * height;
  g_return_val_if_fail (g_bytes_get_size (rgba) == n * 4, NULL);
  const guint8 *p = g_bytes_get_data (rgba, NULL);
  guint8 *out = g_try_malloc (n ? n : 1);
  if (!out)
    return NULL;
  for (gsize i = 0; i < n; i++, p += 4) {
    guint v = MAX (MAX (p[0], p[1]), p[2]) * p[3] / 255;
    out[i] = v >= 128 ? 255 : 0;
  }
  return g_bytes_new_take (out, n);
}
