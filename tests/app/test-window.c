/* test-window.c — the editor in a real window (under Xvfb), driven through its actions, with
 * assertions on the document and screenshots written as test artifacts. */
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "tessera-application.h"
#include "tessera-window.h"

static TesseraApplication *app;
static TesseraWindow *win;

static void
pump (void)
{
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

/* Iterate the main loop until cond() or the timeout; returns cond(). */
static gboolean
wait_for (gboolean (*cond) (void), double seconds)
{
  gint64 end = g_get_monotonic_time () + (gint64) (seconds * G_USEC_PER_SEC);
  while (!cond () && g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, TRUE);
  return cond ();
}

static gboolean
engine_settled (void)
{
  TesseraEngineState s = tessera_engine_get_state (tessera_application_get_engine (app));
  return s == TESSERA_ENGINE_READY || s == TESSERA_ENGINE_FAILED;
}

static void
act (const char *name, GVariant *param)
{
  g_assert_true (g_action_group_has_action (G_ACTION_GROUP (win), name));
  g_assert_true (g_action_group_get_action_enabled (G_ACTION_GROUP (win), name));
  g_action_group_activate_action (G_ACTION_GROUP (win), name, param);
  pump ();
}

static void
mark_drawn (gboolean *drawn)
{
  *drawn = TRUE;
}

/* Render the window through its own renderer and write a PNG artifact. */
static GdkTexture *
screenshot (const char *name)
{
  GtkWidget *w = GTK_WIDGET (win);
  pump ();
  int width = gtk_widget_get_width (w), height = gtk_widget_get_height (w);
  /* The paintable holds the widget's next drawn frame: wait for it. */
  g_autoptr (GdkPaintable) paintable = gtk_widget_paintable_new (w);
  gboolean drawn = FALSE;
  gulong id = g_signal_connect_swapped (paintable, "invalidate-contents",
                                        G_CALLBACK (mark_drawn), &drawn);
  gtk_widget_queue_draw (w);
  while (!drawn)
    g_main_context_iteration (NULL, TRUE);
  g_signal_handler_disconnect (paintable, id);
  GtkSnapshot *snapshot = gtk_snapshot_new ();
  gdk_paintable_snapshot (paintable, snapshot, width, height);
  g_autoptr (GskRenderNode) node = gtk_snapshot_free_to_node (snapshot);
  g_assert_nonnull (node);
  GskRenderer *renderer = gtk_native_get_renderer (GTK_NATIVE (w));
  GdkTexture *tex = gsk_renderer_render_texture (renderer, node,
                                                 &GRAPHENE_RECT_INIT (0, 0, width, height));
  const char *dir = g_getenv ("TESSERA_ARTIFACTS");
  if (dir) {
    g_mkdir_with_parents (dir, 0755);
    g_autofree char *path = g_build_filename (dir, name, NULL);
    g_assert_true (gdk_texture_save_to_png (tex, path));
    g_test_message ("screenshot: %s", path);
  }
  return tex;
}

static guint32 *
download (GdkTexture *t)
{
  int w = gdk_texture_get_width (t), h = gdk_texture_get_height (t);
  guint32 *px = g_new (guint32, (gsize) w * h);
  gdk_texture_download (t, (guchar *) px, (gsize) w * 4);
  return px;
}

/* Mean absolute difference of two screenshots inside a widget's area, 0..255. */
static double
region_diff (GdkTexture *a, GdkTexture *b, GtkWidget *area)
{
  graphene_rect_t r;
  g_assert_true (gtk_widget_compute_bounds (area, GTK_WIDGET (win), &r));
  g_autofree guint32 *pa = download (a), *pb = download (b);
  int w = gdk_texture_get_width (a);
  double sum = 0;
  gsize n = 0;
  for (int y = (int) r.origin.y; y < (int) (r.origin.y + r.size.height); y++)
    for (int x = (int) r.origin.x; x < (int) (r.origin.x + r.size.width); x++, n++)
      for (int k = 0; k < 24; k += 8)
        sum += abs ((int) ((pa[y * w + x] >> k) & 0xff) - (int) ((pb[y * w + x] >> k) & 0xff));
  return n ? sum / (n * 3) : 0;
}

static double
variance (GdkTexture *t)
{
  g_autofree guint32 *px = download (t);
  gsize n = (gsize) gdk_texture_get_width (t) * gdk_texture_get_height (t);
  double s = 0, s2 = 0;
  for (gsize i = 0; i < n; i++) {
    double v = (px[i] >> 8) & 0xff;
    s += v;
    s2 += v * v;
  }
  return s2 / n - (s / n) * (s / n);
}

static void
test_startup (void)
{
  gint64 t0 = g_get_monotonic_time ();
  g_application_activate (G_APPLICATION (app));
  win = TESSERA_WINDOW (gtk_application_get_active_window (GTK_APPLICATION (app)));
  g_assert_nonnull (win);
  while (!gtk_widget_get_mapped (GTK_WIDGET (win)))
    g_main_context_iteration (NULL, TRUE);
  gtk_test_widget_wait_for_draw (GTK_WIDGET (win));
  double secs = (g_get_monotonic_time () - t0) / 1e6;
  g_test_message ("window drawn after %.3f s", secs);
  g_assert_cmpfloat (secs, <, 1.0);

  /* The model loads in the background with visible state. */
  TesseraEngineState s = tessera_engine_get_state (tessera_application_get_engine (app));
  g_assert_true (s == TESSERA_ENGINE_LOADING || s == TESSERA_ENGINE_READY);

  /* The prompt has the keyboard. */
  GtkWidget *focus = gtk_root_get_focus (GTK_ROOT (win));
  g_assert_nonnull (focus);
  g_assert_true (focus == tessera_window_get_prompt_entry (win)
                 || gtk_widget_is_ancestor (focus, tessera_window_get_prompt_entry (win)));

  g_assert_true (wait_for (engine_settled, 60));
  g_assert_cmpint (tessera_engine_get_state (tessera_application_get_engine (app)), ==,
                   TESSERA_ENGINE_READY);
  g_autoptr (GdkTexture) shot = screenshot ("01-startup.png");
  g_assert_cmpfloat (variance (shot), >, 10.0);
}

static void
test_zoom (void)
{
  TesseraCanvas *c = tessera_window_get_canvas (win);
  act ("zoom-100", NULL);
  g_assert_cmpfloat (tessera_canvas_get_zoom (c), ==, 1.0);
  act ("zoom-in", NULL);
  g_assert_cmpfloat_with_epsilon (tessera_canvas_get_zoom (c), 1.25, 1e-9);
  act ("zoom-out", NULL);
  g_assert_cmpfloat_with_epsilon (tessera_canvas_get_zoom (c), 1.0, 1e-9);

  /* Zooming around a point keeps the image point under it fixed. */
  double ix, iy, ix2, iy2;
  tessera_canvas_widget_to_image (c, 100, 80, &ix, &iy);
  tessera_canvas_zoom_at (c, 6.0, 100, 80);
  tessera_canvas_widget_to_image (c, 100, 80, &ix2, &iy2);
  g_assert_cmpfloat_with_epsilon (ix, ix2, 1e-9);
  g_assert_cmpfloat_with_epsilon (iy, iy2, 1e-9);
  g_autoptr (GdkTexture) shot = screenshot ("02-zoom-600.png");

  act ("zoom-fit", NULL);
  g_assert_true (tessera_canvas_get_fit (c));
  TesseraDocument *doc = tessera_window_get_document (win);
  double wx0, wy0, wx1, wy1;
  tessera_canvas_image_to_widget (c, 0, 0, &wx0, &wy0);
  tessera_canvas_image_to_widget (c, tessera_document_get_width (doc),
                                  tessera_document_get_height (doc), &wx1, &wy1);
  /* Fit: the whole picture inside the canvas. */
  g_assert_cmpfloat (wx0, >=, 0);
  g_assert_cmpfloat (wy0, >=, 0);
  g_assert_cmpfloat (wx1, <=, gtk_widget_get_width (GTK_WIDGET (c)));
  g_assert_cmpfloat (wy1, <=, gtk_widget_get_height (GTK_WIDGET (c)));
}

/* A synthetic stroke from image point a to b with the given brush. */
static void
stroke (double ax, double ay, double bx, double by)
{
  TesseraCanvas *c = tessera_window_get_canvas (win);
  double wx, wy;
  tessera_canvas_image_to_widget (c, ax, ay, &wx, &wy);
  tessera_canvas_stroke_begin (c, wx, wy, 1.0);
  for (int i = 1; i <= 8; i++) {
    tessera_canvas_image_to_widget (c, ax + (bx - ax) * i / 8, ay + (by - ay) * i / 8, &wx, &wy);
    tessera_canvas_stroke_to (c, wx, wy, 1.0);
  }
  tessera_canvas_stroke_end (c);
  pump ();
}

static void
test_stroke_undo_redo (void)
{
  TesseraDocument *doc = tessera_window_get_document (win);
  TesseraHistory *h = tessera_window_get_history (win);
  TesseraCanvas *c = tessera_window_get_canvas (win);
  guint n0 = g_list_model_get_n_items (G_LIST_MODEL (h));
  tessera_canvas_set_brush (c, 40, 1.0, FALSE);
  /* Below 100 % the canvas draws from texture tiles. */
  tessera_canvas_zoom_at (c, 0.75, 0, 0);
  screenshot ("tmp.png");
  tessera_canvas_take_tile_uploads (c);

  stroke (150, 200, 350, 200);
  g_assert_cmpint (tessera_document_get_mask_value (doc, 250, 200), ==, 255);
  g_assert_cmpint (tessera_document_get_mask_value (doc, 250, 215), ==, 255);
  g_assert_cmpint (tessera_document_get_mask_value (doc, 250, 230), ==, 0);
  g_assert_cmpint (tessera_document_get_mask_value (doc, 100, 200), ==, 0);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (h)), ==, n0 + 1);

  /* The next frame rebuilds only the mask tiles the stroke touched: 2 of the 4 mask tiles
   * of a 512² picture, and no picture tiles. */
  g_autoptr (GdkTexture) painted = screenshot ("03-mask-stroke.png");
  guint uploads = tessera_canvas_take_tile_uploads (c);
  g_assert_cmpuint (uploads, >=, 1);
  g_assert_cmpuint (uploads, <=, 2);

  act ("undo", NULL);
  g_assert_cmpint (tessera_document_get_mask_value (doc, 250, 200), ==, 0);
  g_assert_true (g_action_group_get_action_enabled (G_ACTION_GROUP (win), "redo"));
  g_autoptr (GdkTexture) undone = screenshot ("tmp.png");
  g_assert_cmpfloat (region_diff (painted, undone, GTK_WIDGET (c)), >, 0.1);
  act ("redo", NULL);
  g_assert_cmpint (tessera_document_get_mask_value (doc, 250, 200), ==, 255);

  /* Mask commands, each one undoable step. */
  TesseraMaskBuf *m = tessera_document_get_mask (doc);
  act ("mask-invert", NULL);
  g_assert_cmpint (tessera_document_get_mask_value (doc, 250, 200), ==, 0);
  g_assert_cmpint (tessera_document_get_mask_value (doc, 10, 10), ==, 255);
  act ("mask-fill", NULL);
  g_assert_cmpuint (tessera_mask_count (m, 255), ==, (gsize) m->width * m->height);
  act ("mask-clear", NULL);
  g_assert_cmpuint (tessera_mask_count (m, 1), ==, 0);
  act ("undo", NULL);
  act ("undo", NULL);
  act ("undo", NULL);
  g_assert_cmpint (tessera_document_get_mask_value (doc, 250, 200), ==, 255);
  g_assert_cmpint (tessera_document_get_mask_value (doc, 10, 10), ==, 0);
}

