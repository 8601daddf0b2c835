/* tessera-mask.c — brush dabs and whole-mask operations on an 8-bit mask. */
#include "tessera-mask.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

gboolean
tessera_rect_is_empty (const TesseraRect *r)
{
  return r->width <= 0 || r->height <= 0;
}

void
tessera_rect_union (TesseraRect *acc, const TesseraRect *r)
{
  if (tessera_rect_is_empty (r))
    return;
  if (tessera_rect_is_empty (acc)) {
    *acc = *r;
    return;
  }
  int x0 = MIN (acc->x, r->x), y0 = MIN (acc->y, r->y);
  int x1 = MAX (acc->x + acc->width, r->x + r->width);
  int y1 = MAX (acc->y + acc->height, r->y + r->height);
  *acc = (TesseraRect) { x0, y0, x1 - x0, y1 - y0 };
}

void
tessera_rect_clip (TesseraRect *r, int width, int height)
{
  int x0 = CLAMP (r->x, 0, width), y0 = CLAMP (r->y, 0, height);
  int x1 = CLAMP (r->x + r->width, 0, width), y1 = CLAMP (r->y + r->height, 0, height);
  *r = (TesseraRect) { x0, y0, MAX (0, x1 - x0), MAX (0, y1 - y0) };
}

/* Coverage of a dab at distance d from its centre: flat inside the hard core, then a
 * smoothstep down to zero at the rim so soft brushes do not show rings. */
static double
dab_alpha (double d, double radius, double hardness)
{
  if (d >= radius)
    return 0.0;
  double core = radius * CLAMP (hardness, 0.0, 1.0);
  if (d <= core)
    return 1.0;
  double t = (radius - d) / (radius - core);
  return t * t * (3.0 - 2.0 * t);
}

TesseraRect
tessera_mask_stamp (TesseraMaskBuf *m, const TesseraBrush *b, double x, double y,
                    double pressure)
{
  /* Half a pixel minimum, so a light touch still marks the pixel under the pen. */
  double radius = MAX (0.5, b->size * CLAMP (pressure, 0.0, 1.0) / 2.0);
  TesseraRect r = { (int) floor (x - radius), (int) floor (y - radius), 0, 0 };
  r.width = (int) ceil (x + radius) - r.x + 1;
  r.height = (int) ceil (y + radius) - r.y + 1;
  tessera_rect_clip (&r, m->width, m->height);

  for (int py = r.y; py < r.y + r.height; py++) {
    guint8 *row = m->data + (gsize) py * m->stride;
    for (int px = r.x; px < r.x + r.width; px++) {
      /* Sample at the pixel centre. */
      double a = dab_alpha (hypot (px + 0.5 - x, py + 0.5 - y), radius, b->hardness);
      if (a <= 0.0)
        continue;
      int v = (int) lround (a * 255.0);
      if (b->erase)
        row[px] = (guint8) MIN (row[px], 255 - v);
      else
        row[px] = (guint8) MAX (row[px], v);
    }
  }
  return r;
}

TesseraRect
tessera_mask_segment (TesseraMaskBuf *m, const TesseraBrush *b, double x0, double y0,
                      double p0, double x1, double y1, double p1)
{
  TesseraRect dirty = { 0 };
  double len = hypot (x1 - x0, y1 - y0);
  /* A quarter of the radius between dabs keeps hard edges from scalloping. */
  double spacing = MAX (0.5, b->size * MAX (MIN (p0, p1), 0.05) / 8.0);
  int n = MAX (1, (int) ceil (len / spacing));
  for (int i = 1; i <= n; i++) {
    double t = (double) i / n;
    TesseraRect r = tessera_mask_stamp (m, b, x0 + (x1 - x0) * t, y0 + (y1 - y0) * t,
                                        p0 + (p1 - p0) * t);
    tessera_rect_union (&dirty, &r);
  }
  return dirty;
}

void
tessera_mask_fill (TesseraMaskBuf *m, guint8 value)
{
  for (int y = 0; y < m->height; y++)
    memset (m->data + (gsize) y * m->stride, value, m->width);
}

void
tessera_mask_invert (TesseraMaskBuf *m)
{
  for (int y = 0; y < m->height; y++) {
    guint8 *row = m->data + (gsize) y * m->stride;
    for (int x = 0; x < m->width; x++)
      row[x] = 255 - row[x];
  }
}

/* One separable pass of a running max or box sum along rows (horizontal) or columns. */
static void
pass_1d (const guint8 *src, guint8 *dst, int n, gsize step, int radius, gboolean is_max)
{
  for (int i = 0; i < n; i++) {
    int lo = MAX (0, i - radius), hi = MIN (n - 1, i + radius);
    if (is_max) {
      guint8 v = 0;
      for (int k = lo; k <= hi; k++)
        v = MAX (v, src[k * step]);
      dst[i * step] = v;
    } else {
      /* Edges count as repeated border pixels so feathering does not darken the rim. */
      unsigned sum = 0;
      for (int k = i - radius; k <= i + radius; k++)
        sum += src[CLAMP (k, 0, n - 1) * step];
      dst[i * step] = (guint8) ((sum + radius) / (2 * radius + 1));
    }
  }
}

