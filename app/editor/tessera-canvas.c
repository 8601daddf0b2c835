/* tessera-canvas.c — the picture view: zoom, pan, mask painting, overlays. */
#include "tessera-canvas.h"

#include <math.h>
#include <string.h>

#define TILE 256
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

  /* Texture tiles of the picture and of the tinted mask; NULL = rebuild on next draw. */
  int tiles_x, tiles_y;
  GdkTexture **image_tiles;
  GdkTexture **mask_tiles;
  guint tile_uploads;

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

/* The mask tint: a translucent magenta reads well over photos and emoji alike. */
static const double tint[3] = { 0.93, 0.16, 0.52 };
#define TINT_ALPHA 0.55

/* ---- tiles ---- */

static void
free_tiles (TesseraCanvas *self)
{
  int n = self->tiles_x * self->tiles_y;
  for (int i = 0; i < n; i++) {
    g_clear_object (&self->image_tiles[i]);
    g_clear_object (&self->mask_tiles[i]);
  }
  g_clear_pointer (&self->image_tiles, g_free);
  g_clear_pointer (&self->mask_tiles, g_free);
  self->tiles_x = self->tiles_y = 0;
}

static void
alloc_tiles (TesseraCanvas *self)
{
  free_tiles (self);
  if (!self->document)
    return;
  self->tiles_x = (tessera_document_get_width (self->document) + TILE - 1) / TILE;
  self->tiles_y = (tessera_document_get_height (self->document) + TILE - 1) / TILE;
  self->image_tiles = g_new0 (GdkTexture *, self->tiles_x * self->tiles_y);
  self->mask_tiles = g_new0 (GdkTexture *, self->tiles_x * self->tiles_y);
}

/* Each tile texture carries a 1-pixel apron of its neighbours' pixels: drawn scaled, its
 * edge texels then filter against the real neighbours instead of transparency, which
 * otherwise shows as a hairline seam below 100 %. The apron is clipped off when drawn. */
#define APRON 4

static void
tile_source (TesseraCanvas *self, int tx, int ty, TesseraRect *src)
{
  int W = tessera_document_get_width (self->document);
  int H = tessera_document_get_height (self->document);
  int x0 = MAX (0, tx * TILE - APRON), y0 = MAX (0, ty * TILE - APRON);
  int x1 = MIN (W, (tx + 1) * TILE + APRON), y1 = MIN (H, (ty + 1) * TILE + APRON);
  *src = (TesseraRect) { x0, y0, x1 - x0, y1 - y0 };
}

static void
invalidate_tiles (TesseraCanvas *self, TesseraChange what, int x, int y, int w, int h)
{
  /* A change next to a tile edge also shows in the neighbour's apron. */
  x -= APRON;
  y -= APRON;
  w += 2 * APRON;
  h += 2 * APRON;
  int tx0 = MAX (0, x / TILE), ty0 = MAX (0, y / TILE);
  int tx1 = MIN (self->tiles_x - 1, (x + w - 1) / TILE);
  int ty1 = MIN (self->tiles_y - 1, (y + h - 1) / TILE);
  for (int ty = ty0; ty <= ty1; ty++)
    for (int tx = tx0; tx <= tx1; tx++) {
      int i = ty * self->tiles_x + tx;
      if (what & TESSERA_CHANGE_IMAGE)
        g_clear_object (&self->image_tiles[i]);
      if (what & TESSERA_CHANGE_MASK)
        g_clear_object (&self->mask_tiles[i]);
    }
}

static GdkTexture *
build_image_tile (TesseraCanvas *self, int tx, int ty)
{
  cairo_surface_t *s = tessera_document_get_surface (self->document);
  TesseraRect r;
  tile_source (self, tx, ty, &r);
  int stride = cairo_image_surface_get_stride (s);
  cairo_surface_flush (s);
  const guint8 *src = cairo_image_surface_get_data (s) + (gsize) r.y * stride + r.x * 4;
  guint8 *px = g_malloc ((gsize) r.width * r.height * 4);
  for (int y = 0; y < r.height; y++)
    memcpy (px + (gsize) y * r.width * 4, src + (gsize) y * stride, (gsize) r.width * 4);
  g_autoptr (GBytes) bytes = g_bytes_new_take (px, (gsize) r.width * r.height * 4);
  self->tile_uploads++;
  return gdk_memory_texture_new (r.width, r.height, GDK_MEMORY_DEFAULT, bytes,
                                 (gsize) r.width * 4);
}

