/* test-image-decode.c — the picture decoder the CLI and the editor share
 * (app/common/tessera-image-decode.h) with its shipped limits: the formats it reads and
 * refuses, EXIF orientation, the size limits checked before decoding, the file-size limit
 * checked before reading, and the mask conversion. Inputs are the fuzz corpus's seeds. */
#include <glib/gstdio.h>
#include <string.h>

#include "tessera-image-decode.h"

static GBytes *
seed (const char *name)
{
  g_autofree char *path = g_build_filename (TESSERA_IMAGE_CORPUS, name, NULL);
  g_autoptr (GError) error = NULL;
  char *data = NULL;
  gsize len = 0;
  g_assert_true (g_file_get_contents (path, &data, &len, &error));
  g_assert_no_error (error);
  return g_bytes_new_take (data, len);
}

static GBytes *
decode (const char *name, int *w, int *h, GError **error)
{
  g_autoptr (GBytes) bytes = seed (name);
  return tessera_image_decode (bytes, NULL, NULL, w, h, error);
}

/* PNG (RGB, RGBA, grey, palette, 16-bit), JPEG and WebP decode to straight RGBA. */
static void
test_formats (void)
{
  static const struct {
    const char *name;
    int w, h;
    guint8 first[4];
  } cases[] = {
    { "tiny-rgb.png", 6, 4, { 0, 0, 255, 255 } },
    { "tiny-rgba.png", 5, 3, { 255, 0, 0, 40 } },
    { "gray.png", 3, 2, { 0, 0, 0, 255 } },
    { "palette.png", 3, 1, { 255, 0, 0, 255 } },
    { "rgb16.png", 2, 2, { 0, 2, 4, 255 } },
    { "tiny-rgb.jpg", 6, 4, { 0, 0, 0, 0 } },
    { "tiny-rgba.webp", 5, 3, { 0, 0, 0, 40 } },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autoptr (GError) error = NULL;
    int w = 0, h = 0;
    g_autoptr (GBytes) rgba = decode (cases[i].name, &w, &h, &error);
    if (!rgba && g_str_has_suffix (cases[i].name, ".webp") &&
        g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED)) {
      g_test_message ("no WebP loader: %s", error->message);
      continue;
    }
    g_assert_no_error (error);
    g_assert_cmpint (w, ==, cases[i].w);
    g_assert_cmpint (h, ==, cases[i].h);
    g_assert_cmpuint (g_bytes_get_size (rgba), ==, (gsize) w * h * 4);
    const guint8 *p = g_bytes_get_data (rgba, NULL);
    if (g_str_has_suffix (cases[i].name, ".png"))   /* lossless: exact */
      g_assert_cmpmem (p, 4, cases[i].first, 4);
    else   /* lossy: the alpha only */
      g_assert_cmpint (p[3], ==, g_str_has_suffix (cases[i].name, ".jpg") ? 255 : 40);
  }
}

/* EXIF orientation 6 (turn 90° clockwise): the 6 × 4 JPEG comes out 4 × 6, its pixels
 * turned — the decoded plain file, turned by hand, is the reference. */
static void
test_exif_orientation (void)
{
  int w, h, pw, ph;
  g_autoptr (GBytes) turned = decode ("exif-rotated.jpg", &w, &h, NULL);
  g_autoptr (GBytes) plain = decode ("tiny-rgb.jpg", &pw, &ph, NULL);
  g_assert_nonnull (turned);
  g_assert_nonnull (plain);
  g_assert_cmpint (pw, ==, 6);
  g_assert_cmpint (ph, ==, 4);
  g_assert_cmpint (w, ==, 4);
  g_assert_cmpint (h, ==, 6);
  const guint8 *t = g_bytes_get_data (turned, NULL), *o = g_bytes_get_data (plain, NULL);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)   /* clockwise: out (x, y) = in (y, ph − 1 − x) */
      g_assert_cmpmem (t + (y * w + x) * 4, 4, o + ((ph - 1 - x) * pw + y) * 4, 4);
}

/* Other formats are refused by signature, before any GdkPixbuf loader sees them; a format
 * asked for (OpenRaster layers are PNG) refuses the others. */
static void
test_refused_formats (void)
{
  static const char *const names[] = { "not-image.bmp", "not-image.svg", "still.gif", "empty" };
  for (guint i = 0; i < G_N_ELEMENTS (names); i++) {
    g_autoptr (GError) error = NULL;
    int w, h;
    g_assert_null (decode (names[i], &w, &h, &error));
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED);
    g_assert_cmpstr (error->message, ==, "This is not a PNG, JPEG or WebP picture");
  }
  g_autoptr (GBytes) jpeg = seed ("tiny-rgb.jpg");
  g_autoptr (GError) error = NULL;
  int w, h;
  g_assert_null (tessera_image_decode (jpeg, "png", NULL, &w, &h, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED);
  g_assert_cmpstr (error->message, ==, "This is not a PNG picture");
}

/* Headers claiming more than the limits (over 16384 a side, or over 64 Mi pixels — among
 * them 38 bytes of WebP that would decode to 16000 × 16000) are refused with the size in
 * the message; damaged files get the loader's reason. */
