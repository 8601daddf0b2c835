/* tessera-document.c — image + mask storage, painting, snapshots. */
#include "tessera-document.h"

#include <gio/gio.h>
#include <glib/gi18n.h>
#include <string.h>

/* Large enough for any practical picture, small enough that width*height*4 fits in an int
 * stride and a few copies fit in memory. */
#define MAX_SIDE 16384

struct _TesseraDocument {
  GObject parent_instance;

  cairo_surface_t *surface;   /* ARGB32 premultiplied, stride width*4 */
  TesseraMaskBuf mask;
  gboolean mask_visible;
};

G_DEFINE_FINAL_TYPE (TesseraDocument, tessera_document, G_TYPE_OBJECT)

enum { SIGNAL_CHANGED, N_SIGNALS };
static guint signals[N_SIGNALS];

TesseraState *
tessera_state_new (int width, int height, GBytes *image, GBytes *mask)
{
  g_return_val_if_fail (g_bytes_get_size (image) == (gsize) width * height * 4, NULL);
  g_return_val_if_fail (g_bytes_get_size (mask) == (gsize) width * height, NULL);
  TesseraState *s = g_atomic_rc_box_new0 (TesseraState);
  s->width = width;
  s->height = height;
  s->image = g_bytes_ref (image);
  s->mask = g_bytes_ref (mask);
  return s;
}

TesseraState *
tessera_state_ref (TesseraState *s)
{
  return g_atomic_rc_box_acquire (s);
}

static void
state_clear (gpointer data)
{
  TesseraState *s = data;
  g_bytes_unref (s->image);
  g_bytes_unref (s->mask);
}

void
tessera_state_unref (TesseraState *s)
{
  if (s)
    g_atomic_rc_box_release_full (s, state_clear);
}

static void
emit_changed (TesseraDocument *self, TesseraChange what, int x, int y, int w, int h)
{
  g_signal_emit (self, signals[SIGNAL_CHANGED], 0, what, x, y, w, h);
}

static void
emit_all (TesseraDocument *self, TesseraChange what)
{
  emit_changed (self, what, 0, 0, self->mask.width, self->mask.height);
}

static void
tessera_document_finalize (GObject *object)
{
  TesseraDocument *self = TESSERA_DOCUMENT (object);
  g_clear_pointer (&self->surface, cairo_surface_destroy);
  g_free (self->mask.data);
  G_OBJECT_CLASS (tessera_document_parent_class)->finalize (object);
}

static void
tessera_document_class_init (TesseraDocumentClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = tessera_document_finalize;

  /* ::changed (flags, x, y, width, height): the area in image pixels that changed. */
  signals[SIGNAL_CHANGED] = g_signal_new ("changed", G_TYPE_FROM_CLASS (klass),
                                          G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE,
                                          5, G_TYPE_UINT, G_TYPE_INT, G_TYPE_INT, G_TYPE_INT,
                                          G_TYPE_INT);
}

static void
tessera_document_init (TesseraDocument *self)
{
  self->mask_visible = TRUE;
}

static gboolean
check_size (int width, int height, GError **error)
{
  if (width < 1 || height < 1 || width > MAX_SIDE || height > MAX_SIDE) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                 _("The picture size %d×%d is not supported (1 to %d pixels per side)"), width,
                 height, MAX_SIDE);
    return FALSE;
  }
  return TRUE;
}

/* Allocate new storage; on failure the document keeps its old pixels. */
static gboolean
reallocate (TesseraDocument *self, int width, int height, GError **error)
{
  if (!check_size (width, height, error))
    return FALSE;
  guint8 *mask = g_try_malloc0 ((gsize) width * height);
  cairo_surface_t *s = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, width, height);
  if (!mask || cairo_surface_status (s) != CAIRO_STATUS_SUCCESS) {
    g_free (mask);
    cairo_surface_destroy (s);
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE,
                 _("Not enough memory for a %d×%d picture"), width, height);
    return FALSE;
  }
  g_clear_pointer (&self->surface, cairo_surface_destroy);
  g_free (self->mask.data);
  self->surface = s;
  self->mask = (TesseraMaskBuf) { mask, width, height, width };
  return TRUE;
}

TesseraDocument *
tessera_document_new (int width, int height, GError **error)
{
  g_autoptr (TesseraDocument) self = g_object_new (TESSERA_TYPE_DOCUMENT, NULL);
  if (!reallocate (self, width, height, error))
    return NULL;
  memset (cairo_image_surface_get_data (self->surface), 0xff, (gsize) width * height * 4);
  cairo_surface_mark_dirty (self->surface);
  return g_steal_pointer (&self);
}

int
tessera_document_get_width (TesseraDocument *self)
{
  return self->mask.width;
}

int
tessera_document_get_height (TesseraDocument *self)
{
  return self->mask.height;
}

cairo_surface_t *
tessera_document_get_surface (TesseraDocument *self)
{
  return self->surface;
}

TesseraMaskBuf *
tessera_document_get_mask (TesseraDocument *self)
{
  return &self->mask;
}

gboolean
tessera_document_get_mask_visible (TesseraDocument *self)
{
  return self->mask_visible;
}

