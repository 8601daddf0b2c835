/* tessera-canvas.c — the picture view: zoom, pan, mask painting and selections, outpaint
 * handles, the frame, overlays. */
#include "tessera-canvas.h"

#include <glib/gi18n.h>
#include <math.h>
#include <string.h>

#include "tessera-tiles.h"

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

G_DEFINE_FINAL_TYPE (TesseraCanvas, tessera_canvas, GTK_TYPE_WIDGET)

enum {
  SIGNAL_STROKE_FINISHED,
  SIGNAL_ZOOM_CHANGED,
  SIGNAL_EXTEND_REQUESTED,
  SIGNAL_SELECTION_FINISHED,
  N_SIGNALS
};
static guint signals[N_SIGNALS];

enum {
  PROP_0,
  PROP_TOKEN_SIZE,
  PROP_FRAME_VISIBLE,
  PROP_FRAME_X,
  PROP_FRAME_Y,
  PROP_FRAME_SIZE,
  N_PROPS
};
static GParamSpec *props[N_PROPS];

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

/* A texture's pixels as a cairo ARGB32 surface, for drawing them zoomed in (a texture would
 * be filtered linearly there). */
static cairo_surface_t *
rgba_surface (GdkTexture *texture)
{
  int w = gdk_texture_get_width (texture), h = gdk_texture_get_height (texture);
  cairo_surface_t *s = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, w, h);
  cairo_surface_flush (s);
  gdk_texture_download (texture, cairo_image_surface_get_data (s),
                        cairo_image_surface_get_stride (s));
  cairo_surface_mark_dirty (s);
  return s;
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

/* Fit the picture into the widget; TRUE when that changed the zoom. */
static gboolean
apply_fit (TesseraCanvas *self)
{
  int ww = gtk_widget_get_width (GTK_WIDGET (self)), wh = gtk_widget_get_height (GTK_WIDGET (self));
  if (ww <= 0 || wh <= 0)
    return FALSE;
  double old_zoom = self->zoom;
  /* Leave a margin so the picture's edge and the brush circle stay visible. */
  double z = MIN ((ww - 32.0) / doc_w (self), (wh - 32.0) / doc_h (self));
  self->zoom = CLAMP (z, MIN_ZOOM, MAX_ZOOM);
  self->pan_x = (ww - doc_w (self) * self->zoom) / 2;
  self->pan_y = (wh - doc_h (self) * self->zoom) / 2;
  return self->zoom != old_zoom;
}

static gboolean
emit_zoom_changed (gpointer data)
{
  TesseraCanvas *self = data;
  self->zoom_changed_idle = 0;
  g_signal_emit (self, signals[SIGNAL_ZOOM_CHANGED], 0);
  return G_SOURCE_REMOVE;
}

/* A fit can only be computed once the widget has a size, so the zoom of the first fit often
 * comes from size_allocate, long after zoom_fit was asked for. ::zoom-changed then waits for
 * the frame to end: its handlers (the zoom label) must not resize widgets in the middle of
 * an allocation. */
