/* tessera-tiles.c — texture tiles of the picture and mask at reduced levels. */
#include "tessera-tiles.h"

#include <math.h>
#include <string.h>

#define N_LEVELS 5        /* 1, 1/2, 1/4, 1/8, 1/16 of the picture's resolution */
#define APRON_TEXELS 4    /* neighbour texels around each tile: scaled drawing reads up to
                             two past an edge, and they must be the real neighbours */

/* A mask tile that was built and found empty: drawn as nothing. */
static char empty_mask_marker;
#define EMPTY_MASK ((GdkTexture *) &empty_mask_marker)

struct _TesseraTiles {
  int width, height;
  int n_x, n_y;
  GdkTexture **slots[2][N_LEVELS];   /* [mask][level], n_x × n_y each, allocated when used */
  guint builds;
};

/* The mask tint: a translucent magenta reads well over photos and emoji alike. */
static const double tint[3] = { 0.93, 0.16, 0.52 };
#define TINT_ALPHA 0.55

static guint32 tint_table[256];

static gpointer
fill_tint_table (gpointer data)
{
  for (int m = 0; m < 256; m++) {
    double a = TINT_ALPHA * m / 255.0;
    tint_table[m] = ((guint32) lround (a * 255) << 24)
                    | ((guint32) lround (tint[0] * a * 255) << 16)
                    | ((guint32) lround (tint[1] * a * 255) << 8)
                    | (guint32) lround (tint[2] * a * 255);
  }
  return NULL;
}

guint32
tessera_tiles_tint (guint8 m)
{
  static GOnce once = G_ONCE_INIT;
  g_once (&once, fill_tint_table, NULL);
  return tint_table[m];
}

TesseraTiles *
tessera_tiles_new (void)
{
  return g_new0 (TesseraTiles, 1);
}

static void
clear_slot (GdkTexture **slot)
{
  if (*slot != EMPTY_MASK)
    g_clear_object (slot);
  *slot = NULL;
}

static void
free_slots (TesseraTiles *t)
{
  for (int mask = 0; mask < 2; mask++)
    for (int level = 0; level < N_LEVELS; level++) {
      GdkTexture **s = t->slots[mask][level];
      for (int i = 0; s && i < t->n_x * t->n_y; i++)
        clear_slot (&s[i]);
      g_clear_pointer (&t->slots[mask][level], g_free);
    }
}

void
tessera_tiles_free (TesseraTiles *t)
{
  if (!t)
    return;
  free_slots (t);
  g_free (t);
}

void
tessera_tiles_reset (TesseraTiles *t, int width, int height)
{
  free_slots (t);
  t->width = width;
  t->height = height;
  t->n_x = (width + TESSERA_TILE - 1) / TESSERA_TILE;
  t->n_y = (height + TESSERA_TILE - 1) / TESSERA_TILE;
}

int
tessera_tiles_get_n_x (TesseraTiles *t)
{
  return t->n_x;
}

int
tessera_tiles_get_n_y (TesseraTiles *t)
{
  return t->n_y;
}

int
tessera_tiles_level_for_zoom (double zoom)
{
  if (zoom >= 1.0)
    return 0;
  /* The coarsest level still at least as fine as the screen: 2^-L >= zoom. */
  return CLAMP ((int) floor (log2 (1.0 / zoom)), 0, N_LEVELS - 1);
}

/* The picture pixels tile (tx, ty) is built from at `level`: the tile and its apron. */
static TesseraRect
tile_source (TesseraTiles *t, int level, int tx, int ty)
{
  int apron = APRON_TEXELS << level;
  int x0 = MAX (0, tx * TESSERA_TILE - apron), y0 = MAX (0, ty * TESSERA_TILE - apron);
  int x1 = MIN (t->width, (tx + 1) * TESSERA_TILE + apron);
  int y1 = MIN (t->height, (ty + 1) * TESSERA_TILE + apron);
  return (TesseraRect) { x0, y0, x1 - x0, y1 - y0 };
}

void
tessera_tiles_invalidate (TesseraTiles *t, TesseraChange what, int x, int y, int w, int h)
{
  for (int mask = 0; mask < 2; mask++) {
    if (!(what & (mask ? TESSERA_CHANGE_MASK : TESSERA_CHANGE_IMAGE)))
      continue;
    for (int level = 0; level < N_LEVELS; level++) {
      GdkTexture **s = t->slots[mask][level];
      if (!s)
        continue;
      /* A change next to a tile edge also shows in the neighbours' aprons. */
      int apron = APRON_TEXELS << level;
      int tx0 = MAX (0, (x - apron) / TESSERA_TILE), ty0 = MAX (0, (y - apron) / TESSERA_TILE);
      int tx1 = MIN (t->n_x - 1, (x + w + apron - 1) / TESSERA_TILE);
      int ty1 = MIN (t->n_y - 1, (y + h + apron - 1) / TESSERA_TILE);
      for (int ty = ty0; ty <= ty1; ty++)
        for (int tx = tx0; tx <= tx1; tx++)
          clear_slot (&s[ty * t->n_x + tx]);
    }
  }
}

