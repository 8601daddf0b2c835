/* tessera-application.c — start-up, settings, the shared engine and app.* actions. */
#include "tessera-application.h"

#include <glib/gi18n.h>

#include "tessera-about.h"
#include "tessera-preferences.h"
#include "tessera-window.h"

struct _TesseraApplication {
  AdwApplication parent_instance;

  GSettings *settings;
  TesseraEngine *engine;
  /* The precisions the model was last asked to load with. */
  TsPipelineLoadOptions precision;
};

G_DEFINE_FINAL_TYPE (TesseraApplication, tessera_application, ADW_TYPE_APPLICATION)

GSettings *
tessera_application_get_settings (TesseraApplication *self)
{
  return self->settings;
}

TesseraEngine *
tessera_application_get_engine (TesseraApplication *self)
{
  return self->engine;
}

char *
tessera_application_dup_model_path (TesseraApplication *self)
{
  /* TESSERA_MODEL_DIR (tests, development) wins over the preference, as TESSERA_DEVICE does. */
  const char *env = g_getenv ("TESSERA_MODEL_DIR");
  if (env && *env)
    return g_strdup (env);
  g_autofree char *path = g_settings_get_string (self->settings, "model-path");
  if (path && *path)
    return g_steal_pointer (&path);
  return NULL;
}

static void
load_model (TesseraApplication *self)
{
  g_autofree char *path = tessera_application_dup_model_path (self);
  g_autofree char *device = g_settings_get_string (self->settings, "device");
  /* The CPU backend's precision per network (other backends compute in f32). */
  tessera_preferences_read_precision (self->settings, &self->precision);
  tessera_engine_load_full (self->engine, path, device, &self->precision);
}

static void
on_precision_changed (GSettings *settings, const char *key, TesseraApplication *self)
{
  /* Only when a network's precision changes: "for every network" moves none whose own
   * setting overrides it. */
  TsPipelineLoadOptions now;
  tessera_preferences_read_precision (self->settings, &now);
  if (now.text_encoder != self->precision.text_encoder
      || now.transformer != self->precision.transformer || now.vq != self->precision.vq)
    load_model (self);
}

static void
on_model_path_changed (GSettings *settings, const char *key, TesseraApplication *self)
{
  load_model (self);
}

static void
action_quit (GSimpleAction *a, GVariant *param, gpointer data)
{
  /* Closing, not destroying: a window with unsaved changes asks first. The application
   * ends with its last window; a closing window cancels its requests. */
  GList *windows = g_list_copy (gtk_application_get_windows (GTK_APPLICATION (data)));
  for (GList *l = windows; l; l = l->next)
    gtk_window_close (l->data);
  g_list_free (windows);
}

static void
action_about (GSimpleAction *a, GVariant *param, gpointer data)
{
  TesseraApplication *self = data;
  GtkWindow *parent = gtk_application_get_active_window (GTK_APPLICATION (self));
  /* The licences of the model in use: the loaded one's folder. */
  const char *model_dir = tessera_engine_get_model_dir (self->engine);
  gtk_window_present (GTK_WINDOW (tessera_about_window_new (parent, model_dir)));
}

static void
action_preferences (GSimpleAction *a, GVariant *param, gpointer data)
{
  TesseraApplication *self = data;
  GtkWindow *parent = gtk_application_get_active_window (GTK_APPLICATION (self));
  gtk_window_present (GTK_WINDOW (tessera_preferences_new (parent, self->settings)));
}

static const GActionEntry app_actions[] = {
  { "quit", action_quit },
  { "preferences", action_preferences },
  { "about", action_about },
};

static void
set_accels (GtkApplication *app, const char *action, const char *accel1, const char *accel2)
{
  const char *accels[] = { accel1, accel2, NULL };
  gtk_application_set_accels_for_action (app, action, accels);
}

