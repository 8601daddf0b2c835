/* tessera-canvas.h — shows a TesseraDocument at any zoom and paints its mask.
 *
 * Zoomed out or at 100 % the picture is drawn from 256² texture tiles, and a brush dab only
 * rebuilds the tiles it touched; zoomed in, the visible pixels are drawn with nearest
 * filtering so every image pixel is a crisp square. */
#pragma once

#include <gtk/gtk.h>

#include "tessera-document.h"
#include "tessera-job.h"

G_BEGIN_DECLS

#define TESSERA_TYPE_CANVAS (tessera_canvas_get_type ())
G_DECLARE_FINAL_TYPE (TesseraCanvas, tessera_canvas, TESSERA, CANVAS, GtkWidget)

GtkWidget       *tessera_canvas_new (void);
void             tessera_canvas_set_document (TesseraCanvas *self, TesseraDocument *document);
TesseraDocument *tessera_canvas_get_document (TesseraCanvas *self);

/* Zoom: image pixels per widget pixel… inverted: widget pixels per image pixel. */
double   tessera_canvas_get_zoom (TesseraCanvas *self);
/* Zoom keeping the image point under widget point (cx, cy) fixed. */
void     tessera_canvas_zoom_at (TesseraCanvas *self, double zoom, double cx, double cy);
void     tessera_canvas_zoom_in (TesseraCanvas *self);
void     tessera_canvas_zoom_out (TesseraCanvas *self);
void     tessera_canvas_zoom_fit (TesseraCanvas *self);
void     tessera_canvas_zoom_actual (TesseraCanvas *self);
gboolean tessera_canvas_get_fit (TesseraCanvas *self);
void     tessera_canvas_pan (TesseraCanvas *self, double dx, double dy);
void     tessera_canvas_widget_to_image (TesseraCanvas *self, double wx, double wy, double *ix,
                                         double *iy);
void     tessera_canvas_image_to_widget (TesseraCanvas *self, double ix, double iy, double *wx,
                                         double *wy);

/* Brush settings. */
void tessera_canvas_set_brush (TesseraCanvas *self, double size, double hardness,
                               gboolean erase);
const TesseraBrush *tessera_canvas_get_brush (TesseraCanvas *self);

/* A stroke in widget coordinates; the gestures call these and so can tests.
 * ::stroke-finished is emitted at the end of a stroke that changed the mask. */
void tessera_canvas_stroke_begin (TesseraCanvas *self, double wx, double wy, double pressure);
void tessera_canvas_stroke_to (TesseraCanvas *self, double wx, double wy, double pressure);
void tessera_canvas_stroke_end (TesseraCanvas *self);

/* Live preview of tokens being revealed over the image rectangle `area`; NULL ends it. */
void tessera_canvas_set_progress (TesseraCanvas *self, const TesseraJobProgress *progress,
                                  const TesseraRect *area);
/* Show this straight-RGBA picture (document size) instead of the document, e.g. a hovered
 * variant; NULL shows the document again. */
void tessera_canvas_set_preview (TesseraCanvas *self, GBytes *rgba);
/* Before/after: `before` (document-size straight RGBA) left of the divider at `split`
 * (0..1 of the image width); NULL ends comparing. */
void   tessera_canvas_set_compare (TesseraCanvas *self, GBytes *before);
void   tessera_canvas_set_split (TesseraCanvas *self, double split);
double tessera_canvas_get_split (TesseraCanvas *self);
/* Instead of the slider: before on the left half, after on the right, same zoom and spot. */
void     tessera_canvas_set_side_by_side (TesseraCanvas *self, gboolean side_by_side);
gboolean tessera_canvas_get_side_by_side (TesseraCanvas *self);

/* Number of texture tiles rebuilt since the last call (tests check that a dab rebuilds only
 * the tiles it touched). */
guint tessera_canvas_take_tile_uploads (TesseraCanvas *self);

G_END_DECLS