static void
test_undo_shortcut_respects_text (void)
{
  TesseraHistory *h = tessera_window_get_history (win);
  GtkWidget *entry = tessera_window_get_prompt_entry (win);
  guint pos = tessera_history_get_position (h);
  g_assert_cmpuint (pos, >, 0);
  gtk_widget_grab_focus (entry);
  gtk_editable_set_text (GTK_EDITABLE (entry), "a red fox");
  pump ();
  /* In the prompt, Ctrl+Z belongs to the text: the picture's history must not move. */
  g_assert_false (tessera_window_undo_shortcut (win, FALSE));
  g_assert_cmpuint (tessera_history_get_position (h), ==, pos);
  /* On the canvas it undoes the picture. */
  gtk_widget_grab_focus (GTK_WIDGET (tessera_window_get_canvas (win)));
  g_assert_true (tessera_window_undo_shortcut (win, FALSE));
  g_assert_cmpuint (tessera_history_get_position (h), ==, pos - 1);
  g_assert_true (tessera_window_undo_shortcut (win, TRUE));
  g_assert_cmpuint (tessera_history_get_position (h), ==, pos);
}

static gboolean
not_running (void)
{
  return !tessera_window_is_running (win);
}

/* The longest the main loop went without running a 2 ms timer. */
static gint64 last_tick, max_gap;

