/* test-document.c — the editor's document model without a display: mask ops, document
 * painting and snapshots, history. */
#include <string.h>

#include "tessera-document.h"
#include "tessera-history.h"

static TesseraMaskBuf
mask_new (int w, int h)
{
  return (TesseraMaskBuf) { g_malloc0 ((gsize) w * h), w, h, w };
}

static void
test_stamp_hard (void)
{
  TesseraMaskBuf m = mask_new (64, 64);
  TesseraBrush b = { 20, 1.0, FALSE };
  TesseraRect r = tessera_mask_stamp (&m, &b, 32, 32, 1.0);
  /* A hard dab of diameter 20 covers pixels whose centres lie within radius 10. */
  g_assert_cmpint (m.data[32 * 64 + 32], ==, 255);
  g_assert_cmpint (m.data[32 * 64 + 32 + 9], ==, 255);
  g_assert_cmpint (m.data[32 * 64 + 32 + 11], ==, 0);
  gsize n = tessera_mask_count (&m, 255);
  /* π r² ≈ 314 pixels. */
  g_assert_cmpuint (n, >, 290);
  g_assert_cmpuint (n, <, 340);
  /* The dirty rectangle covers every changed pixel. */
  TesseraRect bounds = tessera_mask_bounds (&m);
  g_assert_cmpint (bounds.x, >=, r.x);
  g_assert_cmpint (bounds.y, >=, r.y);
  g_assert_cmpint (bounds.x + bounds.width, <=, r.x + r.width);
  g_assert_cmpint (bounds.y + bounds.height, <=, r.y + r.height);
  g_free (m.data);
}

static void
test_stamp_soft_pressure_erase (void)
{
  TesseraMaskBuf m = mask_new (64, 64);
  TesseraBrush soft = { 32, 0.0, FALSE };
  tessera_mask_stamp (&m, &soft, 32, 32, 1.0);
  /* Soft brushes fall off monotonically from the centre. */
  guint8 c = m.data[32 * 64 + 32], mid = m.data[32 * 64 + 40], edge = m.data[32 * 64 + 46];
  g_assert_cmpint (c, >, mid);
  g_assert_cmpint (mid, >, edge);

  /* Half pressure halves the diameter. */
  TesseraMaskBuf p = mask_new (64, 64);
  TesseraBrush hard = { 20, 1.0, FALSE };
  tessera_mask_stamp (&p, &hard, 32, 32, 0.5);
  g_assert_cmpint (p.data[32 * 64 + 32 + 4], ==, 255);
  g_assert_cmpint (p.data[32 * 64 + 32 + 6], ==, 0);

  /* The eraser removes what the brush painted. */
  TesseraBrush eraser = { 20, 1.0, TRUE };
  tessera_mask_stamp (&p, &eraser, 32, 32, 1.0);
  g_assert_cmpuint (tessera_mask_count (&p, 1), ==, 0);
  g_free (m.data);
  g_free (p.data);
}

static void
test_segment_continuous (void)
{
  TesseraMaskBuf m = mask_new (128, 32);
  TesseraBrush b = { 6, 1.0, FALSE };
  tessera_mask_segment (&m, &b, 10, 16, 1.0, 110, 16, 1.0);
  /* No gaps along the line. */
  for (int x = 10; x <= 110; x++)
    g_assert_cmpint (m.data[16 * 128 + x], ==, 255);
  g_assert_cmpint (m.data[16 * 128 + 120], ==, 0);
  g_free (m.data);
}

static void
test_fill_invert_grow_feather (void)
{
  TesseraMaskBuf m = mask_new (33, 17);
  tessera_mask_fill (&m, 255);
  g_assert_cmpuint (tessera_mask_count (&m, 255), ==, 33 * 17);
  tessera_mask_invert (&m);
  g_assert_cmpuint (tessera_mask_count (&m, 1), ==, 0);
  TesseraRect empty = tessera_mask_bounds (&m);
  g_assert_true (tessera_rect_is_empty (&empty));

  m.data[8 * 33 + 16] = 255;
  g_assert_true (tessera_mask_grow (&m, 3));
  g_assert_cmpuint (tessera_mask_count (&m, 255), ==, 7 * 7);
  TesseraRect r = tessera_mask_bounds (&m);
  g_assert_cmpint (r.x, ==, 13);
  g_assert_cmpint (r.width, ==, 7);

  g_assert_true (tessera_mask_feather (&m, 4));
  /* Feathering keeps the centre high and softens the square's edge. */
  g_assert_cmpint (m.data[8 * 33 + 16], >, 200);
  guint8 edge = m.data[8 * 33 + 19];
  g_assert_cmpint (edge, >, 0);
  g_assert_cmpint (edge, <, 255);
  g_free (m.data);
}

