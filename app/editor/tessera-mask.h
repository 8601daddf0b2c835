/* tessera-mask.h — the pixel mask: brush stamps, strokes and whole-mask operations.
 *
 * Plain functions over an 8-bit buffer (0 = keep, 255 = regenerate), so the document can be
 * tested without a display and the canvas only redraws what a stamp touched. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
  int x, y, width, height;
} TesseraRect;

typedef struct {
  guint8 *data;
  int width;
  int height;
  int stride;
} TesseraMaskBuf;

typedef struct {
  double size;      /* diameter in image pixels at full pressure */
  double hardness;  /* 0 = soft falloff from the centre, 1 = hard edge */
  gboolean erase;
} TesseraBrush;

gboolean tessera_rect_is_empty (const TesseraRect *r);
void     tessera_rect_union (TesseraRect *acc, const TesseraRect *r);
void     tessera_rect_clip (TesseraRect *r, int width, int height);

/* One brush dab at (x, y) scaled by pressure (0..1]. Returns the touched area. */
TesseraRect tessera_mask_stamp (TesseraMaskBuf *m, const TesseraBrush *b, double x, double y,
                                double pressure);
/* Dabs from (x0, y0) to (x1, y1), spaced so the stroke looks continuous, excluding the start
 * point (the previous segment already stamped it). */
TesseraRect tessera_mask_segment (TesseraMaskBuf *m, const TesseraBrush *b, double x0, double y0,
                                  double p0, double x1, double y1, double p1);

void tessera_mask_fill (TesseraMaskBuf *m, guint8 value);
void tessera_mask_invert (TesseraMaskBuf *m);
/* Dilate by radius pixels (square neighbourhood, separable max). */
gboolean tessera_mask_grow (TesseraMaskBuf *m, int radius);
/* Soften the edge with a box blur of the given radius (two passes ≈ a tent filter). */
gboolean tessera_mask_feather (TesseraMaskBuf *m, int radius);
/* Selections: every pixel of the rectangle (clipped to the mask) set to value. */
void tessera_mask_fill_rect (TesseraMaskBuf *m, const TesseraRect *r, guint8 value);
/* Every pixel whose centre lies inside the closed polygon (n points, x y pairs; even-odd
 * rule, so a lasso that crosses itself leaves the crossed part out) set to value. Returns
 * the rectangle of the pixels set. */
TesseraRect tessera_mask_fill_polygon (TesseraMaskBuf *m, const double *xy, gsize n,
                                       guint8 value);
/* Number of pixels at or above the threshold. */
gsize tessera_mask_count (const TesseraMaskBuf *m, guint8 threshold);
/* Bounding box of the non-zero pixels; empty when the mask is clear. */
TesseraRect tessera_mask_bounds (const TesseraMaskBuf *m);

G_END_DECLS
