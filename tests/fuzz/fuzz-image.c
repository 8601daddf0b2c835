/* fuzz-image.c — fuzz target for pictures and masks as Tessera loads them: the decoder the CLI
 * and the editor share (app/common/tessera-image-decode.c: signature check, limits from the
 * header, GdkPixbufLoader, EXIF orientation), then the CLI's conversions to the engine's RGB
 * image and to a binarised mask (app/cli/cli-image.c). Every input goes both ways, so one
 * corpus serves images and masks.
 *
 * Whatever the bytes: no crash, no critical from GLib or GdkPixbuf (fuzz-glib.h makes them
 * crashes), and either a clear G_IO_ERROR or pictures that keep the decoder's promises. The Debian
 * libraries are not instrumented: coverage guides the fuzzer through our code only. */
#include "cli.h"
#include "fuzz-glib.h"
#include "tessera-image-decode.h"

#include <string.h>

/* Smaller than the shipped limits so that inputs claiming large pictures cost milliseconds,
 * not the hundreds of milliseconds of 64 megapixels; the code path is the same. */
static const TesseraImageLimits fuzz_limits = { 1 << 20, 4096, 1 << 20 };

static void
check_error (const GError *error)
{
  g_assert (error != NULL && error->domain == G_IO_ERROR);
  g_assert (error->code == G_IO_ERROR_INVALID_DATA || error->code == G_IO_ERROR_NOT_SUPPORTED ||
            error->code == G_IO_ERROR_MESSAGE_TOO_LARGE || error->code == G_IO_ERROR_NO_SPACE);
  g_assert (g_utf8_validate (error->message, -1, NULL) && error->message[0] != '\0');
}

static void
check_conversions (GBytes *rgba, int w, int h)
{
  const guint8 *src = g_bytes_get_data (rgba, NULL);
  g_autoptr (TsImage) rgb = cli_image_from_rgba (rgba, w, h, 3, NULL);
  g_autoptr (TsImage) mask = cli_image_from_rgba (rgba, w, h, 1, NULL);
  g_assert (rgb && rgb->width == w && rgb->height == h && rgb->channels == 3);
  g_assert (mask && mask->width == w && mask->height == h && mask->channels == 1);
  for (gsize i = 0; i < (gsize) w * h; i++) {
    g_assert (memcmp (rgb->pixels + i * 3, src + i * 4, 3) == 0);
    g_assert (mask->pixels[i] == 0 || mask->pixels[i] == 255);
  }
}

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  fuzz_glib_make_criticals_fatal ();
  g_autoptr (GBytes) bytes = g_bytes_new_static (data, size);
  g_autoptr (GError) error = NULL;
  int w = -1, h = -1;
  g_autoptr (GBytes) rgba = tessera_image_decode (bytes, NULL, &fuzz_limits, &w, &h, &error);
  if (!rgba) {
    check_error (error);
    return 0;
  }
  g_assert (w > 0 && h > 0 && w <= fuzz_limits.max_side && h <= fuzz_limits.max_side);
  g_assert ((gint64) w * h <= fuzz_limits.max_pixels);
  g_assert (g_bytes_get_size (rgba) == (gsize) w * h * 4);
  check_conversions (rgba, w, h);
  return 0;
}
