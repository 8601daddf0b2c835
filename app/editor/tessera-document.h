/* tessera-document.h — the picture being edited: an image and its mask.
 *
 * Pure model, no widgets: the canvas listens to ::changed and redraws only the rectangle it
 * names; history stores immutable TesseraState snapshots and restores them. */
#pragma once

#include <cairo.h>
#include <glib-object.h>

#include "tessera-mask.h"

G_BEGIN_DECLS

typedef enum {
  TESSERA_CHANGE_IMAGE = 1 << 0,
  TESSERA_CHANGE_MASK = 1 << 1,
  TESSERA_CHANGE_SIZE = 1 << 2,
} TesseraChange;

/* An immutable copy of a document: cairo ARGB32 pixels (stride width*4) and the mask
 * (stride width). Shared by reference between history entries when unchanged. */
typedef struct {
  int width;
  int height;
  GBytes *image;
  GBytes *mask;
} TesseraState;

/* Takes references on image (width*height*4 bytes) and mask (width*height bytes). */
TesseraState *tessera_state_new (int width, int height, GBytes *image, GBytes *mask);
TesseraState *tessera_state_ref (TesseraState *s);
/* The state's picture as straight RGBA (stride width*4); NULL when out of memory. */
GBytes       *tessera_state_dup_rgba (TesseraState *s);
void          tessera_state_unref (TesseraState *s);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TesseraState, tessera_state_unref)

#define TESSERA_TYPE_DOCUMENT (tessera_document_get_type ())
G_DECLARE_FINAL_TYPE (TesseraDocument, tessera_document, TESSERA, DOCUMENT, GObject)

/* A blank (white) canvas with an empty mask; NULL with an error when it cannot be allocated. */
TesseraDocument *tessera_document_new (int width, int height, GError **error);

int              tessera_document_get_width (TesseraDocument *self);
int              tessera_document_get_height (TesseraDocument *self);
cairo_surface_t *tessera_document_get_surface (TesseraDocument *self);
TesseraMaskBuf  *tessera_document_get_mask (TesseraDocument *self);
gboolean         tessera_document_get_mask_visible (TesseraDocument *self);
void             tessera_document_set_mask_visible (TesseraDocument *self, gboolean visible);

/* Replace the whole picture (and size) from straight-alpha RGBA; the mask is cleared. */
gboolean tessera_document_set_rgba (TesseraDocument *self, const guint8 *rgba, int width,
                                    int height, int stride, GError **error);
/* Straight-alpha RGBA copy (stride width*4) for the model and for export. */
GBytes  *tessera_document_get_rgba (TesseraDocument *self);
/* Mask copy (stride width). */
GBytes  *tessera_document_get_mask_bytes (TesseraDocument *self);
gboolean tessera_document_set_mask_bytes (TesseraDocument *self, GBytes *mask, GError **error);
/* Paint straight-alpha RGBA pixels of the document's size over the picture, weighted by
 * coverage (stride width; NULL: everywhere), so pixels outside it never change. */
gboolean tessera_document_composite_rgba (TesseraDocument *self, GBytes *rgba,
                                          GBytes *coverage, GError **error);

/* Mask painting; each emits ::changed for the touched area only. */
void tessera_document_paint (TesseraDocument *self, const TesseraBrush *brush, double x0,
                             double y0, double p0, double x1, double y1, double p1);
void tessera_document_dab (TesseraDocument *self, const TesseraBrush *brush, double x, double y,
                           double pressure);
void tessera_document_mask_clear (TesseraDocument *self);
void tessera_document_mask_fill (TesseraDocument *self);
void tessera_document_mask_invert (TesseraDocument *self);

/* Grow the canvas by the given number of pixels on each side. The new area is transparent
 * and selected in the mask (it is what Outpaint fills); the old mask is cleared. */
gboolean tessera_document_extend (TesseraDocument *self, int left, int top, int right,
                                  int bottom, GError **error);

/* Snapshot and restore; restore emits ::changed with the flags that really changed. */
TesseraState *tessera_document_snapshot (TesseraDocument *self);
/* A snapshot that reuses the image bytes of base when only the mask differs, and so on. */
TesseraState *tessera_document_snapshot_from (TesseraDocument *self, TesseraState *base,
                                              TesseraChange changed);
void          tessera_document_restore (TesseraDocument *self, TesseraState *state);

/* 0xAARRGGBB premultiplied, as cairo stores it; for tests and the colour picker. */
guint32 tessera_document_get_pixel (TesseraDocument *self, int x, int y);
guint8  tessera_document_get_mask_value (TesseraDocument *self, int x, int y);

G_END_DECLS
