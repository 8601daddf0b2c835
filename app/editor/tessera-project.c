/* tessera-project.c — OpenRaster read/write with libzip, GdkPixbuf PNG and json-glib. */
#include "tessera-project.h"

#include <gdk-pixbuf/gdk-pixbuf.h>
#include <glib/gi18n.h>
#include <json-glib/json-glib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <zip.h>

#include "tessera-atomic-file.h"
#include "tessera-image-decode.h"

#define ORA_MIME "image/openraster"
#define HISTORY_PATH "tessera/history.json"
#define HISTORY_FORMAT 1
#define THUMB_MAX 256
/* Members are read whole before they are parsed: these stop zip bombs early. Layers are
 * pictures (the image decoder's limit); the layer list and the history are text. */
#define MAX_LAYER_SIZE ((zip_uint64_t) TESSERA_IMAGE_MAX_BYTES)
#define MAX_TEXT_SIZE ((zip_uint64_t) 64 << 20)

static const char *const kind_ids[] = {
  [TESSERA_ENTRY_NEW] = "new",
  [TESSERA_ENTRY_OPEN] = "open",
  [TESSERA_ENTRY_MASK] = "mask",
  [TESSERA_ENTRY_GENERATE] = "generate",
  [TESSERA_ENTRY_RESIZE] = "resize",
};

static gboolean
invalid (GError **error, const char *message)
{
  g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, message);
  return FALSE;
}

/* ---- PNG cache ---- */

typedef struct {
  GBytes *png;
  guint generation;   /* of the last save that used it */
} CacheEntry;

struct _TesseraPngCache {
  GMutex lock;
  GHashTable *table;   /* GBytes* (referenced, so the address stays unique) → CacheEntry */
  guint generation;
};

static void
cache_entry_free (gpointer data)
{
  CacheEntry *e = data;
  g_bytes_unref (e->png);
  g_free (e);
}

TesseraPngCache *
tessera_png_cache_new (void)
{
  TesseraPngCache *c = g_atomic_rc_box_new0 (TesseraPngCache);
  g_mutex_init (&c->lock);
  c->table = g_hash_table_new_full (g_direct_hash, g_direct_equal,
                                    (GDestroyNotify) g_bytes_unref, cache_entry_free);
  return c;
}

TesseraPngCache *
tessera_png_cache_ref (TesseraPngCache *c)
{
  return g_atomic_rc_box_acquire (c);
}

static void
cache_clear (gpointer data)
{
  TesseraPngCache *c = data;
  g_hash_table_unref (c->table);
  g_mutex_clear (&c->lock);
}

void
tessera_png_cache_unref (TesseraPngCache *c)
{
  if (c)
    g_atomic_rc_box_release_full (c, cache_clear);
}

guint
tessera_png_cache_get_size (TesseraPngCache *c)
{
  g_mutex_lock (&c->lock);
  guint n = g_hash_table_size (c->table);
  g_mutex_unlock (&c->lock);
  return n;
}

static guint
cache_begin (TesseraPngCache *c)
{
  g_mutex_lock (&c->lock);
  guint gen = ++c->generation;
  g_mutex_unlock (&c->lock);
  return gen;
}

static GBytes *
cache_lookup (TesseraPngCache *c, GBytes *pixels, guint gen)
{
  g_mutex_lock (&c->lock);
  CacheEntry *e = g_hash_table_lookup (c->table, pixels);
  GBytes *png = NULL;
  if (e) {
    e->generation = gen;
    png = g_bytes_ref (e->png);
  }
  g_mutex_unlock (&c->lock);
  return png;
}

static void
cache_store (TesseraPngCache *c, GBytes *pixels, GBytes *png, guint gen)
{
  CacheEntry *e = g_new0 (CacheEntry, 1);
  e->png = g_bytes_ref (png);
  e->generation = gen;
  g_mutex_lock (&c->lock);
  g_hash_table_replace (c->table, g_bytes_ref (pixels), e);
  g_mutex_unlock (&c->lock);
}

static gboolean
cache_entry_stale (gpointer key, gpointer value, gpointer data)
{
  return ((CacheEntry *) value)->generation != GPOINTER_TO_UINT (data);
}

/* Forgets what the save of generation gen did not use (pictures gone from the history),
 * unless a newer save has begun meanwhile. */
static void
cache_end (TesseraPngCache *c, guint gen)
{
  g_mutex_lock (&c->lock);
  if (c->generation == gen)
    g_hash_table_foreach_remove (c->table, cache_entry_stale, GUINT_TO_POINTER (gen));
  g_mutex_unlock (&c->lock);
}

/* ---- project ---- */

TesseraProject *
tessera_project_new (TesseraState *state, TesseraHistory *history)
{
  TesseraProject *p = g_new0 (TesseraProject, 1);
  p->state = tessera_state_ref (state);
  p->entries = g_ptr_array_new_with_free_func (g_object_unref);
  guint n = history ? g_list_model_get_n_items (G_LIST_MODEL (history)) : 0;
  for (guint i = 0; i < n; i++)
    g_ptr_array_add (p->entries, g_list_model_get_item (G_LIST_MODEL (history), i));
  p->position = history ? tessera_history_get_position (history) : 0;
  return p;
}