static guint changes;
static TesseraRect last_change;

static void
on_changed (TesseraDocument *doc, guint what, int x, int y, int w, int h, gpointer data)
{
  changes++;
  last_change = (TesseraRect) { x, y, w, h };
}

static void
test_document_paint_and_snapshot (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (TesseraDocument) doc = tessera_document_new (300, 200, &error);
  g_assert_no_error (error);
  g_assert_cmphex (tessera_document_get_pixel (doc, 5, 5), ==, 0xffffffff);
  g_signal_connect (doc, "changed", G_CALLBACK (on_changed), NULL);
  g_autoptr (TesseraState) before = tessera_document_snapshot (doc);

  TesseraBrush b = { 10, 1.0, FALSE };
  tessera_document_paint (doc, &b, 50, 50, 1.0, 60, 50, 1.0);
  g_assert_cmpuint (changes, ==, 1);
  /* Only the stroke's neighbourhood is reported, not the whole picture. */
  g_assert_cmpint (last_change.width, <, 30);
  g_assert_cmpint (last_change.height, <, 20);
  g_assert_cmpint (tessera_document_get_mask_value (doc, 55, 50), ==, 255);

  /* A mask-only snapshot shares the image bytes with its base. */
  g_autoptr (TesseraState) after = tessera_document_snapshot_from (doc, before,
                                                                   TESSERA_CHANGE_MASK);
  g_assert_true (after->image == before->image);
  g_assert_false (after->mask == before->mask);

  tessera_document_restore (doc, before);
  g_assert_cmpint (tessera_document_get_mask_value (doc, 55, 50), ==, 0);
  tessera_document_restore (doc, after);
  g_assert_cmpint (tessera_document_get_mask_value (doc, 55, 50), ==, 255);
}