static void
test_limits (void)
{
  static const struct {
    const char *name, *size;
  } huge[] = {
    { "huge-side.png", "100000 × 100000" },   { "huge-area.png", "16384 × 16384" },
    { "huge.jpg", "60000 × 60000" },          { "huge.webp", "16383 × 16383" },
    { "bomb-16000x16000.webp", "16000 × 16000" }, { "bomb-9000x9000-head.png", "9000 × 9000" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (huge); i++) {
    g_autoptr (GError) error = NULL;
    int w, h;
    g_assert_null (decode (huge[i].name, &w, &h, &error));
    if (g_str_has_suffix (huge[i].name, ".webp") &&
        g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED))
      continue;   /* no WebP loader installed */
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE);
    g_assert_nonnull (strstr (error->message, huge[i].size));
  }
  g_autoptr (GError) error = NULL;
  int w, h;
  g_assert_null (decode ("bad-crc.png", &w, &h, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
  g_assert_true (g_str_has_prefix (error->message, "The picture is damaged: "));

  /* Limits of one's own: a 6 × 4 picture against 5 pixels a side. */
  TesseraImageLimits small = { 1 << 20, 5, 1 << 20 };
  g_autoptr (GBytes) png = seed ("tiny-rgb.png");
  g_clear_error (&error);
  g_assert_null (tessera_image_decode (png, NULL, &small, &w, &h, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE);
}

/* Only Huffman-coded JPEG frames reach libjpeg: the 176-byte arithmetic-coded file on which
 * libjpeg never finished (found by fuzz-image), the shipped JPEG relabelled SOF9, and a file
 * of 257 scans are refused before decoding. */
static void
test_jpeg_coding (void)
{
  g_autoptr (GError) error = NULL;
  int w, h;
  g_assert_null (decode ("jpeg-arithmetic-hang.jpg", &w, &h, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED);
  g_assert_nonnull (strstr (error->message, "FFC9"));

  g_autoptr (GBytes) plain = seed ("tiny-rgb.jpg");
  gsize n;
  guint8 *relabelled = g_bytes_unref_to_data (g_bytes_ref (plain), &n);
  guint8 *sof0 = memmem (relabelled, n, "\xff\xc0", 2);
  g_assert_nonnull (sof0);
  sof0[1] = 0xc9;
  g_autoptr (GBytes) arithmetic = g_bytes_new_take (relabelled, n);
  g_clear_error (&error);
  g_assert_null (tessera_image_decode (arithmetic, NULL, NULL, &w, &h, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED);

  static const guint8 sos[] = { 0xff, 0xda, 0, 8, 1, 1, 0, 0, 0x3f, 0 };
  g_autoptr (GByteArray) scans = g_byte_array_new ();
  g_byte_array_append (scans, (const guint8 *) "\xff\xd8", 2);
  for (int i = 0; i < 257; i++)
    g_byte_array_append (scans, sos, sizeof sos);
  g_byte_array_append (scans, (const guint8 *) "\xff\xd9", 2);
  g_autoptr (GBytes) many = g_byte_array_free_to_bytes (g_steal_pointer (&scans));
  g_clear_error (&error);
  g_assert_null (tessera_image_decode (many, NULL, NULL, &w, &h, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
  g_assert_nonnull (strstr (error->message, "more than 256 scans"));
}

/* Files over the byte limit are refused before they are read whole. */
static void
test_file_limit (void)
{
  g_autofree char *path = g_build_filename (TESSERA_IMAGE_CORPUS, "tiny-rgb.jpg", NULL);
  g_autoptr (GFile) file = g_file_new_for_path (path);
  TesseraImageLimits small = { 100, TESSERA_IMAGE_MAX_SIDE, TESSERA_IMAGE_MAX_PIXELS };
  g_autoptr (GError) error = NULL;
  g_assert_null (tessera_image_read_file (file, &small, NULL, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE);
  g_assert_nonnull (strstr (error->message, "678 bytes"));
  g_clear_error (&error);
  int w = 0, h = 0;
  g_autoptr (GBytes) rgba = tessera_image_load_file (file, NULL, &w, &h, &error);
  g_assert_no_error (error);
  g_assert_cmpint (w * h, ==, 24);
  g_autoptr (GFile) missing = g_file_new_for_path ("/nonexistent/x.png");
  g_assert_null (tessera_image_load_file (missing, NULL, &w, &h, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
}

/* Masks: the brightest channel times alpha, at least one half → 255, else 0. */
static void
test_mask (void)
{
  static const guint8 rgba[] = {
    255, 255, 255, 255,   128, 0, 0, 255,   127, 127, 127, 255,   0, 0, 0, 255,
    255, 255, 255, 128,   255, 0, 0, 127,   0, 200, 0, 255,       10, 10, 255, 0,
  };
  static const guint8 want[] = { 255, 255, 0, 0, 255, 0, 255, 0 };
  g_autoptr (GBytes) in = g_bytes_new_static (rgba, sizeof rgba);
  g_autoptr (GBytes) mask = tessera_image_rgba_to_mask (in, 4, 2);
  g_assert_cmpmem (g_bytes_get_data (mask, NULL), g_bytes_get_size (mask), want, sizeof want);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/image-decode/formats", test_formats);
  g_test_add_func ("/image-decode/exif-orientation", test_exif_orientation);
  g_test_add_func ("/image-decode/refused-formats", test_refused_formats);
  g_test_add_func ("/image-decode/limits", test_limits);
  g_test_add_func ("/image-decode/jpeg-coding", test_jpeg_coding);
  g_test_add_func ("/image-decode/file-limit", test_file_limit);
  g_test_add_func ("/image-decode/mask", test_mask);
  return g_test_run ();
}