void
tessera_project_free (TesseraProject *p)
{
  if (!p)
    return;
  tessera_state_unref (p->state);
  g_ptr_array_unref (p->entries);
  tessera_params_free (p->draft);
  tessera_png_cache_unref (p->cache);
  g_free (p);
}

gboolean
tessera_project_fill_history (TesseraProject *p, TesseraHistory *history)
{
  if (p->entries->len == 0)
    return FALSE;
  tessera_history_reset (history, g_ptr_array_index (p->entries, 0));
  for (guint i = 1; i < p->entries->len; i++)
    tessera_history_push (history, g_ptr_array_index (p->entries, i));
  /* A history capped shorter than the file's drops the oldest entries. */
  guint dropped = p->entries->len - g_list_model_get_n_items (G_LIST_MODEL (history));
  tessera_history_jump (history, p->position >= dropped ? p->position - dropped : 0);
  return TRUE;
}

/* ---- pixels ---- */

/* Cairo's premultiplied ARGB32 (native endian) to straight RGBA. */
static GBytes *
premultiplied_to_rgba (GBytes *image)
{
  gsize n = g_bytes_get_size (image) / 4;
  const guint32 *src = g_bytes_get_data (image, NULL);
  guint8 *out = g_try_malloc (n * 4);
  if (!out)
    return NULL;
  for (gsize i = 0; i < n; i++) {
    guint a = src[i] >> 24;
    guint8 *o = out + i * 4;
    if (a == 0) {
      o[0] = o[1] = o[2] = o[3] = 0;
      continue;
    }
    o[0] = MIN (255u, (((src[i] >> 16) & 0xff) * 255 + a / 2) / a);
    o[1] = MIN (255u, (((src[i] >> 8) & 0xff) * 255 + a / 2) / a);
    o[2] = MIN (255u, ((src[i] & 0xff) * 255 + a / 2) / a);
    o[3] = a;
  }
  return g_bytes_new_take (out, n * 4);
}

static GBytes *
rgba_to_premultiplied (GBytes *rgba)
{
  gsize n = g_bytes_get_size (rgba) / 4;
  const guint8 *src = g_bytes_get_data (rgba, NULL);
  guint32 *out = g_try_malloc (n * 4);
  if (!out)
    return NULL;
  for (gsize i = 0; i < n; i++) {
    const guint8 *p = src + i * 4;
    guint a = p[3];
    out[i] = (a << 24) | (((p[0] * a + 127) / 255) << 16) | (((p[1] * a + 127) / 255) << 8)
             | ((p[2] * a + 127) / 255);
  }
  return g_bytes_new_take (out, n * 4);
}

/* The mask as a red layer whose alpha is the mask value, so other programs show it. */
static GBytes *
mask_to_rgba (GBytes *mask)
{
  gsize n = g_bytes_get_size (mask);
  const guint8 *m = g_bytes_get_data (mask, NULL);
  guint8 *out = g_try_malloc (n * 4);
  if (!out)
    return NULL;
  for (gsize i = 0; i < n; i++) {
    out[i * 4] = 255;
    out[i * 4 + 1] = out[i * 4 + 2] = 0;
    out[i * 4 + 3] = m[i];
  }
  return g_bytes_new_take (out, n * 4);
}

static GBytes *
rgba_to_mask (GBytes *rgba)
{
  gsize n = g_bytes_get_size (rgba) / 4;
  const guint8 *src = g_bytes_get_data (rgba, NULL);
  guint8 *out = g_try_malloc (n);
  if (!out)
    return NULL;
  for (gsize i = 0; i < n; i++)
    out[i] = src[i * 4 + 3];
  return g_bytes_new_take (out, n);
}

static GBytes *
png_encode (GBytes *rgba, int width, int height, GError **error)
{
  g_autoptr (GdkPixbuf) pb = gdk_pixbuf_new_from_bytes (rgba, GDK_COLORSPACE_RGB, TRUE, 8, width,
                                                        height, width * 4);
  char *buf = NULL;
  gsize size = 0;
  /* Fast compression: autosave writes the whole history often. */
  char *keys[] = { "compression", NULL };
  char *values[] = { "3", NULL };
  if (!gdk_pixbuf_save_to_bufferv (pb, &buf, &size, "png", keys, values, error))
    return NULL;
  return g_bytes_new_take (buf, size);
}

static GBytes *
thumbnail_png (GBytes *rgba, int width, int height, GError **error)
{
  g_autoptr (GdkPixbuf) pb = gdk_pixbuf_new_from_bytes (rgba, GDK_COLORSPACE_RGB, TRUE, 8, width,
                                                        height, width * 4);
  double s = MIN (1.0, (double) THUMB_MAX / MAX (width, height));
  int tw = MAX (1, (int) (width * s)), th = MAX (1, (int) (height * s));
  g_autoptr (GdkPixbuf) small = gdk_pixbuf_scale_simple (pb, tw, th, GDK_INTERP_BILINEAR);
  if (!small) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE, _("Not enough memory for the picture"));
    return NULL;
  }
  char *buf = NULL;
  gsize size = 0;
  if (!gdk_pixbuf_save_to_buffer (small, &buf, &size, "png", error, NULL))
    return NULL;
  return g_bytes_new_take (buf, size);
}

