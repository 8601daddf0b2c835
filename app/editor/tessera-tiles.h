/* tessera-tiles.h — the picture and its tinted mask as texture tiles, for the canvas.
 *
 * The document is cut into 256² tiles; each is a texture built when first drawn and rebuilt
 * only after a change touches it, so a brush dab costs one or two tiles, not the picture.
 * Zoomed out, tiles are built at a reduced level (1/2, 1/4, … of the resolution, box-filtered)
 * no finer than twice the screen's pixels: the renderer then handles a texture size that
 * follows the view, not the picture (GTK 4.8's cairo renderer converts every texture it
 * draws, every frame). A mask tile with nothing in it has no texture at all. */
#pragma once

#include <gtk/gtk.h>

#include "tessera-document.h"

G_BEGIN_DECLS

#define TESSERA_TILE 256   /* picture pixels per tile side */

typedef struct _TesseraTiles TesseraTiles;

TesseraTiles *tessera_tiles_new (void);
void          tessera_tiles_free (TesseraTiles *tiles);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TesseraTiles, tessera_tiles_free)

/* Forgets every tile: a new or resized picture of width × height. */
void tessera_tiles_reset (TesseraTiles *tiles, int width, int height);
/* Forgets the tiles (of the layers in `what`) whose pixels a change of this rectangle
 * reaches, their aprons included. */
void tessera_tiles_invalidate (TesseraTiles *tiles, TesseraChange what, int x, int y, int w,
                               int h);

int tessera_tiles_get_n_x (TesseraTiles *tiles);
int tessera_tiles_get_n_y (TesseraTiles *tiles);
/* The level to draw at for a zoom (widget pixels per picture pixel): 0 is full resolution,
 * level L has 2^-L of it. */
int tessera_tiles_level_for_zoom (double zoom);

/* Tile (tx, ty) of the picture (mask: of the tinted mask) at `level`, built from doc if it
 * is not cached; NULL for a mask tile with nothing painted. *rect: where the texture goes, in
 * picture coordinates. It reaches a little past the tile (the apron, which scaled drawing
 * filters against instead of transparency): clip it to the tile. */
GdkTexture *tessera_tiles_get (TesseraTiles *tiles, TesseraDocument *doc, gboolean mask,
                               int level, int tx, int ty, graphene_rect_t *rect);
/* Tiles built since the last call (tests and benchmarks: a dab rebuilds only what it
 * touched). */
guint       tessera_tiles_take_builds (TesseraTiles *tiles);

/* Premultiplied BGRA (cairo ARGB32) of the mask tint at coverage m. */
guint32     tessera_tiles_tint (guint8 m);

G_END_DECLS
