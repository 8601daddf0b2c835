/* tessera-canvas-input.c — pointer, stylus, scroll, pinch and key events to the canvas's
 * tools, zoom and pan, and the cursor that says what a drag would do. */
#include "tessera-canvas-private.h"

#include <math.h>

/* ---- input ---- */

static gboolean
event_has_tool (GtkEventController *c)
{
  GdkEvent *e = gtk_event_controller_get_current_event (c);
  return e && gdk_event_get_device_tool (e) != NULL;
}

static void
on_paint_begin (GtkGestureDrag *g, double x, double y, TesseraCanvas *self)
{
  /* Tablet events belong to the stylus gesture, which knows the pressure. */
  if (event_has_tool (GTK_EVENT_CONTROLLER (g)) || self->before) {
    gtk_gesture_set_state (GTK_GESTURE (g), GTK_EVENT_SEQUENCE_DENIED);
    return;
  }
  gtk_gesture_set_state (GTK_GESTURE (g), GTK_EVENT_SEQUENCE_CLAIMED);
  GdkModifierType mods = gtk_event_controller_get_current_event_state (GTK_EVENT_CONTROLLER (g));
  tessera_canvas_drag_begin (self, x, y, 1.0, mods);
}

static void
on_paint_update (GtkGestureDrag *g, double dx, double dy, TesseraCanvas *self)
{
  double sx, sy;
  gtk_gesture_drag_get_start_point (g, &sx, &sy);
  self->pointer_x = sx + dx;
  self->pointer_y = sy + dy;
  tessera_canvas_drag_update (self, sx + dx, sy + dy, 1.0);
}

static void
on_paint_end (GtkGestureDrag *g, double dx, double dy, TesseraCanvas *self)
{
  tessera_canvas_drag_end (self);
}

static void
on_pan_begin (GtkGestureDrag *g, double x, double y, TesseraCanvas *self)
{
  self->panning = TRUE;
  self->drag_pan_x = self->pan_x;
  self->drag_pan_y = self->pan_y;
}