/* ---- writing ---- */

typedef enum { PIXELS_PREMULTIPLIED, PIXELS_MASK, PIXELS_RGBA } PixelKind;

typedef struct {
  zip_t *zip;
  TesseraPngCache *cache;   /* may be NULL */
  guint generation;
  GPtrArray *keep;      /* GBytes that libzip reads from until zip_close */
  GHashTable *images;   /* GBytes* (a state's image or mask, or a variant) → member name */
  int width, height;
} Writer;

static gboolean
zip_failed (GError **error, zip_error_t *zerr)
{
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, _("Could not build the project file: %s"),
               zip_error_strerror (zerr));
  return FALSE;
}

static gboolean
add_member (Writer *w, const char *name, GBytes *data, gboolean compress, GError **error)
{
  g_ptr_array_add (w->keep, g_bytes_ref (data));
  zip_source_t *src = zip_source_buffer (w->zip, g_bytes_get_data (data, NULL),
                                         g_bytes_get_size (data), 0);
  zip_int64_t index = src ? zip_file_add (w->zip, name, src, ZIP_FL_ENC_UTF_8) : -1;
  if (index < 0) {
    if (src)
      zip_source_free (src);
    return zip_failed (error, zip_get_error (w->zip));
  }
  /* PNG is already compressed; the OpenRaster mimetype must be stored. */
  if (zip_set_file_compression (w->zip, index, compress ? ZIP_CM_DEFLATE : ZIP_CM_STORE, 0) < 0)
    return zip_failed (error, zip_get_error (w->zip));
  return TRUE;
}

/* PNG of a picture, mask or variant; encoded once per buffer when there is a cache. */
static GBytes *
encode_pixels (Writer *w, GBytes *pixels, PixelKind kind, int width, int height,
               GError **error)
{
  GBytes *png = w->cache ? cache_lookup (w->cache, pixels, w->generation) : NULL;
  if (png)
    return png;
  g_autoptr (GBytes) rgba = kind == PIXELS_MASK ? mask_to_rgba (pixels)
                            : kind == PIXELS_PREMULTIPLIED ? premultiplied_to_rgba (pixels)
                                                           : g_bytes_ref (pixels);
  if (!rgba) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE, _("Not enough memory to save"));
    return NULL;
  }
  png = png_encode (rgba, width, height, error);
  if (png && w->cache)
    cache_store (w->cache, pixels, png, w->generation);
  return png;
}

static gboolean
add_png (Writer *w, const char *name, GBytes *pixels, PixelKind kind, int width, int height,
         GError **error)
{
  g_autoptr (GBytes) png = encode_pixels (w, pixels, kind, width, height, error);
  return png && add_member (w, name, png, FALSE, error);
}

/* Writes a state's picture or mask once however many entries share it; returns its name. */
static const char *
add_shared (Writer *w, GBytes *pixels, gboolean is_mask, int width, int height, GError **error)
{
  const char *known = g_hash_table_lookup (w->images, pixels);
  if (known)
    return known;
  char *name = g_strdup_printf ("tessera/%s-%u.png", is_mask ? "mask" : "image",
                                g_hash_table_size (w->images));
  if (!add_png (w, name, pixels, is_mask ? PIXELS_MASK : PIXELS_PREMULTIPLIED, width, height,
                error)) {
    g_free (name);
    return NULL;
  }
  g_hash_table_insert (w->images, pixels, name);
  return name;
}

static void
build_params (JsonBuilder *b, const TesseraParams *p)
{
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "mode");
  json_builder_add_string_value (b, ts_mode_info (p->mode)->id);
  json_builder_set_member_name (b, "prompt");
  json_builder_add_string_value (b, p->prompt);
  json_builder_set_member_name (b, "negative-prompt");
  json_builder_add_string_value (b, p->negative_prompt);
  json_builder_set_member_name (b, "seed");
  json_builder_add_int_value (b, p->seed);
  json_builder_set_member_name (b, "variants");
  json_builder_add_int_value (b, p->n_variants);
  json_builder_set_member_name (b, "steps");
  json_builder_add_int_value (b, p->steps);
  json_builder_set_member_name (b, "guidance");
  json_builder_add_double_value (b, p->guidance);
  json_builder_set_member_name (b, "strength");
  json_builder_add_double_value (b, p->strength);
  json_builder_set_member_name (b, "edit-iterations");
  json_builder_add_int_value (b, p->edit_iterations);
  json_builder_end_object (b);
}

