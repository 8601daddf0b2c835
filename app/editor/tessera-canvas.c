/* tessera-canvas.c — the picture view: the widget, zoom and pan, the overlays it is given
 * (progress, preview, compare), the document it shows. Drawing, tools and input are in
 * tessera-canvas-draw.c, -tools.c and -input.c (tessera-canvas-private.h). */
#include "tessera-canvas-private.h"

#include <math.h>
#include <string.h>

G_DEFINE_FINAL_TYPE (TesseraCanvas, tessera_canvas, GTK_TYPE_WIDGET)

static guint signals[N_SIGNALS];
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
    tessera_canvas_move_frame (self, self->frame_x, self->frame_y);
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
    tessera_canvas_move_frame (self, g_value_get_int (value), self->frame_y);
    break;
  case PROP_FRAME_Y:
    tessera_canvas_move_frame (self, self->frame_x, g_value_get_int (value));
    break;
  case PROP_FRAME_SIZE:
    if (self->frame_size != g_value_get_int (value)) {
      self->frame_size = g_value_get_int (value);
      g_object_notify_by_pspec (object, pspec);
      /* Still inside the picture. */
      tessera_canvas_move_frame (self, self->frame_x, self->frame_y);
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
  tessera_canvas_add_controllers (self);
}

GtkWidget *
tessera_canvas_new (void)
{
  return g_object_new (TESSERA_TYPE_CANVAS, NULL);
}
