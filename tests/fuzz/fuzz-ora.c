/* fuzz-ora.c — fuzz target for OpenRaster projects as the editor opens them
 * (tessera_project_decode: libzip, stack.xml, PNG layers through the shared image decoder,
 * the history's JSON). Links only the editor's model library, no GTK.
 *
 * Two kinds of input. A zip file (a real .ora) is decoded as it is. But random changes to a
 * zip mostly break its CRCs, so the fuzzer would hardly get past libzip; inputs starting
 * "ORA\0" therefore list members — name, NUL, 4-byte little-endian length, bytes — that are
 * zipped here (stored, correct CRCs) and then decoded, so mutations reach the layer list, the
 * history and the layers.
 *
 * Whatever the bytes: no crash, no GLib critical (fuzz-glib.h makes them crashes), and either
 * a G_IO_ERROR with a message or a project that keeps the model's invariants, saves, and
 * opens again the same. */
#include "fuzz-glib.h"
#include "tessera-project.h"

#include <stdint.h>
#include <string.h>
#include <zip.h>

#define MEMBERS_MAGIC "ORA\0"

/* Reads one member description; FALSE at the end of the input. */
static gboolean
next_member (const guint8 **p, const guint8 *end, const char **name, const guint8 **data,
             gsize *len)
{
  const guint8 *nul = *p < end ? memchr (*p, 0, end - *p) : NULL;
  if (!nul || end - nul < 5)
    return FALSE;
  guint32 n;
  memcpy (&n, nul + 1, 4);
  n = GUINT32_FROM_LE (n);
  *name = (const char *) *p;
  *data = nul + 5;
  *len = MIN ((gsize) n, (gsize) (end - *data));
  *p = *data + *len;
  return TRUE;
}

/* The members zipped (stored); NULL when libzip refuses them (a duplicate or empty name). */
static GBytes *
zip_members (const guint8 *p, const guint8 *end)
{
  zip_source_t *src = zip_source_buffer_create (NULL, 0, 0, NULL);
  zip_t *zip = src ? zip_open_from_source (src, ZIP_TRUNCATE, NULL) : NULL;
  if (!zip) {
    zip_source_free (src);
    return NULL;
  }
  zip_source_keep (src);   /* the archive is written into it, read after zip_close */
  const char *name;
  const guint8 *data;
  gsize len;
  gboolean ok = TRUE;
  while (ok && next_member (&p, end, &name, &data, &len)) {
    zip_source_t *m = zip_source_buffer (zip, data, len, 0);
    zip_int64_t index = m ? zip_file_add (zip, name, m, ZIP_FL_ENC_UTF_8) : -1;
    if (index < 0 && m)
      zip_source_free (m);
    ok = index >= 0 && zip_set_file_compression (zip, index, ZIP_CM_STORE, 0) == 0;
  }
  GBytes *out = NULL;
  if (ok && zip_close (zip) == 0) {
    zip_stat_t st;
    if (zip_source_stat (src, &st) == 0 && zip_source_open (src) == 0) {
      guint8 *buf = g_malloc (st.size + 1);
      zip_int64_t n = zip_source_read (src, buf, st.size);
      zip_source_close (src);
      out = n >= 0 ? g_bytes_new_take (buf, n) : (g_free (buf), NULL);
    }
  } else {
    zip_discard (zip);
  }
  zip_source_free (src);
  return out;
}

static void
check_state (const TesseraState *s)
{
  g_assert (s->width > 0 && s->height > 0);
  g_assert (g_bytes_get_size (s->image) == (gsize) s->width * s->height * 4);
  g_assert (g_bytes_get_size (s->mask) == (gsize) s->width * s->height);
}

static void
check_project (TesseraProject *p)
{
  check_state (p->state);
  g_assert (p->entries->len == 0 || p->position < p->entries->len);
  for (guint i = 0; i < p->entries->len; i++) {
    TesseraHistoryEntry *e = g_ptr_array_index (p->entries, i);
    TesseraState *s = tessera_history_entry_get_state (e);
    check_state (s);
    guint n = tessera_history_entry_get_n_variants (e);
    g_assert (n == 0 || tessera_history_entry_get_selected_variant (e) < n);
    for (guint v = 0; v < n; v++)
      g_assert (g_bytes_get_size (tessera_history_entry_get_variant (e, v)) ==
                (gsize) s->width * s->height * 4);
    const TesseraParams *params = tessera_history_entry_get_params (e);
    if (params)
      g_assert (params->prompt && params->negative_prompt &&
                ts_mode_info (params->mode));
  }
}

static void
check_same (TesseraProject *a, TesseraProject *b)
{
  g_assert (a->state->width == b->state->width && a->state->height == b->state->height);
  g_assert (g_bytes_equal (a->state->mask, b->state->mask));
  g_assert (a->entries->len == b->entries->len && a->position == b->position);
  for (guint i = 0; i < a->entries->len; i++) {
    TesseraHistoryEntry *ea = g_ptr_array_index (a->entries, i);
    TesseraHistoryEntry *eb = g_ptr_array_index (b->entries, i);
    g_assert (tessera_history_entry_get_kind (ea) == tessera_history_entry_get_kind (eb));
    g_assert (g_str_equal (tessera_history_entry_get_label (ea),
                           tessera_history_entry_get_label (eb)));
    g_assert (tessera_history_entry_get_n_variants (ea) ==
              tessera_history_entry_get_n_variants (eb));
  }
}

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  fuzz_glib_make_criticals_fatal ();
  gboolean members = size >= 4 && memcmp (data, MEMBERS_MAGIC, 4) == 0;
  g_autoptr (GBytes) bytes = members ? zip_members (data + 4, data + size)
                                     : g_bytes_new_static (data, size);
  if (!bytes)
    return 0;
  g_autoptr (GError) error = NULL;
  g_autoptr (TesseraProject) p = tessera_project_decode (bytes, &error);
  if (!p) {
    g_assert (error && error->domain == G_IO_ERROR && error->message[0] != '\0');
    g_assert (g_utf8_validate (error->message, -1, NULL));
    return 0;
  }
  check_project (p);
  /* What opens must save, and open again as the same project. */
  g_autoptr (GBytes) again = tessera_project_encode (p, &error);
  g_assert (again && !error);
  g_autoptr (TesseraProject) back = tessera_project_decode (again, &error);
  if (!back)
    g_error ("the saved project does not open again: %s", error ? error->message : "no error");
  check_project (back);
  check_same (p, back);
  return 0;
}