static gboolean
build_entry (Writer *w, JsonBuilder *b, TesseraHistoryEntry *e, guint index, GError **error)
{
  TesseraState *s = tessera_history_entry_get_state (e);
  const char *image = add_shared (w, s->image, FALSE, s->width, s->height, error);
  const char *mask = image ? add_shared (w, s->mask, TRUE, s->width, s->height, error) : NULL;
  if (!mask)
    return FALSE;
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "kind");
  json_builder_add_string_value (b, kind_ids[tessera_history_entry_get_kind (e)]);
  json_builder_set_member_name (b, "label");
  json_builder_add_string_value (b, tessera_history_entry_get_label (e));
  json_builder_set_member_name (b, "width");
  json_builder_add_int_value (b, s->width);
  json_builder_set_member_name (b, "height");
  json_builder_add_int_value (b, s->height);
  json_builder_set_member_name (b, "image");
  json_builder_add_string_value (b, image);
  json_builder_set_member_name (b, "mask");
  json_builder_add_string_value (b, mask);
  if (tessera_history_entry_get_params (e)) {
    json_builder_set_member_name (b, "params");
    build_params (b, tessera_history_entry_get_params (e));
  }
  guint n = tessera_history_entry_get_n_variants (e);
  if (n > 0) {
    json_builder_set_member_name (b, "selected-variant");
    json_builder_add_int_value (b, tessera_history_entry_get_selected_variant (e));
    json_builder_set_member_name (b, "variants");
    json_builder_begin_array (b);
    for (guint v = 0; v < n; v++) {
      GBytes *rgba = tessera_history_entry_get_variant (e, v);
      const char *known = g_hash_table_lookup (w->images, rgba);
      char *name = known ? g_strdup (known) : g_strdup_printf ("tessera/variant-%u-%u.png",
                                                               index, v);
      if (!known && !add_png (w, name, rgba, PIXELS_RGBA, s->width, s->height, error)) {
        g_free (name);
        return FALSE;
      }
      json_builder_add_string_value (b, name);
      if (!known)
        g_hash_table_insert (w->images, rgba, name);
      else
        g_free (name);
    }
    json_builder_end_array (b);
  }
  json_builder_end_object (b);
  return TRUE;
}

static gboolean
add_history (Writer *w, TesseraProject *p, GError **error)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "format");
  json_builder_add_int_value (b, HISTORY_FORMAT);
  json_builder_set_member_name (b, "position");
  json_builder_add_int_value (b, p->position);
  json_builder_set_member_name (b, "entries");
  json_builder_begin_array (b);
  for (guint i = 0; i < p->entries->len; i++)
    if (!build_entry (w, b, g_ptr_array_index (p->entries, i), i, error))
      return FALSE;
  json_builder_end_array (b);
  if (p->draft) {
    /* The request being written, so crash recovery brings back the prompt and mode too. */
    json_builder_set_member_name (b, "draft");
    build_params (b, p->draft);
  }
  json_builder_end_object (b);
  g_autoptr (JsonNode) root = json_builder_get_root (b);
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  json_generator_set_root (gen, root);
  gsize len;
  char *text = json_generator_to_data (gen, &len);
  g_autoptr (GBytes) bytes = g_bytes_new_take (text, len);
  return add_member (w, HISTORY_PATH, bytes, TRUE, error);
}

static GBytes *
stack_xml (int width, int height)
{
  /* The first layer is the top one. The mask is hidden so other programs show the picture. */
  char *xml = g_strdup_printf (
      "<?xml version='1.0' encoding='UTF-8'?>\n"
      "<image version=\"0.0.5\" w=\"%d\" h=\"%d\" "
      "xmlns:tessera=\"https://tessera.github.io/ns/ora/1\">\n"
      "  <stack>\n"
      "    <layer name=\"Mask\" src=\"data/mask.png\" x=\"0\" y=\"0\" opacity=\"0.5\" "
      "visibility=\"hidden\" tessera:role=\"mask\"/>\n"
      "    <layer name=\"Picture\" src=\"data/picture.png\" x=\"0\" y=\"0\" opacity=\"1.0\" "
      "visibility=\"visible\" tessera:role=\"picture\"/>\n"
      "  </stack>\n"
      "</image>\n",
      width, height);
  return g_bytes_new_take (xml, strlen (xml));
}

static gboolean
write_members (Writer *w, TesseraProject *p, GError **error)
{
  TesseraState *s = p->state;
  g_autoptr (GBytes) mime = g_bytes_new_static (ORA_MIME, strlen (ORA_MIME));
  g_autoptr (GBytes) stack = stack_xml (s->width, s->height);
  g_autoptr (GBytes) picture = premultiplied_to_rgba (s->image);
  if (!picture) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE, _("Not enough memory to save"));
    return FALSE;
  }
  g_autoptr (GBytes) picture_png = encode_pixels (w, s->image, PIXELS_PREMULTIPLIED, s->width,
                                                  s->height, error);
  g_autoptr (GBytes) thumb = picture_png ? thumbnail_png (picture, s->width, s->height, error)
                                         : NULL;
  return thumb && add_member (w, "mimetype", mime, FALSE, error)
         && add_member (w, "stack.xml", stack, TRUE, error)
         && add_member (w, "data/picture.png", picture_png, FALSE, error)
         && add_png (w, "data/mask.png", s->mask, PIXELS_MASK, s->width, s->height, error)
         /* The picture has no other layers to merge. */
         && add_member (w, "mergedimage.png", picture_png, FALSE, error)
         && add_member (w, "Thumbnails/thumbnail.png", thumb, FALSE, error)
         && add_history (w, p, error);
}