void
tessera_document_set_mask_visible (TesseraDocument *self, gboolean visible)
{
  if (self->mask_visible == !!visible)
    return;
  self->mask_visible = !!visible;
  emit_all (self, TESSERA_CHANGE_MASK);
}

static inline guint32
pack_premultiplied (const guint8 *p)
{
  guint a = p[3];
  guint r = (p[0] * a + 127) / 255, g = (p[1] * a + 127) / 255, b = (p[2] * a + 127) / 255;
  return (a << 24) | (r << 16) | (g << 8) | b;
}

static inline void
unpack_straight (guint32 px, guint8 *out)
{
  guint a = px >> 24;
  guint r = (px >> 16) & 0xff, g = (px >> 8) & 0xff, b = px & 0xff;
  if (a == 0) {
    out[0] = out[1] = out[2] = out[3] = 0;
    return;
  }
  out[0] = (guint8) MIN (255u, (r * 255 + a / 2) / a);
  out[1] = (guint8) MIN (255u, (g * 255 + a / 2) / a);
  out[2] = (guint8) MIN (255u, (b * 255 + a / 2) / a);
  out[3] = (guint8) a;
}

gboolean
tessera_document_set_rgba (TesseraDocument *self, const guint8 *rgba, int width, int height,
                           int stride, GError **error)
{
  if (!reallocate (self, width, height, error))
    return FALSE;
  guint32 *dst = (guint32 *) cairo_image_surface_get_data (self->surface);
  for (int y = 0; y < height; y++)
    for (int x = 0; x < width; x++)
      dst[(gsize) y * width + x] = pack_premultiplied (rgba + (gsize) y * stride + x * 4);
  cairo_surface_mark_dirty (self->surface);
  emit_all (self, TESSERA_CHANGE_IMAGE | TESSERA_CHANGE_MASK | TESSERA_CHANGE_SIZE);
  return TRUE;
}

GBytes *
tessera_document_get_rgba (TesseraDocument *self)
{
  gsize n = (gsize) self->mask.width * self->mask.height;
  guint8 *out = g_try_malloc (n * 4);
  if (!out)
    return NULL;
  cairo_surface_flush (self->surface);
  const guint32 *src = (const guint32 *) cairo_image_surface_get_data (self->surface);
  for (gsize i = 0; i < n; i++)
    unpack_straight (src[i], out + i * 4);
  return g_bytes_new_take (out, n * 4);
}

GBytes *
tessera_state_dup_rgba (TesseraState *s)
{
  gsize n = (gsize) s->width * s->height;
  guint8 *out = g_try_malloc (n * 4);
  if (!out)
    return NULL;
  const guint32 *src = g_bytes_get_data (s->image, NULL);
  for (gsize i = 0; i < n; i++)
    unpack_straight (src[i], out + i * 4);
  return g_bytes_new_take (out, n * 4);
}

GBytes *
tessera_document_get_mask_bytes (TesseraDocument *self)
{
  return g_bytes_new (self->mask.data, (gsize) self->mask.width * self->mask.height);
}

gboolean
tessera_document_set_mask_bytes (TesseraDocument *self, GBytes *mask, GError **error)
{
  if (g_bytes_get_size (mask) != (gsize) self->mask.width * self->mask.height) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                 _("The mask does not have the picture’s size"));
    return FALSE;
  }
  memcpy (self->mask.data, g_bytes_get_data (mask, NULL), g_bytes_get_size (mask));
  emit_all (self, TESSERA_CHANGE_MASK);
  return TRUE;
}

gboolean
tessera_document_composite_rgba (TesseraDocument *self, GBytes *rgba, GBytes *coverage,
                                 GError **error)
{
  gsize n = (gsize) self->mask.width * self->mask.height;
  if (g_bytes_get_size (rgba) != n * 4 || (coverage && g_bytes_get_size (coverage) != n)) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                 _("The result does not have the picture’s size"));
    return FALSE;
  }
  const guint8 *src = g_bytes_get_data (rgba, NULL);
  const guint8 *cov = coverage ? g_bytes_get_data (coverage, NULL) : NULL;
  guint32 *dst = (guint32 *) cairo_image_surface_get_data (self->surface);
  cairo_surface_flush (self->surface);
  for (gsize i = 0; i < n; i++) {
    guint c = cov ? cov[i] : 255;
    if (c == 0)
      continue;
    guint32 s = pack_premultiplied (src + i * 4);
    if (c == 255) {
      dst[i] = s;
      continue;
    }
    guint32 d = dst[i], out = 0;
    for (int sh = 0; sh < 32; sh += 8) {
      guint a = (s >> sh) & 0xff, b = (d >> sh) & 0xff;
      out |= ((a * c + b * (255 - c) + 127) / 255) << sh;
    }
    dst[i] = out;
  }
  cairo_surface_mark_dirty (self->surface);
  emit_all (self, TESSERA_CHANGE_IMAGE);
  return TRUE;
}