static gboolean
separable (TesseraMaskBuf *m, int radius, gboolean is_max)
{
  if (radius <= 0)
    return TRUE;
  gsize size = (gsize) m->stride * m->height;
  guint8 *tmp = g_try_malloc (size);
  if (!tmp)
    return FALSE;
  for (int y = 0; y < m->height; y++)
    pass_1d (m->data + (gsize) y * m->stride, tmp + (gsize) y * m->stride, m->width, 1, radius,
             is_max);
  for (int x = 0; x < m->width; x++)
    pass_1d (tmp + x, m->data + x, m->height, m->stride, radius, is_max);
  g_free (tmp);
  return TRUE;
}

gboolean
tessera_mask_grow (TesseraMaskBuf *m, int radius)
{
  return separable (m, radius, TRUE);
}

gboolean
tessera_mask_feather (TesseraMaskBuf *m, int radius)
{
  /* Two box passes approximate a tent, which is smooth enough for compositing. */
  int r1 = (radius + 1) / 2, r2 = radius / 2;
  return separable (m, r1, FALSE) && separable (m, r2, FALSE);
}

void
tessera_mask_fill_rect (TesseraMaskBuf *m, const TesseraRect *r, guint8 value)
{
  TesseraRect c = *r;
  tessera_rect_clip (&c, m->width, m->height);
  for (int y = c.y; y < c.y + c.height; y++)
    memset (m->data + (gsize) y * m->stride + c.x, value, c.width);
}

static int
compare_doubles (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

TesseraRect
tessera_mask_fill_polygon (TesseraMaskBuf *m, const double *xy, gsize n, guint8 value)
{
  TesseraRect done = { 0 };
  if (n < 3)
    return done;
  double top = xy[1], bottom = xy[1];
  for (gsize i = 1; i < n; i++) {
    top = MIN (top, xy[2 * i + 1]);
    bottom = MAX (bottom, xy[2 * i + 1]);
  }
  int y0 = MAX (0, (int) floor (top)), y1 = MIN (m->height - 1, (int) ceil (bottom));
  g_autofree double *cross = g_new (double, n);
  /* Scan lines through the pixel centres: where edges cross a line, pairs of crossings
   * bound the inside. */
  for (int y = y0; y <= y1; y++) {
    double cy = y + 0.5;
    gsize n_cross = 0;
    for (gsize i = 0; i < n; i++) {
      double ax = xy[2 * i], ay = xy[2 * i + 1];
      double bx = xy[2 * ((i + 1) % n)], by = xy[2 * ((i + 1) % n) + 1];
      /* Half-open in y, so a vertex on the line counts once. */
      if ((ay <= cy && by > cy) || (by <= cy && ay > cy))
        cross[n_cross++] = ax + (cy - ay) / (by - ay) * (bx - ax);
    }
    qsort (cross, n_cross, sizeof *cross, compare_doubles);
    guint8 *row = m->data + (gsize) y * m->stride;
    for (gsize k = 0; k + 1 < n_cross; k += 2) {
      /* Pixels whose centre x + 0.5 lies in [cross[k], cross[k + 1]). */
      int xa = MAX (0, (int) ceil (cross[k] - 0.5));
      int xb = MIN (m->width, (int) ceil (cross[k + 1] - 0.5));
      if (xb <= xa)
        continue;
      memset (row + xa, value, xb - xa);
      tessera_rect_union (&done, &(TesseraRect) { xa, y, xb - xa, 1 });
    }
  }
  return done;
}

gsize
tessera_mask_count (const TesseraMaskBuf *m, guint8 threshold)
{
  gsize n = 0;
  for (int y = 0; y < m->height; y++) {
    const guint8 *row = m->data + (gsize) y * m->stride;
    for (int x = 0; x < m->width; x++)
      n += row[x] >= threshold && row[x] > 0;
  }
  return n;
}

TesseraRect
tessera_mask_bounds (const TesseraMaskBuf *m)
{
  int x0 = m->width, y0 = m->height, x1 = -1, y1 = -1;
  for (int y = 0; y < m->height; y++) {
    const guint8 *row = m->data + (gsize) y * m->stride;
    for (int x = 0; x < m->width; x++) {
      if (!row[x])
        continue;
      x0 = MIN (x0, x); x1 = MAX (x1, x);
      y0 = MIN (y0, y); y1 = MAX (y1, y);
    }
  }
  if (x1 < 0)
    return (TesseraRect) { 0 };
  return (TesseraRect) { x0, y0, x1 - x0 + 1, y1 - y0 + 1 };
}