static GBytes *
read_source (zip_source_t *src, GError **error)
{
  zip_stat_t st;
  if (zip_source_stat (src, &st) < 0 || zip_source_open (src) < 0)
    return zip_failed (error, zip_source_error (src)), NULL;
  guint8 *buf = g_try_malloc (st.size ? st.size : 1);
  zip_int64_t n = buf ? zip_source_read (src, buf, st.size) : -1;
  zip_source_close (src);
  if (n < 0 || (zip_uint64_t) n != st.size) {
    g_free (buf);
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE, _("Not enough memory to save"));
    return NULL;
  }
  return g_bytes_new_take (buf, st.size);
}

GBytes *
tessera_project_encode (TesseraProject *p, GError **error)
{
  zip_error_t zerr;
  zip_error_init (&zerr);
  zip_source_t *src = zip_source_buffer_create (NULL, 0, 0, &zerr);
  if (!src) {
    zip_failed (error, &zerr);
    zip_error_fini (&zerr);
    return NULL;
  }
  /* The archive is written into src, which must outlive zip_close. */
  zip_source_keep (src);
  Writer w = { 0 };
  w.zip = zip_open_from_source (src, ZIP_TRUNCATE, &zerr);
  if (!w.zip) {
    zip_failed (error, &zerr);
    zip_error_fini (&zerr);
    zip_source_free (src);
    return NULL;
  }
  w.keep = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  w.cache = p->cache;
  if (w.cache)
    w.generation = cache_begin (w.cache);
  w.images = g_hash_table_new_full (g_direct_hash, g_direct_equal, NULL, g_free);
  GBytes *result = NULL;
  if (!write_members (&w, p, error))
    zip_discard (w.zip);
  else if (zip_close (w.zip) < 0) {
    zip_failed (error, zip_get_error (w.zip));
    zip_discard (w.zip);
  } else {
    result = read_source (src, error);
  }
  if (result && w.cache)
    cache_end (w.cache, w.generation);
  zip_source_free (src);
  g_ptr_array_unref (w.keep);
  g_hash_table_unref (w.images);
  zip_error_fini (&zerr);
  return result;
}

gboolean
tessera_project_save (TesseraProject *p, const char *path, GError **error)
{
  g_autoptr (GBytes) data = tessera_project_encode (p, error);
  return data && tessera_atomic_write (path, g_bytes_get_data (data, NULL),
                                       g_bytes_get_size (data), error);
}

/* ---- reading ---- */

typedef struct {
  zip_t *zip;
  GHashTable *layers;   /* read_layer's key → GBytes, so shared states stay shared */
} Reader;

static GBytes *
read_member (Reader *r, const char *name, zip_uint64_t max_size, GError **error)
{
  zip_stat_t st;
  zip_int64_t index = zip_name_locate (r->zip, name, 0);
  if (index < 0 || zip_stat_index (r->zip, index, 0, &st) < 0) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                 _("The project is damaged: “%s” is missing"), name);
    return NULL;
  }
  if (!(st.valid & ZIP_STAT_SIZE) || st.size > max_size) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                 _("The project is damaged: “%s” is too large"), name);
    return NULL;
  }
  guint8 *buf = g_try_malloc (st.size ? st.size : 1);
  if (!buf) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE, _("Not enough memory for the picture"));
    return NULL;
  }
  zip_file_t *f = zip_fopen_index (r->zip, index, 0);
  zip_int64_t n = f ? zip_fread (f, buf, st.size) : -1;
  if (f)
    zip_fclose (f);
  if (n < 0 || (zip_uint64_t) n != st.size) {
    g_free (buf);
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                 _("The project is damaged: “%s” cannot be read"), name);
    return NULL;
  }
  return g_bytes_new_take (buf, st.size);
}

static gboolean
has_member (Reader *r, const char *name)
{
  return zip_name_locate (r->zip, name, 0) >= 0;
}

/* Straight RGBA of the expected size (width 0: any size, reported back). */
static GBytes *
read_png (Reader *r, const char *name, int *width, int *height, GError **error)
{
  g_autoptr (GBytes) png = read_member (r, name, MAX_LAYER_SIZE, error);
  if (!png)
    return NULL;
  int w, h;
  g_autoptr (GBytes) rgba = tessera_image_decode (png, "png", NULL, &w, &h, error);
  if (!rgba) {
    g_prefix_error (error, _("The project’s layer “%s” cannot be read: "), name);
    return NULL;
  }
  if (*width && (w != *width || h != *height)) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                 _("The project is damaged: “%s” has the wrong size"), name);
    return NULL;
  }
  *width = w;
  *height = h;
  return g_steal_pointer (&rgba);
}

typedef enum { LAYER_PICTURE, LAYER_MASK, LAYER_VARIANT } LayerKind;

/* A layer as a state's picture (premultiplied), its mask, or a variant (straight RGBA), of
 * the given size. Decoded once per member, kind and size: histories name the same layers
 * many times, and a hostile one must not get a layer decoded once per mention. */
