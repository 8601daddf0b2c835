/* test-tiles.c — the canvas's texture tiles without a display: levels, box-filtered texels,
 * empty mask tiles, aprons, and which tiles a change rebuilds. */
#include <gtk/gtk.h>

#include "tessera-tiles.h"

/* Texel (x, y) of a premultiplied BGRA texture, as 0xAARRGGBB. */
static guint32
texel (GdkTexture *t, int x, int y)
{
  int w = gdk_texture_get_width (t), h = gdk_texture_get_height (t);
  g_autofree guint32 *px = g_new (guint32, (gsize) w * h);
  gdk_texture_download (t, (guchar *) px, (gsize) w * 4);
  return px[(gsize) y * w + x];
}

static void
test_levels (void)
{
  g_assert_cmpint (tessera_tiles_level_for_zoom (4.0), ==, 0);
  g_assert_cmpint (tessera_tiles_level_for_zoom (1.0), ==, 0);
  g_assert_cmpint (tessera_tiles_level_for_zoom (0.75), ==, 0);
  g_assert_cmpint (tessera_tiles_level_for_zoom (0.5), ==, 1);
  g_assert_cmpint (tessera_tiles_level_for_zoom (0.375), ==, 1);
  g_assert_cmpint (tessera_tiles_level_for_zoom (0.2), ==, 2);
  g_assert_cmpint (tessera_tiles_level_for_zoom (1.0 / 1000), ==, 4);
}

/* A picture of 2 × 2 blocks of one grey each, 0x10 apart: level 1 shows their means. */
static TesseraDocument *
checker_document (int w, int h)
{
  g_autoptr (GError) error = NULL;
  g_autofree guint8 *rgba = g_new (guint8, (gsize) w * h * 4);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      guint8 v = (guint8) ((x / 2 + y / 2) % 16 * 0x10 + (x & 1) * 2);   /* block mean: +1 */
      guint8 *p = rgba + ((gsize) y * w + x) * 4;
      p[0] = p[1] = p[2] = v;
      p[3] = 255;
    }
  TesseraDocument *doc = tessera_document_new (w, h, &error);
  g_assert_no_error (error);
  g_assert_true (tessera_document_set_rgba (doc, rgba, w, h, w * 4, &error));
  return doc;
}

static void
test_image_texels (void)
{
  g_autoptr (TesseraDocument) doc = checker_document (600, 300);
  g_autoptr (TesseraTiles) t = tessera_tiles_new ();
  tessera_tiles_reset (t, 600, 300);
  g_assert_cmpint (tessera_tiles_get_n_x (t), ==, 3);
  g_assert_cmpint (tessera_tiles_get_n_y (t), ==, 2);
  graphene_rect_t where;
  /* Level 0, tile (1, 0): the tile and 4 pixels of apron, at full resolution. */
  GdkTexture *full = tessera_tiles_get (t, doc, FALSE, 0, 1, 0, &where);
  g_assert_nonnull (full);
  g_assert_cmpfloat (where.origin.x, ==, 252);
  g_assert_cmpfloat (where.size.width, ==, 264);
  g_assert_cmpint (gdk_texture_get_width (full), ==, 264);
  g_assert_cmphex (texel (full, 4, 0), ==, tessera_document_get_pixel (doc, 256, 0));
  /* Level 1: half the texels, each the mean of its 2 × 2 block (the block's value + 1). */
  GdkTexture *half = tessera_tiles_get (t, doc, FALSE, 1, 1, 0, &where);
  g_assert_cmpfloat (where.origin.x, ==, 248);   /* an apron of 4 texels = 8 pixels */
  g_assert_cmpint (gdk_texture_get_width (half), ==, (256 + 16) / 2);
  g_assert_cmpfloat (where.size.width, ==, gdk_texture_get_width (half) * 2);
  for (int x = 0; x < 8; x++) {
    int px = 248 + 2 * x, py = 0;
    guint8 v = (guint8) ((px / 2 + py / 2) % 16 * 0x10 + 1);
    g_assert_cmphex (texel (half, x, 0), ==, 0xff000000u | v << 16 | v << 8 | v);
  }
  /* The last tile stops at the picture's edge: 600 = 2 × 256 + 88 (+ apron on the left). */
  GdkTexture *last = tessera_tiles_get (t, doc, FALSE, 0, 2, 1, &where);
  g_assert_cmpint (gdk_texture_get_width (last), ==, 88 + 4);
  g_assert_cmpint (gdk_texture_get_height (last), ==, 300 - 256 + 4);
  /* Cached: asking again builds nothing. */
  tessera_tiles_take_builds (t);
  g_assert_true (tessera_tiles_get (t, doc, FALSE, 1, 1, 0, &where) == half);
  g_assert_cmpuint (tessera_tiles_take_builds (t), ==, 0);
}

static void
test_mask_and_invalidation (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (TesseraDocument) doc = tessera_document_new (512, 512, &error);
  g_autoptr (TesseraTiles) t = tessera_tiles_new ();
  tessera_tiles_reset (t, 512, 512);
  graphene_rect_t where;
  /* Nothing painted: no texture, for every tile and level. */
  for (int level = 0; level < 3; level++)
    for (int i = 0; i < 4; i++)
      g_assert_null (tessera_tiles_get (t, doc, TRUE, level, i % 2, i / 2, &where));
  g_assert_cmpuint (tessera_tiles_take_builds (t), ==, 12);
  for (int i = 0; i < 4; i++)
    tessera_tiles_get (t, doc, FALSE, 0, i % 2, i / 2, &where);
  tessera_tiles_take_builds (t);

  /* A dab well inside tile (0, 0) changes only that mask tile, at every level. */
  TesseraBrush brush = { 20, 1.0, FALSE };
  tessera_document_dab (doc, &brush, 100, 100, 1.0);
  tessera_tiles_invalidate (t, TESSERA_CHANGE_MASK, 90, 90, 21, 21);
  for (int level = 0; level < 3; level++)
    for (int i = 0; i < 4; i++) {
      GdkTexture *m = tessera_tiles_get (t, doc, TRUE, level, i % 2, i / 2, &where);
      g_assert_true ((m != NULL) == (i == 0));
    }
  g_assert_cmpuint (tessera_tiles_take_builds (t), ==, 3);
  GdkTexture *m0 = tessera_tiles_get (t, doc, TRUE, 0, 0, 0, &where);
  g_assert_cmphex (texel (m0, 100, 100), ==, tessera_tiles_tint (255));
  g_assert_cmphex (texel (m0, 10, 10), ==, 0);
  /* The picture's tiles were not touched. */
  for (int i = 0; i < 4; i++)
    tessera_tiles_get (t, doc, FALSE, 0, i % 2, i / 2, &where);
  g_assert_cmpuint (tessera_tiles_take_builds (t), ==, 0);

  /* Next to a tile edge: the neighbour's apron shows it too. */
  tessera_tiles_invalidate (t, TESSERA_CHANGE_IMAGE, 254, 10, 1, 1);
  for (int i = 0; i < 4; i++)
    tessera_tiles_get (t, doc, FALSE, 0, i % 2, i / 2, &where);
  g_assert_cmpuint (tessera_tiles_take_builds (t), ==, 2);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/tiles/levels", test_levels);
  g_test_add_func ("/tiles/image-texels", test_image_texels);
  g_test_add_func ("/tiles/mask-and-invalidation", test_mask_and_invalidation);
  return g_test_run ();
}
