/* tessera-canvas-draw.c — what the canvas draws: the picture (texture tiles zoomed out, crisp
 * pixels zoomed in), the mask, progress, compare, and on top the extension, the frame, the
 * handles, selections, labels and the brush cursor. */
#include "tessera-canvas-private.h"

#include <glib/gi18n.h>
#include <math.h>
#include <string.h>

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
  graphene_rect_t p = tessera_canvas_picture_rect (self);
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
  graphene_rect_t h = tessera_canvas_handle_rect (self, self->extend_side);
  draw_label (self, snapshot, text, h.origin.x + h.size.width + 6, h.origin.y, FALSE);
}

static void
draw_handles (TesseraCanvas *self, GtkSnapshot *snapshot)
{
  if (!tessera_canvas_handles_shown (self))
    return;
  for (int side = 0; side < 4; side++) {
    graphene_rect_t r = tessera_canvas_handle_rect (self, side);
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
  if (!tessera_canvas_frame_shown (self))
    return;
  graphene_rect_t r = tessera_canvas_frame_rect (self);
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
  graphene_rect_t p = tessera_canvas_picture_rect (self);
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

void
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
  double px = self->pointer_x, py = self->pointer_y;
  if (self->pointer_inside && !self->panning && !self->space_down && !self->before
      && self->tool == TESSERA_CANVAS_TOOL_BRUSH
      && (self->drag == DRAG_STROKE
          || (self->drag == DRAG_NONE && !tessera_canvas_handle_at (self, px, py, &side)
              && !tessera_canvas_frame_border_at (self, px, py))))
    draw_brush_cursor (self, snapshot);
  gtk_snapshot_pop (snapshot);
}