static GBytes *
read_layer (Reader *r, const char *name, LayerKind kind, int width, int height, GError **error)
{
  g_autofree char *key = g_strdup_printf ("%d:%dx%d:%s", kind, width, height, name);
  GBytes *known = g_hash_table_lookup (r->layers, key);
  if (known)
    return g_bytes_ref (known);
  g_autoptr (GBytes) rgba = read_png (r, name, &width, &height, error);
  if (!rgba)
    return NULL;
  GBytes *pixels = kind == LAYER_MASK      ? rgba_to_mask (rgba)
                   : kind == LAYER_PICTURE ? rgba_to_premultiplied (rgba)
                                           : g_bytes_ref (rgba);
  if (!pixels) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE, _("Not enough memory for the picture"));
    return NULL;
  }
  g_hash_table_insert (r->layers, g_steal_pointer (&key), g_bytes_ref (pixels));
  return pixels;
}

typedef struct {
  char *picture, *mask, *first;
} Stack;

static void
stack_start (GMarkupParseContext *ctx, const char *element, const char **names,
             const char **values, gpointer data, GError **error)
{
  Stack *st = data;
  if (!g_str_equal (element, "layer"))
    return;
  const char *src = NULL, *role = NULL;
  for (int i = 0; names[i]; i++) {
    if (g_str_equal (names[i], "src"))
      src = values[i];
    else if (g_str_equal (names[i], "tessera:role"))
      role = values[i];
  }
  if (!src)
    return;
  if (g_strcmp0 (role, "mask") == 0 && !st->mask)
    st->mask = g_strdup (src);
  else if (g_strcmp0 (role, "picture") == 0 && !st->picture)
    st->picture = g_strdup (src);
  else if (!st->first)
    st->first = g_strdup (src);
}

static gboolean
parse_stack (Reader *r, Stack *st, GError **error)
{
  g_autoptr (GBytes) xml = read_member (r, "stack.xml", MAX_TEXT_SIZE, error);
  if (!xml)
    return FALSE;
  static const GMarkupParser parser = { stack_start, NULL, NULL, NULL, NULL };
  g_autoptr (GMarkupParseContext) ctx = g_markup_parse_context_new (&parser, 0, st, NULL);
  gsize len;
  const char *text = g_bytes_get_data (xml, &len);
  if (!g_markup_parse_context_parse (ctx, text, len, NULL)
      || !g_markup_parse_context_end_parse (ctx, NULL))
    return invalid (error, _("The project is damaged: its layer list cannot be read"));
  return TRUE;
}

static TesseraState *
state_from_layers (Reader *r, const Stack *st, GError **error)
{
  /* Foreign files may have many layers: their merged image is what the user saw. */
  const char *picture = st->picture ? st->picture
                        : has_member (r, "mergedimage.png") ? "mergedimage.png" : st->first;
  if (!picture) {
    invalid (error, _("The project has no picture"));
    return NULL;
  }
  int w = 0, h = 0;
  g_autoptr (GBytes) rgba = read_png (r, picture, &w, &h, error);
  if (!rgba)
    return NULL;
  g_autoptr (GBytes) image = rgba_to_premultiplied (rgba);
  g_autoptr (GBytes) mask = NULL;
  if (st->mask)
    mask = read_layer (r, st->mask, LAYER_MASK, w, h, error);
  else
    mask = g_bytes_new_take (g_try_malloc0 ((gsize) w * h), (gsize) w * h);
  if (image && mask && g_bytes_get_data (mask, NULL))
    return tessera_state_new (w, h, image, mask);
  if (error && !*error)
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE, _("Not enough memory for the picture"));
  return NULL;
}

/* The picture and mask shown; files from other programs have no mask. */
static TesseraState *
read_current (Reader *r, GError **error)
{
  Stack st = { 0 };
  TesseraState *state = parse_stack (r, &st, error) ? state_from_layers (r, &st, error) : NULL;
  g_free (st.picture);
  g_free (st.mask);
  g_free (st.first);
  return state;
}

/* json-glib's typed getters warn (g_critical) on a member of another kind: a damaged or
 * hostile history gets the default instead. */
static JsonNode *
member_value (JsonObject *o, const char *name, GType type)
{
  JsonNode *n = json_object_get_member (o, name);
  if (!n || !JSON_NODE_HOLDS_VALUE (n))
    return NULL;
  GType t = json_node_get_value_type (n);
  return t == type || (type == G_TYPE_DOUBLE && t == G_TYPE_INT64) ? n : NULL;
}

/* json-glib hands a lone UTF-16 surrogate escape ("\ud83e") out as invalid UTF-8, which its
 * generator then saves and its parser refuses: a project that opened would not open again
 * once saved (found by fuzz-ora). Names and ids that are not UTF-8 count as missing; texts
 * the user wrote are repaired instead (U+FFFD), so a prompt is never lost whole. */
static const char *
member_string (JsonObject *o, const char *name, const char *fallback)
{
  JsonNode *n = member_value (o, name, G_TYPE_STRING);
  const char *s = n ? json_node_get_string (n) : NULL;
  return s && g_utf8_validate (s, -1, NULL) ? s : fallback;
}

static char *
member_text (JsonObject *o, const char *name)
{
  JsonNode *n = member_value (o, name, G_TYPE_STRING);
  const char *s = n ? json_node_get_string (n) : NULL;
  return g_utf8_make_valid (s ? s : "", -1);
}

static gint64
member_int (JsonObject *o, const char *name, gint64 fallback)
{
  JsonNode *n = member_value (o, name, G_TYPE_INT64);
  return n ? json_node_get_int (n) : fallback;
}