static gboolean
tick (gpointer data)
{
  gint64 now = g_get_monotonic_time ();
  max_gap = MAX (max_gap, now - last_tick);
  last_tick = now;
  return G_SOURCE_CONTINUE;
}

static void
test_inpaint_apply_undo (void)
{
  TesseraDocument *doc = tessera_window_get_document (win);
  TesseraHistory *h = tessera_window_get_history (win);
  g_assert_cmpint (tessera_document_get_mask_value (doc, 250, 200), ==, 255);
  g_autoptr (TesseraState) before = tessera_document_snapshot (doc);
  guint32 outside = tessera_document_get_pixel (doc, 40, 450);

  g_action_group_change_action_state (G_ACTION_GROUP (win), "mode",
                                      g_variant_new_string ("inpaint"));
  gtk_editable_set_text (GTK_EDITABLE (tessera_window_get_prompt_entry (win)), "a red fox");
  last_tick = g_get_monotonic_time ();
  max_gap = 0;
  guint timer = g_timeout_add (2, tick, NULL);
  g_action_group_activate_action (G_ACTION_GROUP (win), "generate", NULL);
  g_assert_true (tessera_window_is_running (win));
  g_assert_true (wait_for (not_running, 60));
  g_source_remove (timer);
  g_test_message ("longest main-loop stall during generation: %.1f ms", max_gap / 1000.0);
  g_assert_cmpint (max_gap, <, 50000);

  /* Every step was reported, and the document is untouched until Apply. */
  g_assert_cmpint (tessera_window_get_progress_steps (win), ==, 6);
  g_assert_cmpuint (tessera_window_get_n_pending_variants (win), ==, 2);
  g_autoptr (TesseraState) pending = tessera_document_snapshot (doc);
  g_assert_true (g_bytes_equal (pending->image, before->image));
  g_autoptr (GdkTexture) shot = screenshot ("04-variants.png");

  act ("select-variant", g_variant_new_uint32 (1));
  /* Applying drops the entries undone earlier and appends one. */
  guint n = tessera_history_get_position (h) + 1;
  act ("apply", NULL);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (h)), ==, n + 1);
  TesseraHistoryEntry *e = tessera_history_get_current (h);
  g_assert_cmpint (tessera_history_entry_get_kind (e), ==, TESSERA_ENTRY_GENERATE);
  g_assert_cmpuint (tessera_history_entry_get_n_variants (e), ==, 2);
  g_assert_cmpuint (tessera_history_entry_get_selected_variant (e), ==, 1);
  g_assert_cmpstr (tessera_history_entry_get_params (e)->prompt, ==, "a red fox");
  g_assert_cmpint (tessera_history_entry_get_params (e)->mode, ==, TESSERA_MODE_INPAINT);
  /* Inside the mask the picture changed; far outside it did not. */
  g_assert_cmphex (tessera_document_get_pixel (doc, 250, 200), !=, 0xffffffff);
  g_assert_cmphex (tessera_document_get_pixel (doc, 40, 450), ==, outside);
  g_autoptr (GdkTexture) applied = screenshot ("05-applied.png");

  g_action_group_change_action_state (G_ACTION_GROUP (win), "compare",
                                      g_variant_new_boolean (TRUE));
  pump ();
  g_autoptr (GVariant) cmp = g_action_group_get_action_state (G_ACTION_GROUP (win), "compare");
  g_assert_true (g_variant_get_boolean (cmp));
  tessera_canvas_set_split (tessera_window_get_canvas (win), 0.5);
  g_autoptr (GdkTexture) compared = screenshot ("06-compare.png");
  g_assert_cmpfloat (region_diff (applied, compared, GTK_WIDGET (tessera_window_get_canvas (win))),
                     >, 0.1);
  g_action_group_change_action_state (G_ACTION_GROUP (win), "compare",
                                      g_variant_new_boolean (FALSE));

  act ("undo", NULL);
  g_autoptr (TesseraState) undone = tessera_document_snapshot (doc);
  g_assert_true (g_bytes_equal (undone->image, before->image));
  act ("redo", NULL);
  g_assert_cmphex (tessera_document_get_pixel (doc, 250, 200), !=, 0xffffffff);
}