/* Premultiplied BGRA tint scaled by mask coverage (GDK_MEMORY_DEFAULT = cairo ARGB32). */
static inline guint32
tint_pixel (guint8 m)
{
  double a = TINT_ALPHA * m / 255.0;
  return ((guint32) lround (a * 255) << 24) | ((guint32) lround (tint[0] * a * 255) << 16)
         | ((guint32) lround (tint[1] * a * 255) << 8) | (guint32) lround (tint[2] * a * 255);
}

static GdkTexture *
build_mask_tile (TesseraCanvas *self, int tx, int ty)
{
  TesseraMaskBuf *m = tessera_document_get_mask (self->document);
  TesseraRect r;
  tile_source (self, tx, ty, &r);
  guint32 *px = g_malloc ((gsize) r.width * r.height * 4);
  for (int y = 0; y < r.height; y++) {
    const guint8 *row = m->data + (gsize) (r.y + y) * m->stride + r.x;
    for (int x = 0; x < r.width; x++)
      px[(gsize) y * r.width + x] = row[x] ? tint_pixel (row[x]) : 0;
  }
  g_autoptr (GBytes) bytes = g_bytes_new_take (px, (gsize) r.width * r.height * 4);
  self->tile_uploads++;
  return gdk_memory_texture_new (r.width, r.height, GDK_MEMORY_DEFAULT, bytes,
                                 (gsize) r.width * 4);
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
  guint n = self->tile_uploads;
  self->tile_uploads = 0;
  return n;
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

static void
draw_tiles (TesseraCanvas *self, GtkSnapshot *snapshot, GdkTexture **tiles, gboolean mask,
            const graphene_rect_t *visible)
{
  for (int ty = 0; ty < self->tiles_y; ty++)
    for (int tx = 0; tx < self->tiles_x; tx++) {
      int i = ty * self->tiles_x + tx;
      graphene_rect_t r = GRAPHENE_RECT_INIT (tx * TILE, ty * TILE,
                                              MIN (TILE, doc_w (self) - tx * TILE),
                                              MIN (TILE, doc_h (self) - ty * TILE));
      if (!graphene_rect_intersection (&r, visible, NULL))
        continue;
      /* Put tile edges on whole screen pixels, shared by neighbours, so antialiased
       * edges at fractional positions do not show the background as hairline seams. */
      double x0 = (round (r.origin.x * self->zoom + self->pan_x) - self->pan_x) / self->zoom;
      double y0 = (round (r.origin.y * self->zoom + self->pan_y) - self->pan_y) / self->zoom;
      double x1 = (round ((r.origin.x + r.size.width) * self->zoom + self->pan_x) - self->pan_x)
                  / self->zoom;
      double y1 = (round ((r.origin.y + r.size.height) * self->zoom + self->pan_y) - self->pan_y)
                  / self->zoom;
      r = GRAPHENE_RECT_INIT (x0, y0, x1 - x0, y1 - y0);
      if (!tiles[i])
        tiles[i] = mask ? build_mask_tile (self, tx, ty) : build_image_tile (self, tx, ty);
      TesseraRect src;
      tile_source (self, tx, ty, &src);
      gtk_snapshot_push_clip (snapshot, &r);
      gtk_snapshot_append_texture (snapshot, tiles[i],
                                   &GRAPHENE_RECT_INIT (src.x, src.y, src.width, src.height));
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
        px[(y - y0) * stride + (x - x0)] = v ? tint_pixel (v) : 0;
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
    draw_tiles (self, snapshot, self->image_tiles, FALSE, &visible);
    if (tessera_document_get_mask_visible (self->document))
      draw_tiles (self, snapshot, self->mask_tiles, TRUE, &visible);
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
    alloc_tiles (self);
    g_clear_object (&self->preview);
    g_clear_object (&self->before);
    if (self->fit)
      apply_fit (self);
  } else {
    invalidate_tiles (self, what, x, y, w, h);
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
  alloc_tiles (self);
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
  free_tiles (self);
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