static double
member_double (JsonObject *o, const char *name, double fallback)
{
  JsonNode *n = member_value (o, name, G_TYPE_DOUBLE);
  return n ? json_node_get_double (n) : fallback;
}

static TesseraParams *
parse_params (JsonObject *o)
{
  TesseraParams *p = tessera_params_new ();
  const TsModeInfo *mode = ts_mode_from_id (member_string (o, "mode", ""));
  if (mode)
    p->mode = mode->mode;
  g_free (p->prompt);
  p->prompt = member_text (o, "prompt");
  g_free (p->negative_prompt);
  p->negative_prompt = member_text (o, "negative-prompt");
  p->seed = (guint32) member_int (o, "seed", 0);
  p->n_variants = (int) CLAMP (member_int (o, "variants", 4), 1, 64);
  p->steps = (int) CLAMP (member_int (o, "steps", 12), 1, 1000);
  /* The ranges the pipeline accepts (ts_pipeline_run's validation). */
  p->guidance = CLAMP (member_double (o, "guidance", 10.0), 0.0, 1000.0);
  p->strength = CLAMP (member_double (o, "strength", 0.6), 0.0, 1.0);
  p->edit_iterations = (int) CLAMP (member_int (o, "edit-iterations", 8), 1, 1000);
  return p;
}

static TesseraHistoryEntry *
parse_entry (Reader *r, JsonNode *node, GError **error)
{
  JsonObject *o = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
  if (!o) {
    invalid (error, _("The project’s history is damaged"));
    return NULL;
  }
  const char *kind_id = member_string (o, "kind", "");
  TesseraEntryKind kind = TESSERA_ENTRY_OPEN;
  for (guint k = 0; k < G_N_ELEMENTS (kind_ids); k++)
    if (g_str_equal (kind_id, kind_ids[k]))
      kind = k;
  gint64 w = member_int (o, "width", 0), h = member_int (o, "height", 0);
  const char *image_name = member_string (o, "image", "");
  const char *mask_name = member_string (o, "mask", "");
  if (w <= 0 || h <= 0 || w > TESSERA_IMAGE_MAX_SIDE || h > TESSERA_IMAGE_MAX_SIDE) {
    invalid (error, _("The project’s history is damaged"));
    return NULL;
  }
  g_autoptr (GBytes) image = read_layer (r, image_name, LAYER_PICTURE, w, h, error);
  g_autoptr (GBytes) mask = image ? read_layer (r, mask_name, LAYER_MASK, w, h, error) : NULL;
  if (!mask)
    return NULL;
  g_autoptr (TesseraState) state = tessera_state_new (w, h, image, mask);
  g_autoptr (TesseraParams) params = NULL;
  if (json_object_has_member (o, "params")
      && JSON_NODE_HOLDS_OBJECT (json_object_get_member (o, "params")))
    params = parse_params (json_object_get_object_member (o, "params"));
  g_autofree char *label = member_text (o, "label");
  g_autoptr (TesseraHistoryEntry) e = tessera_history_entry_new (kind, label, state, params);
  JsonNode *vn = json_object_get_member (o, "variants");
  if (vn && JSON_NODE_HOLDS_ARRAY (vn)) {
    JsonArray *va = json_node_get_array (vn);
    g_autoptr (GPtrArray) variants = g_ptr_array_new_with_free_func (
        (GDestroyNotify) g_bytes_unref);
    for (guint v = 0; v < json_array_get_length (va); v++) {
      JsonNode *item = json_array_get_element (va, v);
      const char *name = JSON_NODE_HOLDS_VALUE (item) ? json_node_get_string (item) : NULL;
      GBytes *rgba = name ? read_layer (r, name, LAYER_VARIANT, w, h, error) : NULL;
      if (!rgba) {
        if (!name)
          invalid (error, _("The project’s history is damaged"));
        return NULL;
      }
      g_ptr_array_add (variants, rgba);
    }
    gint64 sel = member_int (o, "selected-variant", 0);
    if (variants->len > 0)
      tessera_history_entry_set_variants (e, variants, (guint) CLAMP (sel, 0, variants->len - 1));
  }
  return g_steal_pointer (&e);
}

static gboolean
read_history (Reader *r, TesseraProject *p, GError **error)
{
  if (!has_member (r, HISTORY_PATH))
    return TRUE;
  g_autoptr (GBytes) json = read_member (r, HISTORY_PATH, MAX_TEXT_SIZE, error);
  if (!json)
    return FALSE;
  g_autoptr (JsonParser) parser = json_parser_new ();
  gsize len;
  const char *text = g_bytes_get_data (json, &len);
  /* An empty text parses, to no root at all. */
  JsonNode *top = json_parser_load_from_data (parser, text, len, NULL)
                      ? json_parser_get_root (parser) : NULL;
  if (!top || !JSON_NODE_HOLDS_OBJECT (top))
    return invalid (error, _("The project’s history is damaged"));
  JsonObject *root = json_node_get_object (top);
  if (member_int (root, "format", 0) > HISTORY_FORMAT)
    return invalid (error, _("The project was saved by a newer version of Tessera"));
  JsonNode *en = json_object_get_member (root, "entries");
  if (!en || !JSON_NODE_HOLDS_ARRAY (en))
    return invalid (error, _("The project’s history is damaged"));
  JsonArray *entries = json_node_get_array (en);
  for (guint i = 0; i < json_array_get_length (entries); i++) {
    TesseraHistoryEntry *e = parse_entry (r, json_array_get_element (entries, i), error);
    if (!e)
      return FALSE;
    g_ptr_array_add (p->entries, e);
  }
  gint64 pos = member_int (root, "position", 0);
  p->position = p->entries->len ? (guint) CLAMP (pos, 0, (gint64) p->entries->len - 1) : 0;
  JsonNode *draft = json_object_get_member (root, "draft");
  if (draft && JSON_NODE_HOLDS_OBJECT (draft))
    p->draft = parse_params (json_node_get_object (draft));
  return TRUE;
}