static void
fit_and_tell (TesseraCanvas *self, gboolean allocating)
{
  if (!apply_fit (self))
    return;
  if (!allocating)
    g_signal_emit (self, signals[SIGNAL_ZOOM_CHANGED], 0);
  else if (!self->zoom_changed_idle)
    self->zoom_changed_idle = g_idle_add (emit_zoom_changed, self);
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
static graphene_rect_t
picture_rect (TesseraCanvas *self)
{
  return GRAPHENE_RECT_INIT (self->pan_x, self->pan_y, doc_w (self) * self->zoom,
                             doc_h (self) * self->zoom);
}

static gboolean
handles_shown (TesseraCanvas *self)
{
  return self->document && !self->before && !self->progress && !self->preview;
}

/* Where a side's handle is drawn: outside the middle of that edge of the canvas, the
 * extension being dragged included, so handles follow the edge as it moves. */
static graphene_rect_t
handle_rect (TesseraCanvas *self, TesseraCanvasSide side)
{
  graphene_rect_t p = picture_rect (self);
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

static gboolean
handle_at (TesseraCanvas *self, double wx, double wy, TesseraCanvasSide *side)
{
  if (!handles_shown (self))
    return FALSE;
  for (int s = 0; s < 4; s++) {
    graphene_rect_t r = handle_rect (self, s);
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
  if (!handles_shown (self))
    return FALSE;
  graphene_rect_t r = handle_rect (self, side);
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

static gboolean
frame_shown (TesseraCanvas *self)
{
  return self->document && self->frame_visible && self->frame_size > 0 && !self->before;
}

/* The frame's rectangle in widget coordinates. */
static graphene_rect_t
frame_rect (TesseraCanvas *self)
{
  double x, y;
  tessera_canvas_image_to_widget (self, self->frame_x, self->frame_y, &x, &y);
  return GRAPHENE_RECT_INIT (x, y, self->frame_size * self->zoom, self->frame_size * self->zoom);
}

/* On the frame's outline (inside or out), where a drag moves it; its inside stays paintable. */
static gboolean
frame_border_at (TesseraCanvas *self, double wx, double wy)
{
  if (!frame_shown (self))
    return FALSE;
  graphene_rect_t outer = frame_rect (self), inner = outer;
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
static void
move_frame (TesseraCanvas *self, int x, int y)
{
  x = CLAMP (x, 0, MAX (0, doc_w (self) - self->frame_size));
  y = CLAMP (y, 0, MAX (0, doc_h (self) - self->frame_size));
  if (x != self->frame_x) {
    self->frame_x = x;
    g_object_notify_by_pspec (G_OBJECT (self), props[PROP_FRAME_X]);
  }
  if (y != self->frame_y) {
    self->frame_y = y;
    g_object_notify_by_pspec (G_OBJECT (self), props[PROP_FRAME_Y]);
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
    g_signal_emit (self, signals[SIGNAL_SELECTION_FINISHED], 0, (int) self->tool,
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
  } else if (handle_at (self, wx, wy, &side)) {
    self->drag = DRAG_EXTEND;
    self->extend_side = side;
    memset (self->extension, 0, sizeof self->extension);
  } else if (frame_border_at (self, wx, wy)) {
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
    move_frame (self, self->drag_frame_x + (int) round (dx / self->zoom),
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
      g_signal_emit (self, signals[SIGNAL_EXTEND_REQUESTED], 0, e[0], e[1], e[2], e[3]);
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
  g_clear_pointer (&self->preview_pixels, cairo_surface_destroy);
  if (rgba && self->document) {
    self->preview = rgba_texture (rgba, doc_w (self), doc_h (self));
    self->preview_pixels = rgba_surface (self->preview);
  }
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
tessera_canvas_set_compare (TesseraCanvas *self, GBytes *before)
{
  g_clear_object (&self->before);
  g_clear_pointer (&self->before_pixels, cairo_surface_destroy);
  if (before && self->document) {
    self->before = rgba_texture (before, doc_w (self), doc_h (self));
    self->before_pixels = rgba_surface (self->before);
  }
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
tessera_canvas_set_split (TesseraCanvas *self, double split)
{
  self->split = CLAMP (split, 0.0, 1.0);
  gtk_widget_queue_draw (GTK_WIDGET (self));
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

/* The whole-pixel image rectangle that covers `visible`, clipped to the picture; FALSE when
 * empty. */
static gboolean
visible_pixels (TesseraCanvas *self, const graphene_rect_t *visible, int *x0, int *y0, int *x1,
                int *y1)
{
  *x0 = MAX (0, (int) floor (visible->origin.x));
  *y0 = MAX (0, (int) floor (visible->origin.y));
  *x1 = MIN (doc_w (self), (int) ceil (visible->origin.x + visible->size.width));
  *y1 = MIN (doc_h (self), (int) ceil (visible->origin.y + visible->size.height));
  return *x1 > *x0 && *y1 > *y0;
}

/* A cairo node over r (widget coordinates, no scale in the snapshot) grown to whole pixels.
 * The GL renderer draws a cairo node into an image of whole pixels and stretches that over
 * the node's bounds: fractional bounds would stretch the picture by a fraction of a pixel,
 * enough to move zoomed-in pixels across their neighbours' edges. */
static cairo_t *
append_cairo_whole_pixels (GtkSnapshot *snapshot, const graphene_rect_t *r)
{
  double x0 = floor (r->origin.x), y0 = floor (r->origin.y);
  double x1 = ceil (r->origin.x + r->size.width), y1 = ceil (r->origin.y + r->size.height);
  return gtk_snapshot_append_cairo (snapshot, &GRAPHENE_RECT_INIT (x0, y0, x1 - x0, y1 - y0));
}

/* Zoomed in: the pixels of `source` (cairo ARGB32, the document's size) inside `visible`, as
 * crisp squares (nearest neighbour), over the picture's place at widget (ox, oy); with
 * `mask`, the tinted mask over them.
 *
 * The snapshot must carry no scale here: GTK 4.8's gtk_snapshot_append_cairo() applies the
 * snapshot's offset before its scale inside the cairo context (cairo_scale, then
 * cairo_translate by an offset already in device units), so under a zoom z a picture at pan
 * p lands at p × z instead of p: shifted by p × (z − 1), off screen at fit zooms. Cairo
 * applies the view's zoom itself, and the node's bounds are in widget pixels. */
static void
draw_pixels (TesseraCanvas *self, GtkSnapshot *snapshot, cairo_surface_t *source,
             gboolean mask, const graphene_rect_t *visible, double ox, double oy)
{
  int x0, y0, x1, y1;
  if (!visible_pixels (self, visible, &x0, &y0, &x1, &y1))
    return;
  double z = self->zoom;
  /* Copy the visible pixels: the render node keeps its source alive, and cairo forbids
   * marking a surface dirty while a node still snapshots it. */
  cairo_surface_flush (source);
  cairo_surface_t *img = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, x1 - x0, y1 - y0);
  int sstride = cairo_image_surface_get_stride (source);
  int dstride = cairo_image_surface_get_stride (img);
  for (int y = y0; y < y1; y++)
    memcpy (cairo_image_surface_get_data (img) + (gsize) (y - y0) * dstride,
            cairo_image_surface_get_data (source) + (gsize) y * sstride + x0 * 4,
            (gsize) (x1 - x0) * 4);
  cairo_surface_mark_dirty (img);
  graphene_rect_t bounds = GRAPHENE_RECT_INIT (ox + x0 * z, oy + y0 * z, (x1 - x0) * z,
                                               (y1 - y0) * z);
  cairo_t *cr = append_cairo_whole_pixels (snapshot, &bounds);
  cairo_translate (cr, ox, oy);
  cairo_scale (cr, z, z);
  cairo_rectangle (cr, x0, y0, x1 - x0, y1 - y0);
  cairo_clip (cr);
  cairo_set_source_surface (cr, img, x0, y0);
  cairo_pattern_set_filter (cairo_get_source (cr), CAIRO_FILTER_NEAREST);
  cairo_paint (cr);
  cairo_surface_destroy (img);
  if (mask) {
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

/* The tokens revealed so far over the area they fill; (ox, oy): the widget position of the
 * picture's origin. In widget coordinates, like draw_pixels, for the same reason. */
static void
draw_progress (TesseraCanvas *self, GtkSnapshot *snapshot, double ox, double oy)
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
  double z = self->zoom;
  graphene_rect_t r = GRAPHENE_RECT_INIT (ox + a->x * z, oy + a->y * z, a->width * z,
                                          a->height * z);
  cairo_t *cr = append_cairo_whole_pixels (snapshot, &r);
  cairo_translate (cr, r.origin.x, r.origin.y);
  cairo_scale (cr, r.size.width / tw, r.size.height / th);
  cairo_set_source_surface (cr, s, 0, 0);
  cairo_pattern_set_filter (cairo_get_source (cr), CAIRO_FILTER_NEAREST);
  cairo_paint_with_alpha (cr, 0.85);
  cairo_destroy (cr);
  cairo_surface_destroy (s);
}

/* Image-space drawing (colours and textures, which the snapshot's transform places right)
 * for the picture at widget (ox, oy). */
static void
push_image_space (TesseraCanvas *self, GtkSnapshot *snapshot, double ox, double oy)
{
  gtk_snapshot_save (snapshot);
  gtk_snapshot_translate (snapshot, &GRAPHENE_POINT_INIT (ox, oy));
  gtk_snapshot_scale (snapshot, self->zoom, self->zoom);
}

/* The "before" picture left of the divider. */
static void
draw_compare (TesseraCanvas *self, GtkSnapshot *snapshot, const graphene_rect_t *img,
              const graphene_rect_t *visible, double ox, double oy)
{
  double z = self->zoom;
  double sx = ox + img->size.width * self->split * z;
  gtk_snapshot_push_clip (snapshot, &GRAPHENE_RECT_INIT (ox, oy, sx - ox, img->size.height * z));
  if (z > 1.0) {
    draw_pixels (self, snapshot, self->before_pixels, FALSE, visible, ox, oy);
  } else {
    push_image_space (self, snapshot, ox, oy);
    gtk_snapshot_append_texture (snapshot, self->before, img);
    gtk_snapshot_restore (snapshot);
  }
  gtk_snapshot_pop (snapshot);
  gtk_snapshot_append_color (snapshot, &(GdkRGBA) { 1, 1, 1, 0.9 },
                             &GRAPHENE_RECT_INIT (sx - 1, oy, 2, img->size.height * z));
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

/* The picture as the view shows it, shifted right by dx widget pixels; `only` (with its
 * pixels) draws that picture instead of the document (the "before" half of side by side). */
static void
draw_view (TesseraCanvas *self, GtkSnapshot *snapshot, double dx, GdkTexture *only,
           cairo_surface_t *only_pixels)
{
  int ww = gtk_widget_get_width (GTK_WIDGET (self)), wh = gtk_widget_get_height (GTK_WIDGET (self));
  graphene_rect_t img = GRAPHENE_RECT_INIT (0, 0, doc_w (self), doc_h (self));
  graphene_rect_t visible;
  double ix0, iy0, ix1, iy1;
  tessera_canvas_widget_to_image (self, -dx, 0, &ix0, &iy0);
  tessera_canvas_widget_to_image (self, ww - dx, wh, &ix1, &iy1);
  graphene_rect_intersection (&img, &GRAPHENE_RECT_INIT (ix0, iy0, ix1 - ix0, iy1 - iy0),
                              &visible);
  double ox = self->pan_x + dx, oy = self->pan_y;
  GdkTexture *picture = only ? only : self->preview;
  cairo_surface_t *picture_pixels = only ? only_pixels : self->preview_pixels;
  gboolean zoomed_in = self->zoom > 1.0;
  gboolean mask = tessera_document_get_mask_visible (self->document);

  push_image_space (self, snapshot, ox, oy);
  draw_checkerboard (snapshot, &img);
  if (!zoomed_in && picture) {
    gtk_snapshot_append_texture (snapshot, picture, &img);
  } else if (!zoomed_in) {
    draw_tiles (self, snapshot, FALSE, &visible, ox, oy);
    if (mask)
      draw_tiles (self, snapshot, TRUE, &visible, ox, oy);
  }
  gtk_snapshot_restore (snapshot);

  /* Zoomed in, every image pixel is a crisp square, drawn by cairo in widget coordinates. */
  if (zoomed_in && picture)
    draw_pixels (self, snapshot, picture_pixels, FALSE, &visible, ox, oy);
  else if (zoomed_in)
    draw_pixels (self, snapshot, tessera_document_get_surface (self->document), mask, &visible,
                 ox, oy);

  if (self->before && !self->side_by_side)
    draw_compare (self, snapshot, &img, &visible, ox, oy);
  if (self->progress && !only)
    draw_progress (self, snapshot, ox, oy);
}

/* ---- drawing: what lies on top of the picture, in widget coordinates ---- */

/* A short text in a dark pill at (x, y) (its top-left, or top-right with `from_right`). */
static void
draw_label (TesseraCanvas *self, GtkSnapshot *snapshot, const char *text, double x, double y,
            gboolean from_right)
{
  PangoLayout *layout = gtk_widget_create_pango_layout (GTK_WIDGET (self), text);
  int w, h;
  pango_layout_get_pixel_size (layout, &w, &h);
  const double pad_x = 8, pad_y = 3;
  graphene_rect_t box = GRAPHENE_RECT_INIT (from_right ? x - w - 2 * pad_x : x, y,
                                            w + 2 * pad_x, h + 2 * pad_y);
  GskRoundedRect pill;
  gsk_rounded_rect_init_from_rect (&pill, &box, box.size.height / 2);
  gtk_snapshot_push_rounded_clip (snapshot, &pill);
  gtk_snapshot_append_color (snapshot, &(GdkRGBA) { 0, 0, 0, 0.65 }, &box);
  gtk_snapshot_pop (snapshot);
  gtk_snapshot_save (snapshot);
  gtk_snapshot_translate (snapshot, &GRAPHENE_POINT_INIT (box.origin.x + pad_x,
                                                          box.origin.y + pad_y));
  gtk_snapshot_append_layout (snapshot, layout, &(GdkRGBA) { 1, 1, 1, 1 });
  gtk_snapshot_restore (snapshot);
  g_object_unref (layout);
}

/* A one-pixel outline, black under white dashes, that shows on any picture. */
static void
stroke_dashed (cairo_t *cr)
{
  cairo_set_line_width (cr, 1);
  cairo_set_source_rgba (cr, 0, 0, 0, 0.85);
  cairo_stroke_preserve (cr);
  cairo_set_dash (cr, (const double[]) { 4, 4 }, 2, 0);
  cairo_set_source_rgba (cr, 1, 1, 1, 1);
  cairo_stroke (cr);
}

static void
draw_dashed_rect (GtkSnapshot *snapshot, const graphene_rect_t *r)
{
  graphene_rect_t bounds = *r;
  graphene_rect_inset (&bounds, -2, -2);
  cairo_t *cr = append_cairo_whole_pixels (snapshot, &bounds);
  /* On pixel centres, so the line is one crisp pixel wide. */
  double x0 = round (r->origin.x) + 0.5, y0 = round (r->origin.y) + 0.5;
  double x1 = round (r->origin.x + r->size.width) - 0.5;
  double y1 = round (r->origin.y + r->size.height) - 0.5;
  cairo_rectangle (cr, x0, y0, MAX (0, x1 - x0), MAX (0, y1 - y0));
  stroke_dashed (cr);
  cairo_destroy (cr);
}

/* A checkerboard over r: where the canvas will have no picture yet. */
static void
draw_checker (GtkSnapshot *snapshot, const graphene_rect_t *r)
{
  if (r->size.width <= 0 || r->size.height <= 0)
    return;
  const GdkRGBA light = { 0.62, 0.62, 0.62, 1 }, dark = { 0.42, 0.42, 0.42, 1 };
  gtk_snapshot_push_repeat (snapshot, r, &GRAPHENE_RECT_INIT (r->origin.x, r->origin.y, 16, 16));
  gtk_snapshot_append_color (snapshot, &light,
                             &GRAPHENE_RECT_INIT (r->origin.x, r->origin.y, 16, 16));
  gtk_snapshot_append_color (snapshot, &dark,
                             &GRAPHENE_RECT_INIT (r->origin.x + 8, r->origin.y, 8, 8));
  gtk_snapshot_append_color (snapshot, &dark,
                             &GRAPHENE_RECT_INIT (r->origin.x, r->origin.y + 8, 8, 8));
  gtk_snapshot_pop (snapshot);
}

/* While a handle is dragged: the area the canvas grows by, checkered, the new outline, and
 * how much it adds. */
static void
draw_extension (TesseraCanvas *self, GtkSnapshot *snapshot)
{
  const int *e = self->extension;
  if (!(e[0] || e[1] || e[2] || e[3]))
    return;
  double z = self->zoom;
  graphene_rect_t p = picture_rect (self);
  graphene_rect_t n = GRAPHENE_RECT_INIT (p.origin.x - e[0] * z, p.origin.y - e[1] * z,
                                          p.size.width + (e[0] + e[2]) * z,
                                          p.size.height + (e[1] + e[3]) * z);
  draw_checker (snapshot, &GRAPHENE_RECT_INIT (n.origin.x, n.origin.y, n.size.width, e[1] * z));
  draw_checker (snapshot, &GRAPHENE_RECT_INIT (n.origin.x, p.origin.y + p.size.height,
                                               n.size.width, e[3] * z));
  draw_checker (snapshot, &GRAPHENE_RECT_INIT (n.origin.x, p.origin.y, e[0] * z, p.size.height));
  draw_checker (snapshot, &GRAPHENE_RECT_INIT (p.origin.x + p.size.width, p.origin.y, e[2] * z,
                                               p.size.height));
  draw_dashed_rect (snapshot, &n);
  int amount = e[self->extend_side];
  g_autofree char *text = g_strdup_printf (_("+%d px"), amount);
  graphene_rect_t h = handle_rect (self, self->extend_side);
  draw_label (self, snapshot, text, h.origin.x + h.size.width + 6, h.origin.y, FALSE);
}

static void
draw_handles (TesseraCanvas *self, GtkSnapshot *snapshot)
{
  if (!handles_shown (self))
    return;
  for (int side = 0; side < 4; side++) {
    graphene_rect_t r = handle_rect (self, side);
    GskRoundedRect bar;
    gsk_rounded_rect_init_from_rect (&bar, &r, HANDLE_THICKNESS / 2);
    gtk_snapshot_push_rounded_clip (snapshot, &bar);
    gtk_snapshot_append_color (snapshot, &(GdkRGBA) { 1, 1, 1, 0.85 }, &r);
    gtk_snapshot_pop (snapshot);
    const GdkRGBA edge = { 0, 0, 0, 0.5 };
    gtk_snapshot_append_border (snapshot, &bar, (const float[4]) { 1, 1, 1, 1 },
                                (const GdkRGBA[4]) { edge, edge, edge, edge });
  }
}

/* The native-size frame: a white outline with a dark rim, and its size on a tab. */
static void
draw_frame (TesseraCanvas *self, GtkSnapshot *snapshot)
{
  if (!frame_shown (self))
    return;
  graphene_rect_t r = frame_rect (self);
  GskRoundedRect inner, outer;
  gsk_rounded_rect_init_from_rect (&inner, &r, 0);
  graphene_rect_t rim = r;
  graphene_rect_inset (&rim, -1, -1);
  gsk_rounded_rect_init_from_rect (&outer, &rim, 0);
  const GdkRGBA white = { 1, 1, 1, 0.95 }, dark = { 0, 0, 0, 0.6 };
  gtk_snapshot_append_border (snapshot, &outer, (const float[4]) { 1, 1, 1, 1 },
                              (const GdkRGBA[4]) { dark, dark, dark, dark });
  gtk_snapshot_append_border (snapshot, &inner, (const float[4]) { 2, 2, 2, 2 },
                              (const GdkRGBA[4]) { white, white, white, white });
  g_autofree char *text = g_strdup_printf (_("Frame %d × %d"), self->frame_size,
                                           self->frame_size);
  draw_label (self, snapshot, text, r.origin.x, r.origin.y + 4, FALSE);
}

static void
draw_selection (TesseraCanvas *self, GtkSnapshot *snapshot)
{
  if (self->drag == DRAG_RECTANGLE) {
    graphene_rect_t r = GRAPHENE_RECT_INIT (MIN (self->drag_x0, self->drag_x),
                                            MIN (self->drag_y0, self->drag_y),
                                            fabs (self->drag_x - self->drag_x0),
                                            fabs (self->drag_y - self->drag_y0));
    gtk_snapshot_append_color (snapshot,
                               self->drag_subtract ? &(GdkRGBA) { 0.9, 0.2, 0.2, 0.18 }
                                                   : &(GdkRGBA) { 0.3, 0.6, 1.0, 0.18 },
                               &r);
    draw_dashed_rect (snapshot, &r);
  } else if (self->drag == DRAG_LASSO && self->lasso->len >= 4) {
    int ww = gtk_widget_get_width (GTK_WIDGET (self));
    int wh = gtk_widget_get_height (GTK_WIDGET (self));
    cairo_t *cr = append_cairo_whole_pixels (snapshot, &GRAPHENE_RECT_INIT (0, 0, ww, wh));
    const double *xy = (const double *) self->lasso->data;
    for (guint i = 0; i < self->lasso->len / 2; i++) {
      double wx, wy;
      tessera_canvas_image_to_widget (self, xy[2 * i], xy[2 * i + 1], &wx, &wy);
      if (i == 0)
        cairo_move_to (cr, wx, wy);
      else
        cairo_line_to (cr, wx, wy);
    }
    cairo_close_path (cr);
    stroke_dashed (cr);
    cairo_destroy (cr);
  }
}

/* Which side is which while comparing. */
static void
draw_compare_labels (TesseraCanvas *self, GtkSnapshot *snapshot)
{
  if (!self->before)
    return;
  int ww = gtk_widget_get_width (GTK_WIDGET (self));
  int wh = gtk_widget_get_height (GTK_WIDGET (self));
  const double margin = 8;
  if (self->side_by_side) {
    draw_label (self, snapshot, _("Before"), margin, margin, FALSE);
    draw_label (self, snapshot, _("After"), ww / 2.0 + margin, margin, FALSE);
    return;
  }
  graphene_rect_t p = picture_rect (self);
  double split_x = p.origin.x + p.size.width * self->split;
  double top = MAX (p.origin.y, 0) + margin;
  double left = MAX (p.origin.x, 0), right = MIN (p.origin.x + p.size.width, ww);
  /* Each label stays on its own side of the divider. */
  gtk_snapshot_push_clip (snapshot, &GRAPHENE_RECT_INIT (left, 0, MAX (0, split_x - left), wh));
  draw_label (self, snapshot, _("Before"), left + margin, top, FALSE);
  gtk_snapshot_pop (snapshot);
  gtk_snapshot_push_clip (snapshot, &GRAPHENE_RECT_INIT (split_x, 0, MAX (0, right - split_x),
                                                         wh));
  draw_label (self, snapshot, _("After"), right - margin, top, TRUE);
  gtk_snapshot_pop (snapshot);
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
    draw_view (self, snapshot, -half / 2, self->before, self->before_pixels);
    gtk_snapshot_pop (snapshot);
    gtk_snapshot_push_clip (snapshot, &GRAPHENE_RECT_INIT (half, 0, ww - half, wh));
    draw_view (self, snapshot, half / 2, NULL, NULL);
    gtk_snapshot_pop (snapshot);
    gtk_snapshot_append_color (snapshot, &(GdkRGBA) { 1, 1, 1, 0.9 },
                               &GRAPHENE_RECT_INIT (half - 1, 0, 2, wh));
  } else {
    draw_view (self, snapshot, 0, NULL, NULL);
  }
  draw_extension (self, snapshot);
  draw_frame (self, snapshot);
  draw_handles (self, snapshot);
  draw_selection (self, snapshot);
  draw_compare_labels (self, snapshot);
  TesseraCanvasSide side;
  if (self->pointer_inside && !self->panning && !self->space_down && !self->before
      && self->tool == TESSERA_CANVAS_TOOL_BRUSH
      && (self->drag == DRAG_STROKE
          || (self->drag == DRAG_NONE && !handle_at (self, self->pointer_x, self->pointer_y, &side)
              && !frame_border_at (self, self->pointer_x, self->pointer_y))))
    draw_brush_cursor (self, snapshot);
  gtk_snapshot_pop (snapshot);
}

static void
tessera_canvas_size_allocate (GtkWidget *widget, int width, int height, int baseline)
{
  TesseraCanvas *self = TESSERA_CANVAS (widget);
  if (self->fit)
    fit_and_tell (self, TRUE);
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
    g_clear_pointer (&self->preview_pixels, cairo_surface_destroy);
    g_clear_object (&self->before);
    g_clear_pointer (&self->before_pixels, cairo_surface_destroy);
    if (self->fit)
      fit_and_tell (self, FALSE);
    move_frame (self, self->frame_x, self->frame_y);
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
  self->drag = DRAG_NONE;
  memset (self->extension, 0, sizeof self->extension);
  self->fit = TRUE;
  fit_and_tell (self, FALSE);
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
  const char *name = "crosshair";
  if (self->space_down || self->panning)
    name = "grab";
  else if (self->drag == DRAG_EXTEND)
    name = self->extend_side % 2 == 0 ? "ew-resize" : "ns-resize";
  else if (self->drag == DRAG_FRAME)
    name = "move";
  else if (self->drag == DRAG_NONE && handle_at (self, self->pointer_x, self->pointer_y, &side))
    name = side % 2 == 0 ? "ew-resize" : "ns-resize";
  else if (self->drag == DRAG_NONE && frame_border_at (self, self->pointer_x, self->pointer_y))
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
tessera_canvas_get_property (GObject *object, guint id, GValue *value, GParamSpec *pspec)
{
  TesseraCanvas *self = TESSERA_CANVAS (object);
  switch (id) {
  case PROP_TOKEN_SIZE:
    g_value_set_int (value, self->token_size);
    break;
  case PROP_FRAME_VISIBLE:
    g_value_set_boolean (value, self->frame_visible);
    break;
  case PROP_FRAME_X:
    g_value_set_int (value, self->frame_x);
    break;
  case PROP_FRAME_Y:
    g_value_set_int (value, self->frame_y);
    break;
  case PROP_FRAME_SIZE:
    g_value_set_int (value, self->frame_size);
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, id, pspec);
  }
}

static void
tessera_canvas_set_property (GObject *object, guint id, const GValue *value,
                             GParamSpec *pspec)
{
  TesseraCanvas *self = TESSERA_CANVAS (object);
  switch (id) {
  case PROP_TOKEN_SIZE:
    if (self->token_size != g_value_get_int (value)) {
      self->token_size = g_value_get_int (value);
      g_object_notify_by_pspec (object, pspec);
    }
    break;
  case PROP_FRAME_VISIBLE:
    if (self->frame_visible != g_value_get_boolean (value)) {
      self->frame_visible = g_value_get_boolean (value);
      g_object_notify_by_pspec (object, pspec);
    }
    break;
  case PROP_FRAME_X:
    move_frame (self, g_value_get_int (value), self->frame_y);
    break;
  case PROP_FRAME_Y:
    move_frame (self, self->frame_x, g_value_get_int (value));
    break;
  case PROP_FRAME_SIZE:
    if (self->frame_size != g_value_get_int (value)) {
      self->frame_size = g_value_get_int (value);
      g_object_notify_by_pspec (object, pspec);
      move_frame (self, self->frame_x, self->frame_y);   /* still inside the picture */
    }
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, id, pspec);
    return;
  }
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
tessera_canvas_dispose (GObject *object)
{
  TesseraCanvas *self = TESSERA_CANVAS (object);
  tessera_canvas_set_document (self, NULL);
  g_clear_handle_id (&self->zoom_changed_idle, g_source_remove);
  g_clear_pointer (&self->tiles, tessera_tiles_free);
  g_clear_pointer (&self->lasso, g_array_unref);
  g_clear_pointer (&self->progress, g_free);
  g_clear_object (&self->preview);
  g_clear_pointer (&self->preview_pixels, cairo_surface_destroy);
  g_clear_object (&self->before);
  g_clear_pointer (&self->before_pixels, cairo_surface_destroy);
  G_OBJECT_CLASS (tessera_canvas_parent_class)->dispose (object);
}

static void
tessera_canvas_class_init (TesseraCanvasClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  object_class->dispose = tessera_canvas_dispose;
  object_class->get_property = tessera_canvas_get_property;
  object_class->set_property = tessera_canvas_set_property;
  widget_class->snapshot = tessera_canvas_snapshot;
  widget_class->size_allocate = tessera_canvas_size_allocate;
  widget_class->measure = tessera_canvas_measure;

  signals[SIGNAL_STROKE_FINISHED] = g_signal_new ("stroke-finished", G_TYPE_FROM_CLASS (klass),
                                                  G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                                  G_TYPE_NONE, 0);
  signals[SIGNAL_ZOOM_CHANGED] = g_signal_new ("zoom-changed", G_TYPE_FROM_CLASS (klass),
                                               G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                               G_TYPE_NONE, 0);
  /* A drag on an edge handle let go: extend the canvas by these many picture pixels (each
   * a multiple of :token-size) on the left, top, right and bottom. */
  signals[SIGNAL_EXTEND_REQUESTED] = g_signal_new ("extend-requested", G_TYPE_FROM_CLASS (klass),
                                                   G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                                   G_TYPE_NONE, 4, G_TYPE_INT, G_TYPE_INT,
                                                   G_TYPE_INT, G_TYPE_INT);
  /* A rectangle or lasso selection changed the mask: (TesseraCanvasTool tool,
   * gboolean subtracted). */
  signals[SIGNAL_SELECTION_FINISHED] = g_signal_new ("selection-finished",
                                                     G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                                     0, NULL, NULL, NULL, G_TYPE_NONE, 2,
                                                     G_TYPE_INT, G_TYPE_BOOLEAN);

  const GParamFlags flags = G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS;
  /* Picture pixels per model token: outpaint extensions snap to multiples of it. */
  props[PROP_TOKEN_SIZE] = g_param_spec_int ("token-size", NULL, NULL, 1, 4096, 1, flags);
  /* The native-size frame a request works on in a larger picture: shown, where (top-left,
   * picture pixels; kept inside the picture, notified as the user drags it) and its side. */
  props[PROP_FRAME_VISIBLE] = g_param_spec_boolean ("frame-visible", NULL, NULL, FALSE, flags);
  props[PROP_FRAME_X] = g_param_spec_int ("frame-x", NULL, NULL, 0, G_MAXINT, 0, flags);
  props[PROP_FRAME_Y] = g_param_spec_int ("frame-y", NULL, NULL, 0, G_MAXINT, 0, flags);
  props[PROP_FRAME_SIZE] = g_param_spec_int ("frame-size", NULL, NULL, 0, G_MAXINT, 0, flags);
  g_object_class_install_properties (object_class, N_PROPS, props);

  gtk_widget_class_set_css_name (widget_class, "tessera-canvas");
}

static void
tessera_canvas_init (TesseraCanvas *self)
{
  self->tiles = tessera_tiles_new ();
  self->lasso = g_array_new (FALSE, FALSE, sizeof (double));
  self->token_size = 1;
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
