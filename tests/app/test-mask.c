/* test-mask.c — the selection fills of the mask, without a display: rectangles clipped to
 * the mask, polygons by pixel centres with the even-odd rule. */
#include "tessera-mask.h"

static TesseraMaskBuf *
mask_new (int w, int h)
{
  TesseraMaskBuf *m = g_new0 (TesseraMaskBuf, 1);
  m->width = w;
  m->height = h;
  m->stride = w + 3;   /* a stride wider than the row, as a sub-buffer would have */
  m->data = g_new0 (guint8, (gsize) m->stride * h);
  return m;
}

static void
mask_free (TesseraMaskBuf *m)
{
  g_free (m->data);
  g_free (m);
}

static void
test_rect (void)
{
  TesseraMaskBuf *m = mask_new (40, 30);
  tessera_mask_fill_rect (m, &(TesseraRect) { 5, 6, 10, 4 }, 255);
  g_assert_cmpuint (tessera_mask_count (m, 1), ==, 40);
  TesseraRect b = tessera_mask_bounds (m);
  g_assert_cmpint (b.x, ==, 5);
  g_assert_cmpint (b.y, ==, 6);
  g_assert_cmpint (b.width, ==, 10);
  g_assert_cmpint (b.height, ==, 4);
  /* Reaching past the edges: clipped, nothing written outside the rows. */
  tessera_mask_fill_rect (m, &(TesseraRect) { -10, 25, 100, 100 }, 255);
  g_assert_cmpuint (tessera_mask_count (m, 1), ==, 40 + 40 * 5);
  for (int y = 0; y < 30; y++)
    for (int x = 40; x < m->stride; x++)
      g_assert_cmpint (m->data[y * m->stride + x], ==, 0);
  /* Value 0 takes out. */
  tessera_mask_fill_rect (m, &(TesseraRect) { 5, 6, 5, 4 }, 0);
  g_assert_cmpuint (tessera_mask_count (m, 1), ==, 20 + 40 * 5);
  mask_free (m);
}

static void
test_polygon (void)
{
  TesseraMaskBuf *m = mask_new (64, 64);
  /* An axis-aligned square on pixel edges: exactly its pixels. */
  const double square[] = { 10, 10, 30, 10, 30, 20, 10, 20 };
  TesseraRect r = tessera_mask_fill_polygon (m, square, 4, 255);
  g_assert_cmpuint (tessera_mask_count (m, 1), ==, 20 * 10);
  g_assert_cmpint (r.x, ==, 10);
  g_assert_cmpint (r.y, ==, 10);
  g_assert_cmpint (r.width, ==, 20);
  g_assert_cmpint (r.height, ==, 10);
  tessera_mask_fill (m, 0);

  /* A right triangle: about half its box, the pixel whose centre is inside and not the
   * one beyond the hypotenuse. */
  const double triangle[] = { 0, 0, 40, 0, 0, 40 };
  tessera_mask_fill_polygon (m, triangle, 3, 255);
  gsize n = tessera_mask_count (m, 1);
  g_assert_cmpuint (n, >=, 800 - 40);
  g_assert_cmpuint (n, <=, 800 + 40);
  g_assert_cmpint (m->data[5 * m->stride + 5], ==, 255);
  g_assert_cmpint (m->data[30 * m->stride + 30], ==, 0);
  tessera_mask_fill (m, 0);

  /* A bow tie crosses itself: both wings are in, nothing outside them. */
  const double bowtie[] = { 0, 0, 40, 40, 40, 0, 0, 40 };
  tessera_mask_fill_polygon (m, bowtie, 4, 255);
  g_assert_cmpint (m->data[20 * m->stride + 3], ==, 255);    /* left wing */
  g_assert_cmpint (m->data[20 * m->stride + 36], ==, 255);   /* right wing */
  g_assert_cmpint (m->data[3 * m->stride + 20], ==, 0);      /* above the crossing */
  tessera_mask_fill (m, 0);

  /* Off the mask and degenerate: nothing, and no write outside it. */
  const double outside[] = { -50, -50, -10, -50, -10, -10 };
  r = tessera_mask_fill_polygon (m, outside, 3, 255);
  g_assert_true (tessera_rect_is_empty (&r));
  const double line[] = { 5, 5, 30, 30 };
  tessera_mask_fill_polygon (m, line, 2, 255);
  g_assert_cmpuint (tessera_mask_count (m, 1), ==, 0);
  /* Partly off: clipped. */
  const double big[] = { -100, -100, 200, -100, 200, 200, -100, 200 };
  tessera_mask_fill_polygon (m, big, 4, 255);
  g_assert_cmpuint (tessera_mask_count (m, 1), ==, 64 * 64);
  for (int y = 0; y < 64; y++)
    for (int x = 64; x < m->stride; x++)
      g_assert_cmpint (m->data[y * m->stride + x], ==, 0);
  mask_free (m);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/mask/fill-rect", test_rect);
  g_test_add_func ("/mask/fill-polygon", test_polygon);
  return g_test_run ();
}