static void
tessera_application_startup (GApplication *app)
{
  TesseraApplication *self = TESSERA_APPLICATION (app);
  G_APPLICATION_CLASS (tessera_application_parent_class)->startup (app);

  g_action_map_add_action_entries (G_ACTION_MAP (app), app_actions, G_N_ELEMENTS (app_actions),
                                   app);
  GtkApplication *gapp = GTK_APPLICATION (app);
  set_accels (gapp, "app.quit", "<Primary>q", NULL);
  set_accels (gapp, "app.preferences", "<Primary>comma", NULL);
  set_accels (gapp, "win.new", "<Primary>n", NULL);
  set_accels (gapp, "win.open", "<Primary>o", NULL);
  set_accels (gapp, "win.export", "<Primary><Shift>e", NULL);
  set_accels (gapp, "win.save", "<Primary>s", NULL);
  set_accels (gapp, "win.save-as", "<Primary><Shift>s", NULL);
  set_accels (gapp, "win.generate", "<Primary>Return", NULL);
  set_accels (gapp, "win.zoom-in", "<Primary>plus", "<Primary>equal");
  set_accels (gapp, "win.zoom-out", "<Primary>minus", NULL);
  set_accels (gapp, "win.zoom-fit", "<Primary>0", NULL);
  set_accels (gapp, "win.zoom-100", "<Primary>1", NULL);
  set_accels (gapp, "win.show-history", "F9", NULL);
  set_accels (gapp, "win.show-help-overlay", "<Primary>question", NULL);
  /* Undo/redo, Escape and Return are window key bindings instead (see tessera-window.c),
   * so text fields keep their own. */

  self->settings = g_settings_new (TESSERA_APP_ID);
  self->engine = tessera_engine_new ();
  g_signal_connect (self->settings, "changed::model-path", G_CALLBACK (on_model_path_changed),
                    self);
  static const char *const reloads[] = { "changed::cpu-precision",
                                         "changed::cpu-precision-text-encoder",
                                         "changed::cpu-precision-transformer",
                                         "changed::cpu-precision-vq" };
  for (guint i = 0; i < G_N_ELEMENTS (reloads); i++)
    g_signal_connect (self->settings, reloads[i], G_CALLBACK (on_precision_changed), self);
  g_signal_connect (self->settings, "changed::device", G_CALLBACK (on_model_path_changed),
                    self);
  /* In the background: the window is up long before the model is. */
  load_model (self);
}

static void
tessera_application_activate (GApplication *app)
{
  GtkWindow *win = gtk_application_get_active_window (GTK_APPLICATION (app));
  if (win) {
    gtk_window_present (win);
    return;
  }
  win = GTK_WINDOW (tessera_window_new (TESSERA_APPLICATION (app)));
  gtk_window_present (win);
  /* The first window of a run: a crash may have left unsaved work behind. */
  tessera_window_offer_recovery (TESSERA_WINDOW (win));
}

static void
tessera_application_open (GApplication *app, GFile **files, int n_files, const char *hint)
{
  tessera_application_activate (app);
  TesseraWindow *win = TESSERA_WINDOW (gtk_application_get_active_window (GTK_APPLICATION (app)));
  if (n_files > 0)
    tessera_window_open_file (win, files[0]);
}

static void
tessera_application_dispose (GObject *object)
{
  TesseraApplication *self = TESSERA_APPLICATION (object);
  g_clear_object (&self->settings);
  g_clear_object (&self->engine);
  G_OBJECT_CLASS (tessera_application_parent_class)->dispose (object);
}

static void
tessera_application_class_init (TesseraApplicationClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = tessera_application_dispose;
  G_APPLICATION_CLASS (klass)->startup = tessera_application_startup;
  G_APPLICATION_CLASS (klass)->activate = tessera_application_activate;
  G_APPLICATION_CLASS (klass)->open = tessera_application_open;
}

static void
tessera_application_init (TesseraApplication *self)
{
}

TesseraApplication *
tessera_application_new (void)
{
  return g_object_new (TESSERA_TYPE_APPLICATION, "application-id", TESSERA_APP_ID, "flags",
                       G_APPLICATION_HANDLES_OPEN, "resource-base-path",
                       "/io/github/tessera/Tessera", NULL);
}