static void
test_cancel_leaves_document (void)
{
  TesseraDocument *doc = tessera_window_get_document (win);
  g_autoptr (TesseraState) before = tessera_document_snapshot (doc);
  guint n = g_list_model_get_n_items (G_LIST_MODEL (tessera_window_get_history (win)));
  g_action_group_activate_action (G_ACTION_GROUP (win), "generate", NULL);
  g_assert_true (tessera_window_is_running (win));
  while (tessera_window_get_progress_steps (win) < 1)
    g_main_context_iteration (NULL, TRUE);
  int steps_at_cancel = tessera_window_get_progress_steps (win);
  act ("cancel", NULL);
  g_assert_false (tessera_window_is_running (win));
  /* Let the worker notice and finish; nothing may arrive afterwards. */
  gint64 end = g_get_monotonic_time () + 400000;
  while (g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, FALSE);
  g_assert_cmpint (tessera_window_get_progress_steps (win), ==, steps_at_cancel);
  g_assert_cmpuint (tessera_window_get_n_pending_variants (win), ==, 0);
  g_autoptr (TesseraState) after = tessera_document_snapshot (doc);
  g_assert_true (g_bytes_equal (after->image, before->image));
  g_assert_true (g_bytes_equal (after->mask, before->mask));
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (tessera_window_get_history (win))),
                    ==, n);
}