static void
on_pan_update (GtkGestureDrag *g, double dx, double dy, TesseraCanvas *self)
{
  self->pan_x = self->drag_pan_x + dx;
  self->pan_y = self->drag_pan_y + dy;
  self->fit = FALSE;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
on_pan_end (GtkGestureDrag *g, double dx, double dy, TesseraCanvas *self)
{
  self->panning = FALSE;
}

static double
stylus_pressure (GtkGestureStylus *g)
{
  double p;
  return gtk_gesture_stylus_get_axis (g, GDK_AXIS_PRESSURE, &p) ? p : 1.0;
}

static gboolean
stylus_erases (GtkGestureStylus *g)
{
  GdkDeviceTool *tool = gtk_gesture_stylus_get_device_tool (g);
  return tool && gdk_device_tool_get_tool_type (tool) == GDK_DEVICE_TOOL_TYPE_ERASER;
}

static void
on_stylus_down (GtkGestureStylus *g, double x, double y, TesseraCanvas *self)
{
  if (self->before)
    return;
  /* The pen's eraser end erases whatever tool is chosen, for this stroke only. */
  self->brush.erase = self->brush.erase || stylus_erases (g);
  GdkModifierType mods = gtk_event_controller_get_current_event_state (GTK_EVENT_CONTROLLER (g));
  tessera_canvas_drag_begin (self, x, y, stylus_pressure (g), mods);
}

static void
on_stylus_motion (GtkGestureStylus *g, double x, double y, TesseraCanvas *self)
{
  GdkTimeCoord *backlog;
  guint n;
  self->pointer_x = x;
  self->pointer_y = y;
  self->pointer_inside = TRUE;
  if (self->drag == DRAG_NONE) {
    gtk_widget_queue_draw (GTK_WIDGET (self));
    return;
  }
  /* Replay the samples the compositor coalesced, for smooth curves on fast strokes. */
  if (self->drag == DRAG_STROKE && gtk_gesture_stylus_get_backlog (g, &backlog, &n)) {
    for (guint i = 0; i < n; i++) {
      double p = (backlog[i].flags & GDK_AXIS_FLAG_PRESSURE) ? backlog[i].axes[GDK_AXIS_PRESSURE]
                                                              : 1.0;
      tessera_canvas_stroke_to (self, backlog[i].axes[GDK_AXIS_X], backlog[i].axes[GDK_AXIS_Y],
                                p);
    }
    g_free (backlog);
  }
  tessera_canvas_drag_update (self, x, y, stylus_pressure (g));
}

static void
on_stylus_up (GtkGestureStylus *g, double x, double y, TesseraCanvas *self)
{
  tessera_canvas_drag_end (self);
  if (stylus_erases (g))
    self->brush.erase = FALSE;
}

static gboolean
on_scroll (GtkEventControllerScroll *c, double dx, double dy, TesseraCanvas *self)
{
  GdkModifierType mods = gtk_event_controller_get_current_event_state (GTK_EVENT_CONTROLLER (c));
  /* Touchpads scroll in surface pixels: pan, unless Ctrl asks for zoom. Wheels zoom. */
  if (gtk_event_controller_scroll_get_unit (c) == GDK_SCROLL_UNIT_SURFACE
      && !(mods & GDK_CONTROL_MASK)) {
    tessera_canvas_pan (self, -dx, -dy);
    return TRUE;
  }
  double factor = pow (ZOOM_STEP, -dy);
  tessera_canvas_zoom_at (self, self->zoom * factor, self->pointer_x, self->pointer_y);
  return TRUE;
}

static void
on_pinch_begin (GtkGesture *g, GdkEventSequence *seq, TesseraCanvas *self)
{
  self->pinch_zoom = self->zoom;
}

static void
on_pinch_scale (GtkGestureZoom *g, double scale, TesseraCanvas *self)
{
  double cx, cy;
  if (!gtk_gesture_get_bounding_box_center (GTK_GESTURE (g), &cx, &cy)) {
    cx = self->pointer_x;
    cy = self->pointer_y;
  }
  tessera_canvas_zoom_at (self, self->pinch_zoom * scale, cx, cy);
}

/* The pointer's shape says what a drag from here does. */
static void
update_cursor (TesseraCanvas *self)
{
  TesseraCanvasSide side;
  double px = self->pointer_x, py = self->pointer_y;
  const char *name = "crosshair";
  if (self->space_down || self->panning)
    name = "grab";
  else if (self->drag == DRAG_EXTEND)
    name = self->extend_side % 2 == 0 ? "ew-resize" : "ns-resize";
  else if (self->drag == DRAG_FRAME)
    name = "move";
  else if (self->drag == DRAG_NONE && tessera_canvas_handle_at (self, px, py, &side))
    name = side % 2 == 0 ? "ew-resize" : "ns-resize";
  else if (self->drag == DRAG_NONE && tessera_canvas_frame_border_at (self, px, py))
    name = "move";
  GdkCursor *now = gtk_widget_get_cursor (GTK_WIDGET (self));
  if (!now || g_strcmp0 (gdk_cursor_get_name (now), name) != 0)
    gtk_widget_set_cursor_from_name (GTK_WIDGET (self), name);
}

static void
on_motion (GtkEventControllerMotion *c, double x, double y, TesseraCanvas *self)
{
  self->pointer_x = x;
  self->pointer_y = y;
  self->pointer_inside = TRUE;
  update_cursor (self);
  if (self->before && (gtk_event_controller_get_current_event_state (GTK_EVENT_CONTROLLER (c))
                       & GDK_BUTTON1_MASK)) {
    double ix, iy;
    tessera_canvas_widget_to_image (self, x, y, &ix, &iy);
    tessera_canvas_set_split (self, ix / doc_w (self));
  }
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
on_leave (GtkEventControllerMotion *c, TesseraCanvas *self)
{
  self->pointer_inside = FALSE;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static gboolean
on_key_pressed (GtkEventControllerKey *c, guint keyval, guint keycode, GdkModifierType state,
                TesseraCanvas *self)
{
  if (keyval != GDK_KEY_space)
    return FALSE;
  self->space_down = TRUE;
  update_cursor (self);
  return TRUE;
}

static void
on_key_released (GtkEventControllerKey *c, guint keyval, guint keycode, GdkModifierType state,
                 TesseraCanvas *self)
{
  if (keyval != GDK_KEY_space)
    return;
  self->space_down = FALSE;
  update_cursor (self);
}

static void
on_compare_click (GtkGestureClick *g, int n, double x, double y, TesseraCanvas *self)
{
  if (!self->before)
    return;
  double ix, iy;
  tessera_canvas_widget_to_image (self, x, y, &ix, &iy);
  tessera_canvas_set_split (self, ix / doc_w (self));
}

void
tessera_canvas_add_controllers (TesseraCanvas *self)
{
  GtkWidget *w = GTK_WIDGET (self);
  GtkGesture *paint = gtk_gesture_drag_new ();
  gtk_gesture_single_set_button (GTK_GESTURE_SINGLE (paint), GDK_BUTTON_PRIMARY);
  g_signal_connect (paint, "drag-begin", G_CALLBACK (on_paint_begin), self);
  g_signal_connect (paint, "drag-update", G_CALLBACK (on_paint_update), self);
  g_signal_connect (paint, "drag-end", G_CALLBACK (on_paint_end), self);
  gtk_widget_add_controller (w, GTK_EVENT_CONTROLLER (paint));

  GtkGesture *pan = gtk_gesture_drag_new ();
  gtk_gesture_single_set_button (GTK_GESTURE_SINGLE (pan), GDK_BUTTON_MIDDLE);
  g_signal_connect (pan, "drag-begin", G_CALLBACK (on_pan_begin), self);
  g_signal_connect (pan, "drag-update", G_CALLBACK (on_pan_update), self);
  g_signal_connect (pan, "drag-end", G_CALLBACK (on_pan_end), self);
  gtk_widget_add_controller (w, GTK_EVENT_CONTROLLER (pan));

  GtkGesture *stylus = gtk_gesture_stylus_new ();
  g_signal_connect (stylus, "down", G_CALLBACK (on_stylus_down), self);
  g_signal_connect (stylus, "motion", G_CALLBACK (on_stylus_motion), self);
  g_signal_connect (stylus, "up", G_CALLBACK (on_stylus_up), self);
  gtk_widget_add_controller (w, GTK_EVENT_CONTROLLER (stylus));

  GtkGesture *click = gtk_gesture_click_new ();
  g_signal_connect (click, "pressed", G_CALLBACK (on_compare_click), self);
  gtk_widget_add_controller (w, GTK_EVENT_CONTROLLER (click));

  GtkGesture *pinch = gtk_gesture_zoom_new ();
  g_signal_connect (pinch, "begin", G_CALLBACK (on_pinch_begin), self);
  g_signal_connect (pinch, "scale-changed", G_CALLBACK (on_pinch_scale), self);
  gtk_widget_add_controller (w, GTK_EVENT_CONTROLLER (pinch));

  GtkEventController *scroll = gtk_event_controller_scroll_new (
      GTK_EVENT_CONTROLLER_SCROLL_BOTH_AXES);
  g_signal_connect (scroll, "scroll", G_CALLBACK (on_scroll), self);
  gtk_widget_add_controller (w, scroll);

  GtkEventController *motion = gtk_event_controller_motion_new ();
  g_signal_connect (motion, "motion", G_CALLBACK (on_motion), self);
  g_signal_connect (motion, "leave", G_CALLBACK (on_leave), self);
  gtk_widget_add_controller (w, motion);

  GtkEventController *keys = gtk_event_controller_key_new ();
  g_signal_connect (keys, "key-pressed", G_CALLBACK (on_key_pressed), self);
  g_signal_connect (keys, "key-released", G_CALLBACK (on_key_released), self);
  gtk_widget_add_controller (w, keys);
}
