/* tessera-canvas-private.h — the canvas's state, shared by the files that implement it, one
 * job each: tessera-canvas.c (the widget, zoom and pan, overlays, the document), -draw.c (what
 * it draws), -tools.c (brush strokes, outpaint handles, the frame, selections) and -input.c
 * (pointer, stylus, scroll, pinch and keys to those). */
#pragma once

#include "tessera-canvas.h"

#include "tessera-tiles.h"

G_BEGIN_DECLS

#define MIN_ZOOM (1.0 / 32)
#define MAX_ZOOM 64.0
#define ZOOM_STEP 1.25

/* Outpaint handles, in widget pixels: a bar this long and thick, this far outside the edge;
 * the pointer finds it within HANDLE_REACH of it. */
#define HANDLE_LENGTH 44.0
#define HANDLE_THICKNESS 8.0
#define HANDLE_GAP 4.0
#define HANDLE_REACH 6.0
/* The frame moves when dragged within this many widget pixels of its outline. */
#define FRAME_REACH 8.0

typedef enum {
  DRAG_NONE,
  DRAG_PAN,
  DRAG_STROKE,
  DRAG_RECTANGLE,
  DRAG_LASSO,
  DRAG_EXTEND,
  DRAG_FRAME,
} DragKind;

struct _TesseraCanvas {
  GtkWidget parent_instance;

  TesseraDocument *document;
  gulong changed_id;

  /* widget = image * zoom + pan */
  double zoom, pan_x, pan_y;
  gboolean fit;

  TesseraTiles *tiles;   /* the picture and the tinted mask as textures, zoomed out */
  guint zoom_changed_idle;

  TesseraBrush brush;
  gboolean stroking;
  double last_x, last_y, last_p;   /* image coordinates */
  gboolean stroke_changed;

  gboolean space_down, panning;
  double drag_pan_x, drag_pan_y;
  double pointer_x, pointer_y;
  gboolean pointer_inside;
  double pinch_zoom;

  TesseraJobProgress *progress;
  TesseraRect progress_area;
  GdkTexture *preview;              /* drawn zoomed out… */
  cairo_surface_t *preview_pixels;  /* …and this, the same picture, zoomed in */
  GdkTexture *before;
  cairo_surface_t *before_pixels;
  double split;
  gboolean side_by_side;

  TesseraCanvasTool tool;
  DragKind drag;
  double drag_x0, drag_y0, drag_x, drag_y;   /* widget coordinates: start, now */
  gboolean drag_subtract;                    /* the selection removes from the mask */
  GArray *lasso;                             /* image x, y pairs (doubles) */
  TesseraCanvasSide extend_side;
  int extension[4];                          /* picture pixels a handle drag would add */
  int token_size;                            /* extensions come in multiples of it */

  gboolean frame_visible;
  int frame_x, frame_y, frame_size;          /* picture pixels */
  int drag_frame_x, drag_frame_y;
};

enum {
  SIGNAL_STROKE_FINISHED,
  SIGNAL_ZOOM_CHANGED,
  SIGNAL_EXTEND_REQUESTED,
  SIGNAL_SELECTION_FINISHED,
  N_SIGNALS
};

enum {
  PROP_0,
  PROP_TOKEN_SIZE,
  PROP_FRAME_VISIBLE,
  PROP_FRAME_X,
  PROP_FRAME_Y,
  PROP_FRAME_SIZE,
  N_PROPS
};

/* The picture's size in pixels (1 without a document, so scales never divide by 0). */
static inline int
doc_w (TesseraCanvas *self)
{
  return self->document ? tessera_document_get_width (self->document) : 1;
}

static inline int
doc_h (TesseraCanvas *self)
{
  return self->document ? tessera_document_get_height (self->document) : 1;
}

/* tessera-canvas-draw.c: GtkWidget::snapshot */
void tessera_canvas_snapshot (GtkWidget *widget, GtkSnapshot *snapshot);

/* tessera-canvas-input.c: the widget's event controllers */
void tessera_canvas_add_controllers (TesseraCanvas *self);

/* tessera-canvas-tools.c */
/* The picture's rectangle in widget coordinates. */
graphene_rect_t tessera_canvas_picture_rect (TesseraCanvas *self);
gboolean        tessera_canvas_handles_shown (TesseraCanvas *self);
/* Where a side's handle is drawn: outside the middle of that edge of the canvas, the
 * extension being dragged included, so handles follow the edge as it moves. */
graphene_rect_t tessera_canvas_handle_rect (TesseraCanvas *self, TesseraCanvasSide side);
/* The handle under widget point (wx, wy), if any. */
gboolean        tessera_canvas_handle_at (TesseraCanvas *self, double wx, double wy,
                                          TesseraCanvasSide *side);
gboolean        tessera_canvas_frame_shown (TesseraCanvas *self);
/* The frame's rectangle in widget coordinates. */
graphene_rect_t tessera_canvas_frame_rect (TesseraCanvas *self);
/* On the frame's outline (inside or out), where a drag moves it; its inside stays
 * paintable. */
gboolean        tessera_canvas_frame_border_at (TesseraCanvas *self, double wx, double wy);
/* Keeps the frame inside the picture (at the top-left when it is the larger). */
void            tessera_canvas_move_frame (TesseraCanvas *self, int x, int y);

G_END_DECLS