void
tessera_document_paint (TesseraDocument *self, const TesseraBrush *brush, double x0, double y0,
                        double p0, double x1, double y1, double p1)
{
  TesseraRect r = tessera_mask_segment (&self->mask, brush, x0, y0, p0, x1, y1, p1);
  if (!tessera_rect_is_empty (&r))
    emit_changed (self, TESSERA_CHANGE_MASK, r.x, r.y, r.width, r.height);
}

void
tessera_document_dab (TesseraDocument *self, const TesseraBrush *brush, double x, double y,
                      double pressure)
{
  TesseraRect r = tessera_mask_stamp (&self->mask, brush, x, y, pressure);
  if (!tessera_rect_is_empty (&r))
    emit_changed (self, TESSERA_CHANGE_MASK, r.x, r.y, r.width, r.height);
}

void
tessera_document_mask_clear (TesseraDocument *self)
{
  tessera_mask_fill (&self->mask, 0);
  emit_all (self, TESSERA_CHANGE_MASK);
}

void
tessera_document_mask_fill (TesseraDocument *self)
{
  tessera_mask_fill (&self->mask, 255);
  emit_all (self, TESSERA_CHANGE_MASK);
}

void
tessera_document_mask_invert (TesseraDocument *self)
{
  tessera_mask_invert (&self->mask);
  emit_all (self, TESSERA_CHANGE_MASK);
}

gboolean
tessera_document_extend (TesseraDocument *self, int left, int top, int right, int bottom,
                         GError **error)
{
  if (left < 0 || top < 0 || right < 0 || bottom < 0) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                 _("The canvas can only grow"));
    return FALSE;
  }
  int ow = self->mask.width, oh = self->mask.height;
  int nw = ow + left + right, nh = oh + top + bottom;
  cairo_surface_t *old = cairo_surface_reference (self->surface);
  if (!reallocate (self, nw, nh, error)) {
    cairo_surface_destroy (old);
    return FALSE;
  }
  /* The new surface starts transparent; copy the old picture into place. */
  cairo_t *cr = cairo_create (self->surface);
  cairo_set_source_surface (cr, old, left, top);
  cairo_set_operator (cr, CAIRO_OPERATOR_SOURCE);
  cairo_paint (cr);
  cairo_destroy (cr);
  cairo_surface_destroy (old);
  tessera_mask_fill (&self->mask, 255);
  for (int y = top; y < top + oh; y++)
    memset (self->mask.data + (gsize) y * nw + left, 0, ow);
  emit_all (self, TESSERA_CHANGE_IMAGE | TESSERA_CHANGE_MASK | TESSERA_CHANGE_SIZE);
  return TRUE;
}

static GBytes *
image_bytes (TesseraDocument *self)
{
  cairo_surface_flush (self->surface);
  return g_bytes_new (cairo_image_surface_get_data (self->surface),
                      (gsize) self->mask.width * self->mask.height * 4);
}

TesseraState *
tessera_document_snapshot_from (TesseraDocument *self, TesseraState *base, TesseraChange changed)
{
  TesseraState *s = g_atomic_rc_box_new0 (TesseraState);
  s->width = self->mask.width;
  s->height = self->mask.height;
  gboolean same_size = base && base->width == s->width && base->height == s->height;
  if (same_size && !(changed & (TESSERA_CHANGE_IMAGE | TESSERA_CHANGE_SIZE)))
    s->image = g_bytes_ref (base->image);
  else
    s->image = image_bytes (self);
  if (same_size && !(changed & (TESSERA_CHANGE_MASK | TESSERA_CHANGE_SIZE)))
    s->mask = g_bytes_ref (base->mask);
  else
    s->mask = tessera_document_get_mask_bytes (self);
  return s;
}

TesseraState *
tessera_document_snapshot (TesseraDocument *self)
{
  return tessera_document_snapshot_from (self, NULL, 0);
}

void
tessera_document_restore (TesseraDocument *self, TesseraState *state)
{
  TesseraChange what = TESSERA_CHANGE_IMAGE | TESSERA_CHANGE_MASK;
  if (state->width != self->mask.width || state->height != self->mask.height) {
    /* Same-size allocation cannot fail for a size we held before, barring OOM. */
    if (!reallocate (self, state->width, state->height, NULL))
      return;
    what |= TESSERA_CHANGE_SIZE;
  }
  memcpy (cairo_image_surface_get_data (self->surface), g_bytes_get_data (state->image, NULL),
          g_bytes_get_size (state->image));
  cairo_surface_mark_dirty (self->surface);
  memcpy (self->mask.data, g_bytes_get_data (state->mask, NULL), g_bytes_get_size (state->mask));
  emit_all (self, what);
}

guint32
tessera_document_get_pixel (TesseraDocument *self, int x, int y)
{
  g_return_val_if_fail (x >= 0 && y >= 0 && x < self->mask.width && y < self->mask.height, 0);
  cairo_surface_flush (self->surface);
  return ((const guint32 *) cairo_image_surface_get_data (self->surface))
      [(gsize) y * self->mask.width + x];
}

guint8
tessera_document_get_mask_value (TesseraDocument *self, int x, int y)
{
  g_return_val_if_fail (x >= 0 && y >= 0 && x < self->mask.width && y < self->mask.height, 0);
  return self->mask.data[(gsize) y * self->mask.stride + x];
}