static void
test_extend (void)
{
  TesseraDocument *doc = tessera_window_get_document (win);
  int w = tessera_document_get_width (doc);
  act ("extend", g_variant_new_string ("right"));
  g_assert_cmpint (tessera_document_get_width (doc), ==, w + 128);
  g_assert_cmpint (tessera_document_get_mask_value (doc, w + 10, 10), ==, 255);
  g_assert_cmpint (tessera_document_get_mask_value (doc, 10, 10), ==, 0);
  g_autoptr (GVariant) mode = g_action_group_get_action_state (G_ACTION_GROUP (win), "mode");
  g_assert_cmpstr (g_variant_get_string (mode, NULL), ==, "outpaint");
  g_autoptr (GdkTexture) shot = screenshot ("07-extended.png");
  act ("undo", NULL);
  g_assert_cmpint (tessera_document_get_width (doc), ==, w);
}

static guint history_len_target;

static gboolean
history_reached (void)
{
  return g_list_model_get_n_items (G_LIST_MODEL (tessera_window_get_history (win)))
         >= history_len_target;
}

static void
test_export_open (void)
{
  TesseraDocument *doc = tessera_window_get_document (win);
  g_autofree char *dir = g_dir_make_tmp ("tessera-test-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "out.png", NULL);
  act ("export-file", g_variant_new_string (path));
  g_assert_true (g_file_test (path, G_FILE_TEST_IS_REGULAR));
  guint32 px = tessera_document_get_pixel (doc, 250, 200);

  act ("mask-clear", NULL);
  history_len_target = g_list_model_get_n_items (G_LIST_MODEL (tessera_window_get_history (win)))
                       + 1;
  act ("open-file", g_variant_new_string (path));
  g_assert_true (wait_for (history_reached, 10));
  TesseraHistoryEntry *e = tessera_history_get_current (tessera_window_get_history (win));
  g_assert_cmpint (tessera_history_entry_get_kind (e), ==, TESSERA_ENTRY_OPEN);
  g_assert_cmphex (tessera_document_get_pixel (doc, 250, 200), ==, px);
  g_assert_cmpuint (tessera_mask_count (tessera_document_get_mask (doc), 1), ==, 0);
  g_unlink (path);
  g_rmdir (dir);
}

int
main (int argc, char **argv)
{
  if (!g_getenv ("DISPLAY") && !g_getenv ("WAYLAND_DISPLAY")) {
    /* TAP: a whole-program skip with its reason. */
    g_print ("1..0 # SKIP no display: install the xvfb package to run the window tests\n");
    return 0;
  }
  gtk_test_init (&argc, &argv, NULL);
  adw_init ();

  app = tessera_application_new ();
  g_application_set_flags (G_APPLICATION (app),
                           G_APPLICATION_NON_UNIQUE | G_APPLICATION_HANDLES_OPEN);
  /* Small, quick requests; the model the tests know. */
  g_autoptr (GSettings) settings = g_settings_new (TESSERA_APP_ID);
  g_settings_set_int (settings, "steps", 6);
  g_settings_set_int (settings, "variants", 2);
  if (g_getenv ("TESSERA_MODEL_DIR"))
    g_settings_set_string (settings, "model-path", g_getenv ("TESSERA_MODEL_DIR"));
  g_autoptr (GError) error = NULL;
  g_assert_true (g_application_register (G_APPLICATION (app), NULL, &error));

  g_test_add_func ("/window/startup", test_startup);
  g_test_add_func ("/window/zoom", test_zoom);
  g_test_add_func ("/window/stroke-undo-redo", test_stroke_undo_redo);
  g_test_add_func ("/window/undo-shortcut-respects-text", test_undo_shortcut_respects_text);
  g_test_add_func ("/window/inpaint-apply-undo", test_inpaint_apply_undo);
  g_test_add_func ("/window/cancel-leaves-document", test_cancel_leaves_document);
  g_test_add_func ("/window/extend", test_extend);
  g_test_add_func ("/window/export-open", test_export_open);
  int rc = g_test_run ();
  if (win)
    gtk_window_destroy (GTK_WINDOW (win));
  pump ();
  g_clear_object (&app);
  return rc;
}
