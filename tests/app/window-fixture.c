/* window-fixture.c — see window-fixture.h. */
#include "window-fixture.h"

#include <glib/gstdio.h>

TesseraApplication *app;
TesseraWindow *win;
TesseraHistoryEntry *entry_before;

void
pump (void)
{
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

gboolean
wait_for (gboolean (*cond) (void), double seconds)
{
  gint64 end = g_get_monotonic_time () + (gint64) (seconds * G_USEC_PER_SEC);
  /* Without blocking, so the time limit holds even when nothing happens. */
  while (!cond () && g_get_monotonic_time () < end)
    if (!g_main_context_iteration (NULL, FALSE))
      g_usleep (1000);
  return cond ();
}

gboolean
engine_settled (void)
{
  TesseraEngineState s = tessera_engine_get_state (tessera_application_get_engine (app));
  return s == TESSERA_ENGINE_READY || s == TESSERA_ENGINE_FAILED;
}

gboolean
not_running (void)
{
  return !tessera_window_is_running (win);
}

gboolean
history_moved (void)
{
  return tessera_history_get_current (tessera_window_get_history (win)) != entry_before;
}

/* "Save changes?" before Open, when the window asks: answered Discard. */
static void
discard_if_asked (void)
{
  GListModel *tops = gtk_window_get_toplevels ();   /* not ours to unref */
  for (guint i = 0; i < g_list_model_get_n_items (tops); i++) {
    g_autoptr (GObject) w = g_list_model_get_item (tops, i);
    if (ADW_IS_MESSAGE_DIALOG (w) && gtk_widget_get_visible (GTK_WIDGET (w))
        && adw_message_dialog_has_response (ADW_MESSAGE_DIALOG (w), "discard")) {
      adw_message_dialog_response (ADW_MESSAGE_DIALOG (w), "discard");
      gtk_window_destroy (GTK_WINDOW (w));
    }
  }
}

gboolean
history_moved_or_asked (void)
{
  discard_if_asked ();
  return history_moved ();
}

void
act_unchecked (const char *name, GVariant *param)
{
  g_assert_true (g_action_group_has_action (G_ACTION_GROUP (win), name));
  g_action_group_activate_action (G_ACTION_GROUP (win), name, param);
  pump ();
}

void
act (const char *name, GVariant *param)
{
  /* Checked first: a disabled action's activation is silently ignored. */
  g_assert_true (g_action_group_has_action (G_ACTION_GROUP (win), name));
  g_assert_true (g_action_group_get_action_enabled (G_ACTION_GROUP (win), name));
  act_unchecked (name, param);
}

static void
mark_drawn (gboolean *drawn)
{
  *drawn = TRUE;
}

GdkTexture *
render_widget (GtkWidget *w, gboolean at_widget_size, gboolean *drawn)
{
  /* The paintable holds the widget's next drawn frame: wait for it. */
  g_autoptr (GdkPaintable) paintable = gtk_widget_paintable_new (w);
  *drawn = FALSE;
  gulong id = g_signal_connect_swapped (paintable, "invalidate-contents",
                                        G_CALLBACK (mark_drawn), drawn);
  gtk_widget_queue_draw (w);
  gint64 end = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
  while (!*drawn && g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, FALSE);
  g_signal_handler_disconnect (paintable, id);
  int width = at_widget_size ? gtk_widget_get_width (w)
                             : gdk_paintable_get_intrinsic_width (paintable);
  int height = at_widget_size ? gtk_widget_get_height (w)
                              : gdk_paintable_get_intrinsic_height (paintable);
  GtkSnapshot *snapshot = gtk_snapshot_new ();
  gdk_paintable_snapshot (paintable, snapshot, width, height);
  g_autoptr (GskRenderNode) node = gtk_snapshot_free_to_node (snapshot);
  g_assert_nonnull (node);
  GskRenderer *renderer = gtk_native_get_renderer (gtk_widget_get_native (w));
  return gsk_renderer_render_texture (renderer, node,
                                      &GRAPHENE_RECT_INIT (0, 0, width, height));
}

void
save_artifact (GdkTexture *tex, const char *file)
{
  const char *dir = g_getenv ("TESSERA_ARTIFACTS");
  if (!dir)
    return;
  g_mkdir_with_parents (dir, 0755);
  g_autofree char *path = g_build_filename (dir, file, NULL);
  g_assert_true (gdk_texture_save_to_png (tex, path));
  g_test_message ("screenshot: %s", path);
}

void
window_fixture_show (void)
{
  g_application_activate (G_APPLICATION (app));
  win = TESSERA_WINDOW (gtk_application_get_active_window (GTK_APPLICATION (app)));
  g_assert_nonnull (win);
  while (!gtk_widget_get_mapped (GTK_WIDGET (win)))
    g_main_context_iteration (NULL, TRUE);
  gtk_test_widget_wait_for_draw (GTK_WIDGET (win));
}

void
remove_tree (const char *path)
{
  g_autoptr (GDir) d = g_dir_open (path, 0, NULL);
  const char *name;
  while (d && (name = g_dir_read_name (d))) {
    g_autofree char *child = g_build_filename (path, name, NULL);
    if (g_file_test (child, G_FILE_TEST_IS_DIR) && !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
      remove_tree (child);
    else
      g_unlink (child);
  }
  g_remove (path);
}

char *
window_fixture_start (int *argc, char ***argv, const char *template, int steps, int variants)
{
  if (!g_getenv ("DISPLAY") && !g_getenv ("WAYLAND_DISPLAY")) {
    /* TAP: a whole-program skip with its reason. */
    g_print ("1..0 # SKIP no display: install the xvfb package to run the window tests\n");
    return NULL;
  }
  char *home = g_dir_make_tmp (template, NULL);
  g_autofree char *state = g_build_filename (home, "state", NULL);
  g_autofree char *data = g_build_filename (home, "data", NULL);
  g_setenv ("XDG_STATE_HOME", state, TRUE);
  g_setenv ("XDG_DATA_HOME", data, TRUE);
  gtk_test_init (argc, argv, NULL);
  adw_init ();

  app = tessera_application_new ();
  g_application_set_flags (G_APPLICATION (app),
                           G_APPLICATION_NON_UNIQUE | G_APPLICATION_HANDLES_OPEN);
  g_autoptr (GSettings) settings = g_settings_new (TESSERA_APP_ID);
  g_settings_set_int (settings, "steps", steps);
  g_settings_set_int (settings, "variants", variants);
  if (g_getenv ("TESSERA_MODEL_DIR"))
    g_settings_set_string (settings, "model-path", g_getenv ("TESSERA_MODEL_DIR"));
  g_autoptr (GError) error = NULL;
  g_assert_true (g_application_register (G_APPLICATION (app), NULL, &error));
  return home;
}

void
window_fixture_finish (const char *home)
{
  if (win)
    gtk_window_destroy (GTK_WINDOW (win));
  pump ();
  g_clear_object (&app);
  remove_tree (home);
}
