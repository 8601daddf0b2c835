/* tessera-canvas.h — shows a TesseraDocument at any zoom and edits its mask.
 *
 * Zoomed out or at 100 % the picture is drawn from 256² texture tiles, and a brush dab only
 * rebuilds the tiles it touched; zoomed in, the visible pixels are drawn with nearest
 * filtering so every image pixel is a crisp square.
 *
 * On top of the picture: handles on its four edges that extend the canvas by dragging
 * (::extend-requested, snapped to :token-size), a movable native-size frame (:frame-*),
 * rectangle and freehand (lasso) selections into the mask, and Before/After labels while
 * comparing. */
#pragma once

#include <gtk/gtk.h>

#include "tessera-document.h"
#include "tessera-job.h"

G_BEGIN_DECLS

#define TESSERA_TYPE_CANVAS (tessera_canvas_get_type ())
G_DECLARE_FINAL_TYPE (TesseraCanvas, tessera_canvas, TESSERA, CANVAS, GtkWidget)

/* What a drag on the picture does (handles and the frame come first, whatever the tool). */
typedef enum {
  TESSERA_CANVAS_TOOL_BRUSH,       /* paint, or erase with the brush's erase flag */
  TESSERA_CANVAS_TOOL_RECTANGLE,   /* a rectangle into the mask */
  TESSERA_CANVAS_TOOL_LASSO,       /* a freehand outline into the mask */
} TesseraCanvasTool;

/* The picture's sides, in the order of ::extend-requested's arguments. */
typedef enum {
  TESSERA_CANVAS_SIDE_LEFT,
  TESSERA_CANVAS_SIDE_TOP,
  TESSERA_CANVAS_SIDE_RIGHT,
  TESSERA_CANVAS_SIDE_BOTTOM,
} TesseraCanvasSide;

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

void              tessera_canvas_set_tool (TesseraCanvas *self, TesseraCanvasTool tool);
TesseraCanvasTool tessera_canvas_get_tool (TesseraCanvas *self);

/* A drag in widget coordinates, as the pointer, touch and stylus gestures make it (tests call
 * these too): on an edge handle it extends the canvas, on the frame's border it moves the
 * frame, else it does what the tool does. `mods`: Ctrl makes a selection subtract from the
 * mask instead of adding to it. Space held down pans instead. */
void tessera_canvas_drag_begin (TesseraCanvas *self, double wx, double wy, double pressure,
                                GdkModifierType mods);
void tessera_canvas_drag_update (TesseraCanvas *self, double wx, double wy, double pressure);
void tessera_canvas_drag_end (TesseraCanvas *self);

/* Outpaint handles: the centre of a side's handle, in widget coordinates (FALSE while they
 * are hidden: comparing, or a request on show), and the extension a drag in progress would
 * make (picture pixels, left top right bottom). */
gboolean tessera_canvas_get_handle_center (TesseraCanvas *self, TesseraCanvasSide side,
                                           double *wx, double *wy);
void     tessera_canvas_get_pending_extension (TesseraCanvas *self, int extension[4]);

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
/* Instead of the slider: before on the left half, after on the right, same zoom and spot. */
void     tessera_canvas_set_side_by_side (TesseraCanvas *self, gboolean side_by_side);
gboolean tessera_canvas_get_side_by_side (TesseraCanvas *self);

/* Number of texture tiles rebuilt since the last call (tests check that a dab rebuilds only
 * the tiles it touched). */
guint tessera_canvas_take_tile_uploads (TesseraCanvas *self);

G_END_DECLS