/* The smallest OpenRaster file holds a stored "mimetype" member, its central-directory entry
 * and the end record: well over this. Shorter input never reaches libzip, whose Debian 12
 * version reads past buffers that hold little more than an end record (seen under ASan). */
#define ORA_MIN_BYTES 128

TesseraProject *
tessera_project_decode (GBytes *ora, GError **error)
{
  if (g_bytes_get_size (ora) < ORA_MIN_BYTES) {
    invalid (error, _("This is not an OpenRaster file, or it is damaged"));
    return NULL;
  }
  zip_error_t zerr;
  zip_error_init (&zerr);
  zip_source_t *src = zip_source_buffer_create (g_bytes_get_data (ora, NULL),
                                                g_bytes_get_size (ora), 0, &zerr);
  Reader r = { 0 };
  r.zip = src ? zip_open_from_source (src, ZIP_RDONLY | ZIP_CHECKCONS, &zerr) : NULL;
  zip_error_fini (&zerr);
  if (!r.zip) {
    if (src)
      zip_source_free (src);
    invalid (error, _("This is not an OpenRaster file, or it is damaged"));
    return NULL;
  }
  r.layers = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                    (GDestroyNotify) g_bytes_unref);
  TesseraProject *p = NULL;
  g_autoptr (GBytes) mime = read_member (&r, "mimetype", 256, NULL);
  if (!mime || g_bytes_get_size (mime) != strlen (ORA_MIME)
      || memcmp (g_bytes_get_data (mime, NULL), ORA_MIME, strlen (ORA_MIME)) != 0) {
    invalid (error, _("This is not an OpenRaster file, or it is damaged"));
  } else {
    TesseraState *state = read_current (&r, error);
    if (state) {
      p = g_new0 (TesseraProject, 1);
      p->state = state;
      p->entries = g_ptr_array_new_with_free_func (g_object_unref);
      if (!read_history (&r, p, error))
        g_clear_pointer (&p, tessera_project_free);
    }
  }
  zip_discard (r.zip);   /* read-only: closes and frees the source */
  g_hash_table_unref (r.layers);
  return p;
}

TesseraProject *
tessera_project_load (const char *path, GError **error)
{
  g_autoptr (GMappedFile) map = g_mapped_file_new (path, FALSE, error);
  if (!map)
    return NULL;
  g_autoptr (GBytes) bytes = g_mapped_file_get_bytes (map);
  return tessera_project_decode (bytes, error);
}

/* ---- threads ---- */

/* Saving runs in its own thread at low CPU priority: autosave is background work and must
 * not slow the interface or a running generation on a machine with few cores. */
static gpointer
save_thread (gpointer data)
{
  GTask *task = data;
  GError *error = NULL;
  /* Per-thread on Linux; best effort elsewhere. */
  setpriority (PRIO_PROCESS, (id_t) syscall (SYS_gettid), 10);
  TesseraProject *p = g_task_get_task_data (task);
  const char *path = g_object_get_data (G_OBJECT (task), "path");
  if (tessera_project_save (p, path, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
  g_object_unref (task);
  return NULL;
}

void
tessera_project_save_async (TesseraProject *p, const char *path, GCancellable *cancellable,
                            GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, tessera_project_save_async);
  g_task_set_task_data (task, p, (GDestroyNotify) tessera_project_free);
  g_object_set_data_full (G_OBJECT (task), "path", g_strdup (path), g_free);
  GError *error = NULL;
  GThread *thread = g_thread_try_new ("tessera-save", save_thread, task, &error);
  if (thread) {
    g_thread_unref (thread);
    return;
  }
  g_task_return_error (task, error);
  g_object_unref (task);
}

gboolean
tessera_project_save_finish (GAsyncResult *result, GError **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
load_worker (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  GError *error = NULL;
  TesseraProject *p = tessera_project_load (data, &error);
  if (p)
    g_task_return_pointer (task, p, (GDestroyNotify) tessera_project_free);
  else
    g_task_return_error (task, error);
}

void
tessera_project_load_async (const char *path, GCancellable *cancellable,
                            GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, tessera_project_load_async);
  g_task_set_task_data (task, g_strdup (path), g_free);
  g_task_run_in_thread (task, load_worker);
}

TesseraProject *
tessera_project_load_finish (GAsyncResult *result, GError **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}