static void
test_document_rgba_roundtrip (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (TesseraDocument) doc = tessera_document_new (4, 4, &error);
  guint8 px[4 * 3 * 4];
  for (guint i = 0; i < sizeof px; i++)
    px[i] = (guint8) (i * 37 + 11);
  for (int i = 0; i < 12; i++)
    px[i * 4 + 3] = 255;   /* opaque: exact round trip */
  g_assert_true (tessera_document_set_rgba (doc, px, 4, 3, 16, &error));
  g_assert_cmpint (tessera_document_get_height (doc), ==, 3);
  g_autoptr (GBytes) out = tessera_document_get_rgba (doc);
  g_assert_cmpmem (g_bytes_get_data (out, NULL), g_bytes_get_size (out), px, sizeof px);

  /* Bad sizes are errors, not crashes. */
  g_assert_false (tessera_document_set_rgba (doc, px, 0, 3, 16, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
  g_clear_error (&error);
  g_autoptr (TesseraDocument) none = tessera_document_new (-1, 5, &error);
  g_assert_null (none);
  g_assert_nonnull (error);
}

static void
test_document_composite_and_extend (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (TesseraDocument) doc = tessera_document_new (8, 8, &error);
  guint8 red[8 * 8 * 4], cov[8 * 8] = { 0 };
  for (int i = 0; i < 64; i++) {
    red[i * 4] = 255; red[i * 4 + 1] = 0; red[i * 4 + 2] = 0; red[i * 4 + 3] = 255;
  }
  cov[3 * 8 + 3] = 255;
  cov[3 * 8 + 4] = 128;
  g_autoptr (GBytes) rb = g_bytes_new (red, sizeof red);
  g_autoptr (GBytes) cb = g_bytes_new (cov, sizeof cov);
  g_assert_true (tessera_document_composite_rgba (doc, rb, cb, &error));
  /* Outside the coverage nothing changes; inside it is the result; in between, a blend. */
  g_assert_cmphex (tessera_document_get_pixel (doc, 0, 0), ==, 0xffffffff);
  g_assert_cmphex (tessera_document_get_pixel (doc, 3, 3), ==, 0xffff0000);
  guint32 half = tessera_document_get_pixel (doc, 4, 3);
  g_assert_cmpint ((half >> 8) & 0xff, >, 120);
  g_assert_cmpint ((half >> 8) & 0xff, <, 135);

  g_assert_true (tessera_document_extend (doc, 0, 0, 16, 0, &error));
  g_assert_cmpint (tessera_document_get_width (doc), ==, 24);
  g_assert_cmphex (tessera_document_get_pixel (doc, 3, 3), ==, 0xffff0000);
  g_assert_cmphex (tessera_document_get_pixel (doc, 20, 3), ==, 0);
  g_assert_cmpint (tessera_document_get_mask_value (doc, 20, 3), ==, 255);
  g_assert_cmpint (tessera_document_get_mask_value (doc, 3, 3), ==, 0);
  g_assert_false (tessera_document_extend (doc, -1, 0, 0, 0, &error));
}

static TesseraHistoryEntry *
entry (TesseraDocument *doc, const char *label)
{
  g_autoptr (TesseraState) s = tessera_document_snapshot (doc);
  return tessera_history_entry_new (TESSERA_ENTRY_MASK, label, s, NULL);
}

static void
test_history (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (TesseraDocument) doc = tessera_document_new (16, 16, &error);
  g_autoptr (TesseraHistory) h = tessera_history_new (3);
  g_autoptr (TesseraHistoryEntry) e0 = entry (doc, "zero");
  g_autoptr (TesseraHistoryEntry) e1 = entry (doc, "one");
  g_autoptr (TesseraHistoryEntry) e2 = entry (doc, "two");
  g_autoptr (TesseraHistoryEntry) e3 = entry (doc, "three");
  tessera_history_reset (h, e0);
  g_assert_false (tessera_history_can_undo (h));
  tessera_history_push (h, e1);
  tessera_history_push (h, e2);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (h)), ==, 3);
  g_assert_true (tessera_history_undo (h) == e1);
  g_assert_true (tessera_history_can_redo (h));
  g_assert_true (tessera_history_redo (h) == e2);
  g_assert_null (tessera_history_redo (h));
  /* Undo then a new change drops the undone entry. */
  tessera_history_undo (h);
  tessera_history_push (h, e3);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (h)), ==, 3);
  g_assert_false (tessera_history_can_redo (h));
  g_assert_true (tessera_history_get_current (h) == e3);
  /* The cap forgets the oldest. */
  tessera_history_push (h, e2);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (h)), ==, 3);
  g_autoptr (TesseraHistoryEntry) first = g_list_model_get_item (G_LIST_MODEL (h), 0);
  g_assert_true (first == e1);
  g_assert_true (tessera_history_jump (h, 0) == e1);
  g_assert_cmpuint (tessera_history_get_position (h), ==, 0);
  g_assert_null (tessera_history_jump (h, 7));

  /* Variants stay with their entry. */
  g_autoptr (GPtrArray) v = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  g_ptr_array_add (v, g_bytes_new_static ("ab", 2));
  g_ptr_array_add (v, g_bytes_new_static ("cd", 2));
  tessera_history_entry_set_variants (e3, v, 1);
  g_assert_cmpuint (tessera_history_entry_get_n_variants (e3), ==, 2);
  g_assert_cmpuint (tessera_history_entry_get_selected_variant (e3), ==, 1);
}

static void
test_params (void)
{
  /* Project files name modes by their table ids. */
  for (guint i = 0; i < ts_mode_count (); i++)
    g_assert_true (ts_mode_from_id (ts_mode_nth (i)->id) == ts_mode_nth (i));
  g_assert_null (ts_mode_from_id ("nonsense"));
  g_autoptr (TesseraParams) p = tessera_params_new ();
  g_assert_cmpint (p->n_variants, ==, 4);
  g_free (p->prompt);
  p->prompt = g_strdup ("a cat");
  g_autoptr (TesseraParams) c = tessera_params_copy (p);
  g_assert_cmpstr (c->prompt, ==, "a cat");
  g_assert_true (c->prompt != p->prompt);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/mask/stamp-hard", test_stamp_hard);
  g_test_add_func ("/mask/stamp-soft-pressure-erase", test_stamp_soft_pressure_erase);
  g_test_add_func ("/mask/segment-continuous", test_segment_continuous);
  g_test_add_func ("/mask/fill-invert-grow-feather", test_fill_invert_grow_feather);
  g_test_add_func ("/document/paint-and-snapshot", test_document_paint_and_snapshot);
  g_test_add_func ("/document/rgba-roundtrip", test_document_rgba_roundtrip);
  g_test_add_func ("/document/composite-and-extend", test_document_composite_and_extend);
  g_test_add_func ("/history/undo-redo-cap", test_history);
  g_test_add_func ("/params/modes", test_params);
  return g_test_run ();
}
