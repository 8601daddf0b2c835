/* tessera-canvas.c — the picture view: zoom, pan, mask painting, overlays. */
#include "tessera-canvas.h"

#include <math.h>
#include <string.h>

#include "tessera-tiles.h"

#define MIN_ZOOM (1.0 / 32)
#define MAX_ZOOM 64.0
#define ZOOM_STEP 1.25

struct _TesseraCanvas {
  GtkWidget parent_instance;

  TesseraDocument *document;
  gulong changed_id;

  /* widget = image * zoom + pan */
  double zoom, pan_x, pan_y;
  gboolean fit;

  TesseraTiles *tiles;   /* the picture and the tinted mask as textures, zoomed out */

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
  GdkTexture *preview;
  GdkTexture *before;
  double split;
  gboolean side_by_side;
};

G_DEFINE_FINAL_TYPE (TesseraCanvas, tessera_canvas, GTK_TYPE_WIDGET)

enum { SIGNAL_STROKE_FINISHED, SIGNAL_ZOOM_CHANGED, N_SIGNALS };
static guint signals[N_SIGNALS];

/* ---- tiles ---- */

static void
reset_tiles (TesseraCanvas *self)
{
  tessera_tiles_reset (self->tiles, self->document ? tessera_document_get_width (self->document)
                                                   : 0,
                       self->document ? tessera_document_get_height (self->document) : 0);
}

static GdkTexture *
rgba_texture (GBytes *rgba, int w, int h)
{
  return gdk_memory_texture_new (w, h, GDK_MEMORY_R8G8B8A8, rgba, (gsize) w * 4);
}

/* ---- geometry ---- */

static int
doc_w (TesseraCanvas *self)
{
  return self->document ? tessera_document_get_width (self->document) : 1;
}

static int
doc_h (TesseraCanvas *self)
{
  return self->document ? tessera_document_get_height (self->document) : 1;
}

static void
apply_fit (TesseraCanvas *self)
{
  int ww = gtk_widget_get_width (GTK_WIDGET (self)), wh = gtk_widget_get_height (GTK_WIDGET (self));
  if (ww <= 0 || wh <= 0)
    return;
  /* Leave a margin so the picture's edge and the brush circle stay visible. */
  double z = MIN ((ww - 32.0) / doc_w (self), (wh - 32.0) / doc_h (self));
  self->zoom = CLAMP (z, MIN_ZOOM, MAX_ZOOM);
  self->pan_x = (ww - doc_w (self) * self->zoom) / 2;
  self->pan_y = (wh - doc_h (self) * self->zoom) / 2;
}

void
tessera_canvas_widget_to_image (TesseraCanvas *self, double wx, double wy, double *ix, double *iy)
{
  *ix = (wx - self->pan_x) / self->zoom;
  *iy = (wy - self->pan_y) / self->zoom;
}

void
tessera_canvas_image_to_widget (TesseraCanvas *self, double ix, double iy, double *wx, double *wy)
{
  *wx = ix * self->zoom + self->pan_x;
  *wy = iy * self->zoom + self->pan_y;
}

double
tessera_canvas_get_zoom (TesseraCanvas *self)
{
  return self->zoom;
}

gboolean
tessera_canvas_get_fit (TesseraCanvas *self)
{
  return self->fit;
}