/* Premultiplied ARGB32 of r, each texel the mean of a step × step block (fewer at the far
 * edges), stride tw. */
static guint32 *
image_texels (TesseraDocument *doc, TesseraRect r, int step, int tw, int th)
{
  cairo_surface_t *s = tessera_document_get_surface (doc);
  cairo_surface_flush (s);
  int stride = cairo_image_surface_get_stride (s);
  const guint8 *base = cairo_image_surface_get_data (s) + (gsize) r.y * stride + r.x * 4;
  guint32 *px = g_malloc ((gsize) tw * th * 4);
  if (step == 1) {
    for (int y = 0; y < th; y++)
      memcpy (px + (gsize) y * tw, base + (gsize) y * stride, (gsize) tw * 4);
    return px;
  }
  for (int ty = 0; ty < th; ty++)
    for (int tx = 0; tx < tw; tx++) {
      int bw = MIN (step, r.width - tx * step), bh = MIN (step, r.height - ty * step);
      guint sum[4] = { 0 };
      for (int y = 0; y < bh; y++) {
        const guint8 *p = base + (gsize) (ty * step + y) * stride + (gsize) tx * step * 4;
        for (int x = 0; x < bw * 4; x++)
          sum[x & 3] += p[x];
      }
      guint n = (guint) (bw * bh);
      guint8 *o = (guint8 *) (px + (gsize) ty * tw + tx);
      for (int k = 0; k < 4; k++)
        o[k] = (guint8) ((sum[k] + n / 2) / n);
    }
  return px;
}

/* The tinted mask of r at step × step blocks; NULL when nothing in r is painted. */
static guint32 *
mask_texels (TesseraDocument *doc, TesseraRect r, int step, int tw, int th)
{
  TesseraMaskBuf *m = tessera_document_get_mask (doc);
  guint32 *px = g_malloc ((gsize) tw * th * 4);
  gboolean any = FALSE;
  for (int ty = 0; ty < th; ty++)
    for (int tx = 0; tx < tw; tx++) {
      int bw = MIN (step, r.width - tx * step), bh = MIN (step, r.height - ty * step);
      guint sum = 0;
      for (int y = 0; y < bh; y++) {
        const guint8 *row = m->data + (gsize) (r.y + ty * step + y) * m->stride + r.x
                            + tx * step;
        for (int x = 0; x < bw; x++)
          sum += row[x];
      }
      guint n = (guint) (bw * bh);
      guint8 v = (guint8) ((sum + n / 2) / n);
      any |= v != 0;
      px[(gsize) ty * tw + tx] = tessera_tiles_tint (v);
    }
  if (!any)
    g_clear_pointer (&px, g_free);
  return px;
}

static GdkTexture *
build (TesseraTiles *t, TesseraDocument *doc, gboolean mask, int level, int tx, int ty)
{
  TesseraRect r = tile_source (t, level, tx, ty);
  int step = 1 << level;
  int tw = (r.width + step - 1) / step, th = (r.height + step - 1) / step;
  t->builds++;
  guint32 *px = mask ? mask_texels (doc, r, step, tw, th) : image_texels (doc, r, step, tw, th);
  if (!px)
    return EMPTY_MASK;
  g_autoptr (GBytes) bytes = g_bytes_new_take (px, (gsize) tw * th * 4);
  return gdk_memory_texture_new (tw, th, GDK_MEMORY_DEFAULT, bytes, (gsize) tw * 4);
}

GdkTexture *
tessera_tiles_get (TesseraTiles *t, TesseraDocument *doc, gboolean mask, int level, int tx,
                   int ty, graphene_rect_t *rect)
{
  level = CLAMP (level, 0, N_LEVELS - 1);
  GdkTexture ***slots = &t->slots[mask ? 1 : 0][level];
  if (!*slots)
    *slots = g_new0 (GdkTexture *, t->n_x * t->n_y);
  GdkTexture **slot = &(*slots)[ty * t->n_x + tx];
  if (!*slot)
    *slot = build (t, doc, mask, level, tx, ty);
  if (*slot == EMPTY_MASK)
    return NULL;
  /* Whole texels: the last row and column may reach past the picture's edge. */
  TesseraRect r = tile_source (t, level, tx, ty);
  int step = 1 << level;
  *rect = GRAPHENE_RECT_INIT (r.x, r.y, gdk_texture_get_width (*slot) * step,
                              gdk_texture_get_height (*slot) * step);
  return *slot;
}

guint
tessera_tiles_take_builds (TesseraTiles *t)
{
  guint n = t->builds;
  t->builds = 0;
  return n;
}
