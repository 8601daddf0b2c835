/* tessera-canvas-tools.c — what a drag on the canvas does: brush strokes into the mask,
 * outpaint handles, moving the native-size frame, rectangle and lasso selections. */
#include "tessera-canvas-private.h"

#include <math.h>
#include <string.h>

/* ---- painting ---- */

void
tessera_canvas_set_brush (TesseraCanvas *self, double size, double hardness, gboolean erase)
{
  self->brush = (TesseraBrush) { MAX (1.0, size), CLAMP (hardness, 0.0, 1.0), erase };
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

const TesseraBrush *
tessera_canvas_get_brush (TesseraCanvas *self)
{
  return &self->brush;
}

void
tessera_canvas_stroke_begin (TesseraCanvas *self, double wx, double wy, double pressure)
{
  if (!self->document)
    return;
  tessera_canvas_widget_to_image (self, wx, wy, &self->last_x, &self->last_y);
  self->last_p = pressure;
  self->stroking = TRUE;
  self->stroke_changed = TRUE;
  tessera_document_dab (self->document, &self->brush, self->last_x, self->last_y, pressure);
}

void
tessera_canvas_stroke_to (TesseraCanvas *self, double wx, double wy, double pressure)
{
  if (!self->stroking)
    return;
  double ix, iy;
  tessera_canvas_widget_to_image (self, wx, wy, &ix, &iy);
  tessera_document_paint (self->document, &self->brush, self->last_x, self->last_y,
                          self->last_p, ix, iy, pressure);
  self->last_x = ix;
  self->last_y = iy;
  self->last_p = pressure;
}

void
tessera_canvas_stroke_end (TesseraCanvas *self)
{
  if (!self->stroking)
    return;
  self->stroking = FALSE;
  if (self->stroke_changed)
    g_signal_emit_by_name (self, "stroke-finished");
}

guint
tessera_canvas_take_tile_uploads (TesseraCanvas *self)
{
  return tessera_tiles_take_builds (self->tiles);
}

/* ---- handles, frame, selections ---- */

void
tessera_canvas_set_tool (TesseraCanvas *self, TesseraCanvasTool tool)
{
  self->tool = tool;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

TesseraCanvasTool
tessera_canvas_get_tool (TesseraCanvas *self)
{
  return self->tool;
}

/* The picture's rectangle in widget coordinates. */
graphene_rect_t
tessera_canvas_picture_rect (TesseraCanvas *self)
{
  return GRAPHENE_RECT_INIT (self->pan_x, self->pan_y, doc_w (self) * self->zoom,
                             doc_h (self) * self->zoom);
}

gboolean
tessera_canvas_handles_shown (TesseraCanvas *self)
{
  return self->document && !self->before && !self->progress && !self->preview;
}

/* Where a side's handle is drawn: outside the middle of that edge of the canvas, the
 * extension being dragged included, so handles follow the edge as it moves. */
graphene_rect_t
tessera_canvas_handle_rect (TesseraCanvas *self, TesseraCanvasSide side)
{
  graphene_rect_t p = tessera_canvas_picture_rect (self);
  const int *e = self->extension;
  double z = self->zoom;
  double left = p.origin.x - e[0] * z, right = p.origin.x + p.size.width + e[2] * z;
  double top = p.origin.y - e[1] * z, bottom = p.origin.y + p.size.height + e[3] * z;
  double cx = (left + right) / 2, cy = (top + bottom) / 2;
  switch (side) {
  case TESSERA_CANVAS_SIDE_LEFT:
    return GRAPHENE_RECT_INIT (left - HANDLE_GAP - HANDLE_THICKNESS, cy - HANDLE_LENGTH / 2,
                               HANDLE_THICKNESS, HANDLE_LENGTH);
  case TESSERA_CANVAS_SIDE_RIGHT:
    return GRAPHENE_RECT_INIT (right + HANDLE_GAP, cy - HANDLE_LENGTH / 2, HANDLE_THICKNESS,
                               HANDLE_LENGTH);
  case TESSERA_CANVAS_SIDE_TOP:
    return GRAPHENE_RECT_INIT (cx - HANDLE_LENGTH / 2, top - HANDLE_GAP - HANDLE_THICKNESS,
                               HANDLE_LENGTH, HANDLE_THICKNESS);
  case TESSERA_CANVAS_SIDE_BOTTOM:
  default:
    return GRAPHENE_RECT_INIT (cx - HANDLE_LENGTH / 2, bottom + HANDLE_GAP, HANDLE_LENGTH,
                               HANDLE_THICKNESS);
  }
}

gboolean
tessera_canvas_handle_at (TesseraCanvas *self, double wx, double wy, TesseraCanvasSide *side)
{
  if (!tessera_canvas_handles_shown (self))
    return FALSE;
  for (int s = 0; s < 4; s++) {
    graphene_rect_t r = tessera_canvas_handle_rect (self, s);
    graphene_rect_inset (&r, -HANDLE_REACH, -HANDLE_REACH);
    if (graphene_rect_contains_point (&r, &GRAPHENE_POINT_INIT (wx, wy))) {
      *side = s;
      return TRUE;
    }
  }
  return FALSE;
}

gboolean
tessera_canvas_get_handle_center (TesseraCanvas *self, TesseraCanvasSide side, double *wx,
                                  double *wy)
{
  if (!tessera_canvas_handles_shown (self))
    return FALSE;
  graphene_rect_t r = tessera_canvas_handle_rect (self, side);
  *wx = r.origin.x + r.size.width / 2;
  *wy = r.origin.y + r.size.height / 2;
  return TRUE;
}

void
tessera_canvas_get_pending_extension (TesseraCanvas *self, int extension[4])
{
  memcpy (extension, self->extension, sizeof self->extension);
}

/* A drag of `distance` picture pixels outwards, in whole tokens (the model generates whole
 * tokens; a part of one would be cut off or stretched). */
static int
snap_extension (TesseraCanvas *self, double distance)
{
  int token = MAX (1, self->token_size);
  return MAX (0, (int) floor (distance / token + 0.5)) * token;
}

gboolean
tessera_canvas_frame_shown (TesseraCanvas *self)
{
  return self->document && self->frame_visible && self->frame_size > 0 && !self->before;
}

/* The frame's rectangle in widget coordinates. */
graphene_rect_t
tessera_canvas_frame_rect (TesseraCanvas *self)
{
  double x, y;
  tessera_canvas_image_to_widget (self, self->frame_x, self->frame_y, &x, &y);
  return GRAPHENE_RECT_INIT (x, y, self->frame_size * self->zoom, self->frame_size * self->zoom);
}

/* On the frame's outline (inside or out), where a drag moves it; its inside stays paintable. */
gboolean
tessera_canvas_frame_border_at (TesseraCanvas *self, double wx, double wy)
{
  if (!tessera_canvas_frame_shown (self))
    return FALSE;
  graphene_rect_t outer = tessera_canvas_frame_rect (self), inner = outer;
  graphene_rect_inset (&outer, -FRAME_REACH, -FRAME_REACH);
  graphene_point_t p = GRAPHENE_POINT_INIT (wx, wy);
  if (!graphene_rect_contains_point (&outer, &p))
    return FALSE;
  if (inner.size.width <= 4 * FRAME_REACH || inner.size.height <= 4 * FRAME_REACH)
    return TRUE;   /* too small on screen to paint inside: all of it moves the frame */
  graphene_rect_inset (&inner, FRAME_REACH, FRAME_REACH);
  return !graphene_rect_contains_point (&inner, &p);
}

/* Keeps the frame inside the picture (at the top-left when it is the larger). */
void
tessera_canvas_move_frame (TesseraCanvas *self, int x, int y)
{
  x = CLAMP (x, 0, MAX (0, doc_w (self) - self->frame_size));
  y = CLAMP (y, 0, MAX (0, doc_h (self) - self->frame_size));
  if (x != self->frame_x) {
    self->frame_x = x;
    g_object_notify (G_OBJECT (self), "frame-x");
  }
  if (y != self->frame_y) {
    self->frame_y = y;
    g_object_notify (G_OBJECT (self), "frame-y");
  }
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

/* The mask with a rectangle or polygon (picture coordinates) set, or cleared when the
 * selection subtracts; one ::changed for the document, one ::selection-finished for history. */
static void
commit_selection (TesseraCanvas *self, const TesseraRect *rect, const double *polygon,
                  gsize n_points)
{
  g_autoptr (GBytes) before = tessera_document_get_mask_bytes (self->document);
  if (!before)
    return;
  gsize size;
  guint8 *data = g_bytes_unref_to_data (g_steal_pointer (&before), &size);
  TesseraMaskBuf m = { data, doc_w (self), doc_h (self), doc_w (self) };
  guint8 value = self->drag_subtract ? 0 : 255;
  if (rect)
    tessera_mask_fill_rect (&m, rect, value);
  else
    tessera_mask_fill_polygon (&m, polygon, n_points, value);
  g_autoptr (GBytes) after = g_bytes_new_take (data, size);
  if (tessera_document_set_mask_bytes (self->document, after, NULL))
    g_signal_emit_by_name (self, "selection-finished", (int) self->tool,
                   self->drag_subtract);
}

/* The selection rectangle so far, in picture pixels (whole pixels, corners rounded). */
static TesseraRect
selection_rect (TesseraCanvas *self)
{
  double ax, ay, bx, by;
  tessera_canvas_widget_to_image (self, MIN (self->drag_x0, self->drag_x),
                                  MIN (self->drag_y0, self->drag_y), &ax, &ay);
  tessera_canvas_widget_to_image (self, MAX (self->drag_x0, self->drag_x),
                                  MAX (self->drag_y0, self->drag_y), &bx, &by);
  int x0 = (int) round (ax), y0 = (int) round (ay), x1 = (int) round (bx), y1 = (int) round (by);
  return (TesseraRect) { x0, y0, x1 - x0, y1 - y0 };
}

static void
lasso_add (TesseraCanvas *self, double wx, double wy)
{
  double p[2];
  tessera_canvas_widget_to_image (self, wx, wy, &p[0], &p[1]);
  g_array_append_vals (self->lasso, p, 2);
}

void
tessera_canvas_drag_begin (TesseraCanvas *self, double wx, double wy, double pressure,
                           GdkModifierType mods)
{
  self->drag = DRAG_NONE;
  if (!self->document)
    return;
  self->drag_x0 = self->drag_x = wx;
  self->drag_y0 = self->drag_y = wy;
  self->drag_subtract = (mods & GDK_CONTROL_MASK) != 0;
  TesseraCanvasSide side;
  if (self->space_down) {
    self->drag = DRAG_PAN;
    self->panning = TRUE;
    self->drag_pan_x = self->pan_x;
    self->drag_pan_y = self->pan_y;
  } else if (tessera_canvas_handle_at (self, wx, wy, &side)) {
    self->drag = DRAG_EXTEND;
    self->extend_side = side;
    memset (self->extension, 0, sizeof self->extension);
  } else if (tessera_canvas_frame_border_at (self, wx, wy)) {
    self->drag = DRAG_FRAME;
    self->drag_frame_x = self->frame_x;
    self->drag_frame_y = self->frame_y;
  } else if (self->tool == TESSERA_CANVAS_TOOL_RECTANGLE) {
    self->drag = DRAG_RECTANGLE;
  } else if (self->tool == TESSERA_CANVAS_TOOL_LASSO) {
    self->drag = DRAG_LASSO;
    g_array_set_size (self->lasso, 0);
    lasso_add (self, wx, wy);
  } else {
    self->drag = DRAG_STROKE;
    tessera_canvas_stroke_begin (self, wx, wy, pressure);
  }
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
tessera_canvas_drag_update (TesseraCanvas *self, double wx, double wy, double pressure)
{
  double dx = wx - self->drag_x0, dy = wy - self->drag_y0;
  switch (self->drag) {
  case DRAG_PAN:
    self->pan_x = self->drag_pan_x + dx;
    self->pan_y = self->drag_pan_y + dy;
    self->fit = FALSE;
    break;
  case DRAG_STROKE:
    tessera_canvas_stroke_to (self, wx, wy, pressure);
    break;
  case DRAG_LASSO:
    /* A point per widget pixel or two is as fine as a hand draws. */
    if (hypot (wx - self->drag_x, wy - self->drag_y) < 1.5)
      return;
    lasso_add (self, wx, wy);
    break;
  case DRAG_EXTEND: {
    static const int outwards_x[4] = { -1, 0, 1, 0 }, outwards_y[4] = { 0, -1, 0, 1 };
    int s = self->extend_side;
    double distance = (dx * outwards_x[s] + dy * outwards_y[s]) / self->zoom;
    self->extension[s] = snap_extension (self, distance);
    break;
  }
  case DRAG_FRAME:
    tessera_canvas_move_frame (self, self->drag_frame_x + (int) round (dx / self->zoom),
                self->drag_frame_y + (int) round (dy / self->zoom));
    break;
  case DRAG_RECTANGLE:
  case DRAG_NONE:
  default:
    break;
  }
  self->drag_x = wx;
  self->drag_y = wy;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
tessera_canvas_drag_end (TesseraCanvas *self)
{
  DragKind drag = self->drag;
  self->drag = DRAG_NONE;
  self->panning = FALSE;
  switch (drag) {
  case DRAG_STROKE:
    tessera_canvas_stroke_end (self);
    break;
  case DRAG_RECTANGLE: {
    TesseraRect r = selection_rect (self);
    if (!tessera_rect_is_empty (&r))
      commit_selection (self, &r, NULL, 0);
    break;
  }
  case DRAG_LASSO:
    if (self->lasso->len >= 6)
      commit_selection (self, NULL, (const double *) self->lasso->data, self->lasso->len / 2);
    g_array_set_size (self->lasso, 0);
    break;
  case DRAG_EXTEND: {
    int e[4];
    memcpy (e, self->extension, sizeof e);
    memset (self->extension, 0, sizeof self->extension);
    if (e[0] || e[1] || e[2] || e[3])
      g_signal_emit_by_name (self, "extend-requested", e[0], e[1], e[2], e[3]);
    break;
  }
  case DRAG_PAN:
  case DRAG_FRAME:
  case DRAG_NONE:
  default:
    break;
  }
  gtk_widget_queue_draw (GTK_WIDGET (self));
}