static void
zoom_changed (TesseraCanvas *self)
{
  g_signal_emit (self, signals[SIGNAL_ZOOM_CHANGED], 0);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
tessera_canvas_zoom_at (TesseraCanvas *self, double zoom, double cx, double cy)
{
  double ix, iy;
  tessera_canvas_widget_to_image (self, cx, cy, &ix, &iy);
  self->zoom = CLAMP (zoom, MIN_ZOOM, MAX_ZOOM);
  self->pan_x = cx - ix * self->zoom;
  self->pan_y = cy - iy * self->zoom;
  self->fit = FALSE;
  zoom_changed (self);
}

static void
zoom_centre (TesseraCanvas *self, double zoom)
{
  tessera_canvas_zoom_at (self, zoom, gtk_widget_get_width (GTK_WIDGET (self)) / 2.0,
                          gtk_widget_get_height (GTK_WIDGET (self)) / 2.0);
}

void
tessera_canvas_zoom_in (TesseraCanvas *self)
{
  zoom_centre (self, self->zoom * ZOOM_STEP);
}

void
tessera_canvas_zoom_out (TesseraCanvas *self)
{
  zoom_centre (self, self->zoom / ZOOM_STEP);
}

void
tessera_canvas_zoom_fit (TesseraCanvas *self)
{
  self->fit = TRUE;
  apply_fit (self);
  zoom_changed (self);
}

void
tessera_canvas_zoom_actual (TesseraCanvas *self)
{
  zoom_centre (self, 1.0);
  /* Whole pixels, so 100 % maps image pixels onto screen pixels exactly. */
  self->pan_x = round (self->pan_x);
  self->pan_y = round (self->pan_y);
}

void
tessera_canvas_pan (TesseraCanvas *self, double dx, double dy)
{
  self->pan_x += dx;
  self->pan_y += dy;
  self->fit = FALSE;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

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
    g_signal_emit (self, signals[SIGNAL_STROKE_FINISHED], 0);
}

guint
tessera_canvas_take_tile_uploads (TesseraCanvas *self)
{
  return tessera_tiles_take_builds (self->tiles);
}

/* ---- overlays ---- */

void
tessera_canvas_set_progress (TesseraCanvas *self, const TesseraJobProgress *progress,
                             const TesseraRect *area)
{
  g_clear_pointer (&self->progress, g_free);
  if (progress) {
    gsize n = (gsize) progress->n_rows * progress->token_width * progress->token_height;
    self->progress = g_memdup2 (progress, sizeof *progress + n * sizeof (int32_t));
    self->progress_area = *area;
  }
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
tessera_canvas_set_preview (TesseraCanvas *self, GBytes *rgba)
{
  g_clear_object (&self->preview);
  if (rgba && self->document)
    self->preview = rgba_texture (rgba, doc_w (self), doc_h (self));
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
tessera_canvas_set_compare (TesseraCanvas *self, GBytes *before)
{
  g_clear_object (&self->before);
  if (before && self->document)
    self->before = rgba_texture (before, doc_w (self), doc_h (self));
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
tessera_canvas_set_split (TesseraCanvas *self, double split)
{
  self->split = CLAMP (split, 0.0, 1.0);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

double
tessera_canvas_get_split (TesseraCanvas *self)
{
  return self->split;
}

void
tessera_canvas_set_side_by_side (TesseraCanvas *self, gboolean side_by_side)
{
  self->side_by_side = !!side_by_side;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

gboolean
tessera_canvas_get_side_by_side (TesseraCanvas *self)
{
  return self->side_by_side;
}

/* ---- drawing ---- */

static void
draw_checkerboard (GtkSnapshot *snapshot, const graphene_rect_t *r)
{
  /* One flat colour: transparent areas only appear after Outpaint grows the canvas. */
  gtk_snapshot_append_color (snapshot, &(GdkRGBA) { 0.8, 0.8, 0.8, 1 }, r);
}

/* An image coordinate moved to the nearest whole widget pixel, where `origin` is the widget
 * position of image coordinate 0 (the view's translation, side by side's shift included). */
static double
snap_to_pixel (TesseraCanvas *self, double v, double origin)
{
  return (round (v * self->zoom + origin) - origin) / self->zoom;
}

/* The tiles (mask: of the tinted mask) over `visible`; (ox, oy): the widget position of the
 * image's origin. */
static void
draw_tiles (TesseraCanvas *self, GtkSnapshot *snapshot, gboolean mask,
            const graphene_rect_t *visible, double ox, double oy)
{
  int level = tessera_tiles_level_for_zoom (self->zoom);
  int n_x = tessera_tiles_get_n_x (self->tiles), n_y = tessera_tiles_get_n_y (self->tiles);
  for (int ty = 0; ty < n_y; ty++)
    for (int tx = 0; tx < n_x; tx++) {
      graphene_rect_t r = GRAPHENE_RECT_INIT (tx * TESSERA_TILE, ty * TESSERA_TILE,
                                              MIN (TESSERA_TILE, doc_w (self) - tx * TESSERA_TILE),
                                              MIN (TESSERA_TILE, doc_h (self) - ty * TESSERA_TILE));
      if (!graphene_rect_intersection (&r, visible, NULL))
        continue;
      graphene_rect_t where;
      GdkTexture *texture = tessera_tiles_get (self->tiles, self->document, mask, level, tx, ty,
                                               &where);
      if (!texture)
        continue;   /* nothing painted in this part of the mask */
      /* Put tile edges on whole screen pixels, shared by neighbours, so antialiased
       * edges at fractional positions do not show the background as hairline seams (the
       * cairo renderer blends a half-covered edge pixel of each tile with what is below). */
      double x0 = snap_to_pixel (self, r.origin.x, ox), y0 = snap_to_pixel (self, r.origin.y, oy);
      double x1 = snap_to_pixel (self, r.origin.x + r.size.width, ox);
      double y1 = snap_to_pixel (self, r.origin.y + r.size.height, oy);
      r = GRAPHENE_RECT_INIT (x0, y0, x1 - x0, y1 - y0);
      gtk_snapshot_push_clip (snapshot, &r);
      gtk_snapshot_append_texture (snapshot, texture, &where);
      gtk_snapshot_pop (snapshot);
    }
}

/* Zoomed in: nearest-neighbour pixels of the visible part only. */
static void
draw_pixels (TesseraCanvas *self, GtkSnapshot *snapshot, const graphene_rect_t *visible)
{
  int x0 = MAX (0, (int) floor (visible->origin.x));
  int y0 = MAX (0, (int) floor (visible->origin.y));
  int x1 = MIN (doc_w (self), (int) ceil (visible->origin.x + visible->size.width));
  int y1 = MIN (doc_h (self), (int) ceil (visible->origin.y + visible->size.height));
  if (x1 <= x0 || y1 <= y0)
    return;
  graphene_rect_t area = GRAPHENE_RECT_INIT (x0, y0, x1 - x0, y1 - y0);
  /* Copy the visible pixels: the render node keeps its source alive, and cairo forbids
   * marking a surface dirty while a node still snapshots it. */
  cairo_surface_t *doc = tessera_document_get_surface (self->document);
  cairo_surface_flush (doc);
  cairo_surface_t *img = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, x1 - x0, y1 - y0);
  int sstride = cairo_image_surface_get_stride (doc), dstride = cairo_image_surface_get_stride (img);
  for (int y = y0; y < y1; y++)
    memcpy (cairo_image_surface_get_data (img) + (gsize) (y - y0) * dstride,
            cairo_image_surface_get_data (doc) + (gsize) y * sstride + x0 * 4,
            (gsize) (x1 - x0) * 4);
  cairo_surface_mark_dirty (img);
  cairo_t *cr = gtk_snapshot_append_cairo (snapshot, &area);
  cairo_set_source_surface (cr, img, x0, y0);
  cairo_pattern_set_filter (cairo_get_source (cr), CAIRO_FILTER_NEAREST);
  cairo_paint (cr);
  cairo_surface_destroy (img);
  if (tessera_document_get_mask_visible (self->document)) {
    TesseraMaskBuf *m = tessera_document_get_mask (self->document);
    cairo_surface_t *ov = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, x1 - x0, y1 - y0);
    guint32 *px = (guint32 *) cairo_image_surface_get_data (ov);
    int stride = cairo_image_surface_get_stride (ov) / 4;
    for (int y = y0; y < y1; y++)
      for (int x = x0; x < x1; x++) {
        guint8 v = m->data[(gsize) y * m->stride + x];
        px[(y - y0) * stride + (x - x0)] = tessera_tiles_tint (v);
      }
    cairo_surface_mark_dirty (ov);
    cairo_set_source_surface (cr, ov, x0, y0);
    cairo_pattern_set_filter (cairo_get_source (cr), CAIRO_FILTER_NEAREST);
    cairo_paint (cr);
    cairo_surface_destroy (ov);
  }
  cairo_destroy (cr);
}

static void
draw_progress (TesseraCanvas *self, GtkSnapshot *snapshot)
{
  const TesseraJobProgress *p = self->progress;
  int tw = p->token_width, th = p->token_height;
  cairo_surface_t *s = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, tw, th);
  guint32 *px = (guint32 *) cairo_image_surface_get_data (s);
  int stride = cairo_image_surface_get_stride (s) / 4;
  for (int y = 0; y < th; y++)
    for (int x = 0; x < tw; x++) {
      int32_t t = p->tokens[y * tw + x];
      px[y * stride + x] = t == p->mask_id ? 0 : tessera_token_color (t);
    }
  cairo_surface_mark_dirty (s);
  const TesseraRect *a = &self->progress_area;
  graphene_rect_t r = GRAPHENE_RECT_INIT (a->x, a->y, a->width, a->height);
  cairo_t *cr = gtk_snapshot_append_cairo (snapshot, &r);
  cairo_translate (cr, a->x, a->y);
  cairo_scale (cr, (double) a->width / tw, (double) a->height / th);
  cairo_set_source_surface (cr, s, 0, 0);
  cairo_pattern_set_filter (cairo_get_source (cr), CAIRO_FILTER_NEAREST);
  cairo_paint_with_alpha (cr, 0.85);
  cairo_destroy (cr);
  cairo_surface_destroy (s);
}

static void
draw_compare (TesseraCanvas *self, GtkSnapshot *snapshot, const graphene_rect_t *img)
{
  double sx = img->size.width * self->split;
  gtk_snapshot_push_clip (snapshot, &GRAPHENE_RECT_INIT (0, 0, sx, img->size.height));
  gtk_snapshot_append_texture (snapshot, self->before, img);
  gtk_snapshot_pop (snapshot);
  double line = 2.0 / self->zoom;
  gtk_snapshot_append_color (snapshot, &(GdkRGBA) { 1, 1, 1, 0.9 },
                             &GRAPHENE_RECT_INIT (sx - line / 2, 0, line, img->size.height));
}

static void
draw_brush_cursor (TesseraCanvas *self, GtkSnapshot *snapshot)
{
  double r = self->brush.size * self->zoom / 2;
  if (r < 1.5)
    return;
  GskRoundedRect outline;
  gsk_rounded_rect_init_from_rect (&outline,
                                   &GRAPHENE_RECT_INIT (self->pointer_x - r, self->pointer_y - r,
                                                        2 * r, 2 * r), r);
  const GdkRGBA colors[4] = { { 1, 1, 1, 0.9 }, { 1, 1, 1, 0.9 }, { 1, 1, 1, 0.9 },
                              { 1, 1, 1, 0.9 } };
  gtk_snapshot_append_border (snapshot, &outline, (const float[4]) { 1.5, 1.5, 1.5, 1.5 },
                              colors);
}

/* The picture as the view shows it, shifted right by dx widget pixels; `only` draws that
 * texture instead of the document (the "before" half of side by side). */
static void
draw_view (TesseraCanvas *self, GtkSnapshot *snapshot, double dx, GdkTexture *only)
{
  int ww = gtk_widget_get_width (GTK_WIDGET (self)), wh = gtk_widget_get_height (GTK_WIDGET (self));
  graphene_rect_t img = GRAPHENE_RECT_INIT (0, 0, doc_w (self), doc_h (self));
  graphene_rect_t visible;
  double ix0, iy0, ix1, iy1;
  tessera_canvas_widget_to_image (self, -dx, 0, &ix0, &iy0);
  tessera_canvas_widget_to_image (self, ww - dx, wh, &ix1, &iy1);
  graphene_rect_intersection (&img, &GRAPHENE_RECT_INIT (ix0, iy0, ix1 - ix0, iy1 - iy0),
                              &visible);
  gtk_snapshot_save (snapshot);
  gtk_snapshot_translate (snapshot, &GRAPHENE_POINT_INIT (self->pan_x + dx, self->pan_y));
  gtk_snapshot_scale (snapshot, self->zoom, self->zoom);
  draw_checkerboard (snapshot, &img);

  if (only || self->preview) {
    gtk_snapshot_append_texture (snapshot, only ? only : self->preview, &img);
  } else if (self->zoom > 1.0) {
    draw_pixels (self, snapshot, &visible);
  } else {
    double ox = self->pan_x + dx, oy = self->pan_y;
    draw_tiles (self, snapshot, FALSE, &visible, ox, oy);
    if (tessera_document_get_mask_visible (self->document))
      draw_tiles (self, snapshot, TRUE, &visible, ox, oy);
  }
  if (self->before && !self->side_by_side)
    draw_compare (self, snapshot, &img);
  if (self->progress && !only)
    draw_progress (self, snapshot);
  gtk_snapshot_restore (snapshot);
}

static void
tessera_canvas_snapshot (GtkWidget *widget, GtkSnapshot *snapshot)
{
  TesseraCanvas *self = TESSERA_CANVAS (widget);
  if (!self->document)
    return;
  int ww = gtk_widget_get_width (widget), wh = gtk_widget_get_height (widget);
  gtk_snapshot_push_clip (snapshot, &GRAPHENE_RECT_INIT (0, 0, ww, wh));
  if (self->before && self->side_by_side) {
    /* Two views of the same spot, each centred in its half: before left, after right. */
    double half = ww / 2.0;
    gtk_snapshot_push_clip (snapshot, &GRAPHENE_RECT_INIT (0, 0, half, wh));
    draw_view (self, snapshot, -half / 2, self->before);
    gtk_snapshot_pop (snapshot);
    gtk_snapshot_push_clip (snapshot, &GRAPHENE_RECT_INIT (half, 0, ww - half, wh));
    draw_view (self, snapshot, half / 2, NULL);
    gtk_snapshot_pop (snapshot);
    gtk_snapshot_append_color (snapshot, &(GdkRGBA) { 1, 1, 1, 0.9 },
                               &GRAPHENE_RECT_INIT (half - 1, 0, 2, wh));
  } else {
    draw_view (self, snapshot, 0, NULL);
  }
  if (self->pointer_inside && !self->panning && !self->space_down && !self->before)
    draw_brush_cursor (self, snapshot);
  gtk_snapshot_pop (snapshot);
}

static void
tessera_canvas_size_allocate (GtkWidget *widget, int width, int height, int baseline)
{
  TesseraCanvas *self = TESSERA_CANVAS (widget);
  if (self->fit)
    apply_fit (self);
}

static void
tessera_canvas_measure (GtkWidget *widget, GtkOrientation orientation, int for_size,
                        int *minimum, int *natural, int *min_baseline, int *nat_baseline)
{
  *minimum = 64;
  *natural = 512;
}

/* ---- document ---- */

static void
on_document_changed (TesseraDocument *doc, guint what, int x, int y, int w, int h,
                     TesseraCanvas *self)
{
  if (what & TESSERA_CHANGE_SIZE) {
    reset_tiles (self);
    g_clear_object (&self->preview);
    g_clear_object (&self->before);
    if (self->fit)
      apply_fit (self);
  } else {
    tessera_tiles_invalidate (self->tiles, what, x, y, w, h);
  }
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
tessera_canvas_set_document (TesseraCanvas *self, TesseraDocument *document)
{
  if (self->document == document)
    return;
  if (self->document) {
    g_clear_signal_handler (&self->changed_id, self->document);
    g_clear_object (&self->document);
  }
  if (document) {
    self->document = g_object_ref (document);
    self->changed_id = g_signal_connect (document, "changed", G_CALLBACK (on_document_changed),
                                         self);
  }
  reset_tiles (self);
  self->fit = TRUE;
  apply_fit (self);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

TesseraDocument *
tessera_canvas_get_document (TesseraCanvas *self)
{
  return self->document;
}

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
  if (self->space_down) {
    self->panning = TRUE;
    self->drag_pan_x = self->pan_x;
    self->drag_pan_y = self->pan_y;
    return;
  }
  tessera_canvas_stroke_begin (self, x, y, 1.0);
}

static void
on_paint_update (GtkGestureDrag *g, double dx, double dy, TesseraCanvas *self)
{
  double sx, sy;
  gtk_gesture_drag_get_start_point (g, &sx, &sy);
  self->pointer_x = sx + dx;
  self->pointer_y = sy + dy;
  if (self->panning) {
    self->pan_x = self->drag_pan_x + dx;
    self->pan_y = self->drag_pan_y + dy;
    self->fit = FALSE;
    gtk_widget_queue_draw (GTK_WIDGET (self));
    return;
  }
  tessera_canvas_stroke_to (self, sx + dx, sy + dy, 1.0);
}

static void
on_paint_end (GtkGestureDrag *g, double dx, double dy, TesseraCanvas *self)
{
  self->panning = FALSE;
  tessera_canvas_stroke_end (self);
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
  tessera_canvas_stroke_begin (self, x, y, stylus_pressure (g));
}

static void
on_stylus_motion (GtkGestureStylus *g, double x, double y, TesseraCanvas *self)
{
  GdkTimeCoord *backlog;
  guint n;
  self->pointer_x = x;
  self->pointer_y = y;
  self->pointer_inside = TRUE;
  /* Replay the samples the compositor coalesced, for smooth curves on fast strokes. */
  if (gtk_gesture_stylus_get_backlog (g, &backlog, &n)) {
    for (guint i = 0; i < n; i++) {
      double p = (backlog[i].flags & GDK_AXIS_FLAG_PRESSURE) ? backlog[i].axes[GDK_AXIS_PRESSURE]
                                                              : 1.0;
      tessera_canvas_stroke_to (self, backlog[i].axes[GDK_AXIS_X], backlog[i].axes[GDK_AXIS_Y],
                                p);
    }
    g_free (backlog);
  }
  tessera_canvas_stroke_to (self, x, y, stylus_pressure (g));
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
on_stylus_up (GtkGestureStylus *g, double x, double y, TesseraCanvas *self)
{
  tessera_canvas_stroke_end (self);
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

static void
on_motion (GtkEventControllerMotion *c, double x, double y, TesseraCanvas *self)
{
  self->pointer_x = x;
  self->pointer_y = y;
  self->pointer_inside = TRUE;
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
  gtk_widget_set_cursor_from_name (GTK_WIDGET (self), "grab");
  return TRUE;
}

static void
on_key_released (GtkEventControllerKey *c, guint keyval, guint keycode, GdkModifierType state,
                 TesseraCanvas *self)
{
  if (keyval != GDK_KEY_space)
    return;
  self->space_down = FALSE;
  gtk_widget_set_cursor_from_name (GTK_WIDGET (self), "crosshair");
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

static void
add_controllers (TesseraCanvas *self)
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

static void
tessera_canvas_dispose (GObject *object)
{
  TesseraCanvas *self = TESSERA_CANVAS (object);
  tessera_canvas_set_document (self, NULL);
  g_clear_pointer (&self->tiles, tessera_tiles_free);
  g_clear_pointer (&self->progress, g_free);
  g_clear_object (&self->preview);
  g_clear_object (&self->before);
  G_OBJECT_CLASS (tessera_canvas_parent_class)->dispose (object);
}

static void
tessera_canvas_class_init (TesseraCanvasClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  object_class->dispose = tessera_canvas_dispose;
  widget_class->snapshot = tessera_canvas_snapshot;
  widget_class->size_allocate = tessera_canvas_size_allocate;
  widget_class->measure = tessera_canvas_measure;

  signals[SIGNAL_STROKE_FINISHED] = g_signal_new ("stroke-finished", G_TYPE_FROM_CLASS (klass),
                                                  G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                                  G_TYPE_NONE, 0);
  signals[SIGNAL_ZOOM_CHANGED] = g_signal_new ("zoom-changed", G_TYPE_FROM_CLASS (klass),
                                               G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                               G_TYPE_NONE, 0);
  gtk_widget_class_set_css_name (widget_class, "tessera-canvas");
}

static void
tessera_canvas_init (TesseraCanvas *self)
{
  self->tiles = tessera_tiles_new ();
  self->zoom = 1.0;
  self->fit = TRUE;
  self->split = 0.5;
  self->brush = (TesseraBrush) { 48.0, 0.7, FALSE };
  gtk_widget_set_focusable (GTK_WIDGET (self), TRUE);
  gtk_widget_set_hexpand (GTK_WIDGET (self), TRUE);
  gtk_widget_set_vexpand (GTK_WIDGET (self), TRUE);
  gtk_widget_set_overflow (GTK_WIDGET (self), GTK_OVERFLOW_HIDDEN);
  gtk_widget_set_cursor_from_name (GTK_WIDGET (self), "crosshair");
  add_controllers (self);
}

GtkWidget *
tessera_canvas_new (void)
{
  return g_object_new (TESSERA_TYPE_CANVAS, NULL);
}
