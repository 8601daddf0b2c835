/* tessera-window-files.c — projects: save, save as, open, recent files, autosave, crash
 * recovery, and "Save changes?" on closing. Encoding and writing run in a worker thread; the
 * document stays editable. */
#include "tessera-window-private.h"

#include <glib/gi18n.h>
#include <glib/gstdio.h>

#include "tessera-autosave.h"

#define AUTOSAVE_DELAY_MS 1500   /* after the last change: a burst of strokes saves once */

static guint window_serial;

/* A project of the window's document and history, sharing the window's PNG cache. */
static TesseraProject *
snapshot_project (TesseraWindow *self)
{
  g_autoptr (TesseraState) state = tessera_document_snapshot (self->document);
  TesseraProject *p = tessera_project_new (state, self->history);
  p->cache = tessera_png_cache_ref (self->png_cache);
  p->draft = tessera_window_get_draft (self);
  return p;
}

static gboolean
is_dirty (TesseraWindow *self)
{
  return tessera_history_get_current (self->history) != self->saved_entry;
}

/* A picture opened and not touched since: unsaved as a project, but its file still holds all
 * of it, so replacing or closing it asks nothing (it is autosaved all the same). */
static gboolean
untouched_picture (TesseraWindow *self)
{
  TesseraHistoryEntry *cur = tessera_history_get_current (self->history);
  return !self->file && g_list_model_get_n_items (G_LIST_MODEL (self->history)) == 1
         && cur && tessera_history_entry_get_kind (cur) == TESSERA_ENTRY_OPEN;
}

static void
update_title (TesseraWindow *self)
{
  g_autofree char *name = self->file ? g_file_get_basename (self->file)
                                     : g_strdup (_("Untitled"));
  /* The dot marks unsaved changes, as in GNOME Text Editor. */
  g_autofree char *title = is_dirty (self) ? g_strdup_printf ("• %s", name) : g_strdup (name);
  adw_window_title_set_title (self->window_title, title);
}

static void
set_saved (TesseraWindow *self, TesseraHistoryEntry *entry)
{
  g_set_object (&self->saved_entry, entry);
  update_title (self);
}

void
tessera_window_files_mark_clean (TesseraWindow *self)
{
  set_saved (self, tessera_history_get_current (self->history));
}

static void
add_recent (GFile *file)
{
  g_autofree char *uri = g_file_get_uri (file);
  gtk_recent_manager_add_item (gtk_recent_manager_get_default (), uri);
}

static void
show_error (TesseraWindow *self, const char *heading, const char *message)
{
  if (self->error_dialog)
    gtk_window_destroy (GTK_WINDOW (self->error_dialog));
  GtkWidget *d = adw_message_dialog_new (GTK_WINDOW (self), heading, message);
  adw_message_dialog_add_response (ADW_MESSAGE_DIALOG (d), "close", _("_Close"));
  g_object_add_weak_pointer (G_OBJECT (d), (gpointer *) &self->error_dialog);
  self->error_dialog = ADW_MESSAGE_DIALOG (d);
  gtk_window_present (GTK_WINDOW (d));
}

static gboolean
close_window (gpointer window)
{
  gtk_window_close (window);
  return G_SOURCE_REMOVE;
}

/* ---- autosave ---- */

static void autosave_now (TesseraWindow *self);
static void drop_replace (TesseraWindow *self);
static void ask_save_changes (TesseraWindow *self, GCallback on_response);
static void run_replace (TesseraWindow *self);

static void
remove_autosave (TesseraWindow *self)
{
  if (self->autosave_path)
    g_unlink (self->autosave_path);
}

static void
on_autosaved (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr (TesseraWindow) self = data;
  g_autoptr (GError) error = NULL;
  self->io_in_flight--;
  if (!tessera_project_save_finish (result, &error))
    /* Not fatal: the next change tries again. */
    tessera_window_toast (self, error->message);
  if (self->autosave_again && !self->discard_on_close) {
    self->autosave_again = FALSE;
    autosave_now (self);
  }
}

static void
autosave_now (TesseraWindow *self)
{
  g_clear_handle_id (&self->autosave_id, g_source_remove);
  if (!self->autosave_path)
    return;
  if (!is_dirty (self)) {
    /* Everything is in the project file. */
    remove_autosave (self);
    return;
  }
  /* One at a time, so an older save never lands after a newer one. */
  if (self->io_in_flight > 0) {
    self->autosave_again = TRUE;
    return;
  }
  self->io_in_flight++;
  tessera_project_save_async (snapshot_project (self), self->autosave_path, NULL, on_autosaved,
                              g_object_ref (self));
}

static gboolean
autosave_timeout (gpointer data)
{
  TesseraWindow *self = data;
  self->autosave_id = 0;
  autosave_now (self);
  return G_SOURCE_REMOVE;
}

void
tessera_window_schedule_autosave (TesseraWindow *self)
{
  if (self->autosave_path && !self->autosave_id && is_dirty (self))
    self->autosave_id = g_timeout_add (AUTOSAVE_DELAY_MS, autosave_timeout, self);
}

void
tessera_window_history_changed (TesseraWindow *self)
{
  update_title (self);
  if (!self->autosave_id)
    self->autosave_id = g_timeout_add (AUTOSAVE_DELAY_MS, autosave_timeout, self);
}

gboolean
tessera_window_autosave (TesseraWindow *self)
{
  autosave_now (self);
  return self->io_in_flight > 0;
}

const char *
tessera_window_get_autosave_path (TesseraWindow *self)
{
  return self->autosave_path;
}

/* ---- projects ---- */

void
tessera_window_apply_project (TesseraWindow *self, TesseraProject *p, GFile *file)
{
  /* Requests made for the old document must not land on this one. */
  if (g_action_group_get_action_enabled (G_ACTION_GROUP (self), "cancel"))
    g_action_group_activate_action (G_ACTION_GROUP (self), "cancel", NULL);
  tessera_window_clear_pending (self);
  tessera_document_restore (self->document, p->state);
  if (!tessera_project_fill_history (p, self->history)) {
    /* An OpenRaster file from another program: it starts the history. */
    g_autofree char *name = file ? g_file_get_basename (file) : g_strdup (_("Project"));
    g_autofree char *label = g_strdup_printf (_("Opened %s"), name);
    g_autoptr (TesseraHistoryEntry) e = tessera_history_entry_new (TESSERA_ENTRY_OPEN, label,
                                                                   p->state, NULL);
    tessera_history_reset (self->history, e);
  }
  g_set_object (&self->file, file);
  set_saved (self, file ? tessera_history_get_current (self->history) : NULL);
  /* The request being written when it was saved: its mode and prompt. */
  if (p->draft)
    tessera_window_restore_draft (self, p->draft);
  tessera_canvas_zoom_fit (self->canvas);
  tessera_window_update_actions (self);
}

/* What a load or save callback needs besides the result. */
typedef struct {
  TesseraWindow *self;
  GFile *file;
  TesseraHistoryEntry *entry;   /* saves: the entry that was current when saving began */
  gboolean recovered;           /* loads: from autosave, to be deleted once in */
} FileOp;

static FileOp *
file_op_new (TesseraWindow *self, GFile *file)
{
  FileOp *op = g_new0 (FileOp, 1);
  op->self = g_object_ref (self);
  op->file = g_object_ref (file);
  return op;
}

static void
file_op_free (FileOp *op)
{
  g_object_unref (op->self);
  g_object_unref (op->file);
  g_clear_object (&op->entry);
  g_free (op);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (FileOp, file_op_free)

static void
on_project_loaded (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr (FileOp) op = data;
  TesseraWindow *self = op->self;
  g_autoptr (GError) error = NULL;
  g_autoptr (TesseraProject) p = tessera_project_load_finish (result, &error);
  self->io_in_flight--;
  if (!p) {
    g_autofree char *name = g_file_get_basename (op->file);
    g_autofree char *heading = g_strdup_printf (_("Could Not Open “%s”"), name);
    show_error (self, heading, error->message);
    return;
  }
  if (op->recovered) {
    /* Unsaved again: our own autosave now holds it, under this process's name. */
    tessera_window_apply_project (self, p, NULL);
    g_file_delete (op->file, NULL, NULL);
    tessera_window_toast (self, _("Unsaved work recovered"));
    tessera_window_history_changed (self);
    return;
  }
  tessera_window_apply_project (self, p, op->file);
  add_recent (op->file);
}

static gboolean
is_project (GFile *file)
{
  g_autofree char *name = g_file_get_basename (file);
  g_autofree char *lower = g_utf8_strdown (name, -1);
  return g_str_has_suffix (lower, ".ora");
}

static void
load_project (TesseraWindow *self, GFile *file, gboolean recovered)
{
  g_autofree char *path = g_file_get_path (file);
  if (!path) {
    tessera_window_toast (self, _("Projects can only be opened from local folders"));
    return;
  }
  FileOp *op = file_op_new (self, file);
  op->recovered = recovered;
  self->io_in_flight++;   /* a load in flight counts too: tests wait for both */
  tessera_project_load_async (path, NULL, on_project_loaded, op);
}

static void
open_file_now (TesseraWindow *self, gpointer data)
{
  GFile *file = data;
  if (is_project (file))
    load_project (self, file, FALSE);
  else
    tessera_window_open_picture (self, file);
}

/* A project or a picture replaces the document: after "Save changes?" when it has unsaved
 * work. */
void
tessera_window_open_file (TesseraWindow *self, GFile *file)
{
  tessera_window_replace_document (self, open_file_now, g_object_ref (file), g_object_unref);
}

static void
on_saved (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr (FileOp) op = data;
  TesseraWindow *self = op->self;
  g_autoptr (GError) error = NULL;
  self->io_in_flight--;
  if (!tessera_project_save_finish (result, &error)) {
    /* The document and the old file are untouched: the user can try elsewhere. The window
     * stays open even when closing asked for this save, and New or Open does not go on. */
    self->close_after_save = FALSE;
    drop_replace (self);
    g_autofree char *name = g_file_get_basename (op->file);
    g_autofree char *heading = g_strdup_printf (_("Could Not Save “%s”"), name);
    show_error (self, heading, error->message);
    return;
  }
  g_set_object (&self->file, op->file);
  set_saved (self, op->entry);
  add_recent (op->file);
  /* Clean now (unless it changed while saving): the autosave is not needed any more. */
  autosave_now (self);
  /* Saved from the "Save changes?" dialog: the close it interrupted goes on. */
  if (self->close_after_save) {
    self->close_after_save = FALSE;
    gtk_window_close (GTK_WINDOW (self));
  } else if (self->replace_after_save) {
    run_replace (self);
  }
}

static void
save_to (TesseraWindow *self, GFile *file)
{
  g_autofree char *path = g_file_get_path (file);
  if (!path) {
    tessera_window_toast (self, _("Projects can only be saved to local folders"));
    self->close_after_save = FALSE;
    drop_replace (self);
    return;
  }
  FileOp *op = file_op_new (self, file);
  op->entry = g_object_ref (tessera_history_get_current (self->history));
  self->io_in_flight++;
  tessera_project_save_async (snapshot_project (self), path, NULL, on_saved, op);
}

static void
on_file_chosen (GtkNativeDialog *dialog, int response, TesseraWindow *self)
{
  TesseraFileChosenFunc chosen = g_object_get_data (G_OBJECT (dialog), "chosen");
  g_autoptr (GFile) file = response == GTK_RESPONSE_ACCEPT
                             ? gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog)) : NULL;
  chosen (self, file);
  g_object_unref (dialog);
}

void
tessera_window_choose_file (TesseraWindow *self, const char *title, GtkFileChooserAction action,
                            const char *accept_label, GtkFileFilter *filter, GFile *initial,
                            const char *initial_name, TesseraFileChosenFunc chosen)
{
  GtkFileChooserNative *d = gtk_file_chooser_native_new (title, GTK_WINDOW (self), action,
                                                         accept_label, _("_Cancel"));
  if (filter) {
    gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (d), filter);
    g_object_unref (filter);
  }
  if (initial)
    gtk_file_chooser_set_file (GTK_FILE_CHOOSER (d), initial, NULL);
  else if (initial_name)
    gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (d), initial_name);
  g_object_set_data (G_OBJECT (d), "chosen", chosen);
  g_signal_connect (d, "response", G_CALLBACK (on_file_chosen), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (d));
}

static void
on_save_chosen (TesseraWindow *self, GFile *file)
{
  if (!file) {
    self->close_after_save = FALSE;   /* no file chosen: the window stays */
    drop_replace (self);
    return;
  }
  g_autoptr (GFile) target = NULL;
  if (!is_project (file)) {
    g_autofree char *uri = g_file_get_uri (file);
    g_autofree char *with_ext = g_strconcat (uri, ".ora", NULL);
    target = g_file_new_for_uri (with_ext);
  }
  save_to (self, target ? target : file);
}

static void
action_save_as (GSimpleAction *a, GVariant *param, gpointer data)
{
  TesseraWindow *self = data;
  GtkFileFilter *f = gtk_file_filter_new ();
  gtk_file_filter_set_name (f, _("OpenRaster projects"));
  gtk_file_filter_add_mime_type (f, "image/openraster");
  gtk_file_filter_add_pattern (f, "*.ora");
  tessera_window_choose_file (self, _("Save Project"), GTK_FILE_CHOOSER_ACTION_SAVE, _("_Save"), f,
                              self->file, _("Untitled.ora"), on_save_chosen);
}

static void
action_save (GSimpleAction *a, GVariant *param, gpointer data)
{
  TesseraWindow *self = data;
  if (self->file)
    save_to (self, self->file);
  else
    action_save_as (a, param, data);
}

static void
action_save_file (GSimpleAction *a, GVariant *param, gpointer data)
{
  g_autoptr (GFile) file = g_file_new_for_commandline_arg (g_variant_get_string (param, NULL));
  save_to (data, file);
}

/* ---- replacing the document (New, Open) ---- */

static void
drop_replace (TesseraWindow *self)
{
  self->replace_after_save = FALSE;
  if (self->replace_destroy && self->replace_data)
    self->replace_destroy (self->replace_data);
  self->replace_func = NULL;
  self->replace_data = NULL;
  self->replace_destroy = NULL;
}

static void
run_replace (TesseraWindow *self)
{
  TesseraReplaceFunc func = self->replace_func;
  gpointer data = self->replace_data;
  GDestroyNotify destroy = self->replace_destroy;
  self->replace_after_save = FALSE;
  self->replace_func = NULL;
  self->replace_data = NULL;
  self->replace_destroy = NULL;
  if (func)
    func (self, data);
  if (destroy && data)
    destroy (data);
}

static void
on_replace_response (AdwMessageDialog *dialog, const char *response, TesseraWindow *self)
{
  if (g_str_equal (response, "discard")) {
    run_replace (self);
  } else if (g_str_equal (response, "save")) {
    self->replace_after_save = TRUE;
    g_action_group_activate_action (G_ACTION_GROUP (self), "save", NULL);
  } else {
    drop_replace (self);
  }
}

void
tessera_window_replace_document (TesseraWindow *self, TesseraReplaceFunc then, gpointer data,
                                 GDestroyNotify destroy)
{
  /* One question at a time: a newer New or Open wins over one still waiting. */
  drop_replace (self);
  self->replace_func = then;
  self->replace_data = data;
  self->replace_destroy = destroy;
  if (!is_dirty (self) || untouched_picture (self) || self->discard_on_close) {
    run_replace (self);
    return;
  }
  if (self->close_dialog) {
    gtk_window_present (GTK_WINDOW (self->close_dialog));
    return;
  }
  ask_save_changes (self, G_CALLBACK (on_replace_response));
}

/* Starts a new document from a picture (NULL: a blank canvas of the model's size): a fresh
 * history and no project file; the request bar stays as it is. A blank canvas has nothing to
 * lose; a picture's document is unsaved work until it is saved as a project (autosaved,
 * and "Save changes?" on closing), as it was when opening added it to the history. */
void
tessera_window_start_document (TesseraWindow *self, GBytes *rgba, int width, int height,
                               const char *name)
{
  g_autoptr (GError) error = NULL;
  /* Requests made for the old document must not land on the new one. */
  if (g_action_group_get_action_enabled (G_ACTION_GROUP (self), "cancel"))
    g_action_group_activate_action (G_ACTION_GROUP (self), "cancel", NULL);
  tessera_window_clear_pending (self);
  if (rgba) {
    if (!tessera_document_set_rgba (self->document, g_bytes_get_data (rgba, NULL), width, height,
                                    width * 4, &error)) {
      tessera_window_toast (self, error->message);
      return;
    }
    g_autofree char *label = g_strdup_printf (_("Opened %s"), name ? name : _("Image"));
    g_autoptr (TesseraState) state = tessera_document_snapshot (self->document);
    g_autoptr (TesseraHistoryEntry) first = tessera_history_entry_new (TESSERA_ENTRY_OPEN, label,
                                                                       state, NULL);
    tessera_history_reset (self->history, first);
  } else if (!tessera_window_start_blank (self, &error)) {
    tessera_window_toast (self, error->message);
    return;
  }
  g_clear_object (&self->file);
  set_saved (self, rgba ? NULL : tessera_history_get_current (self->history));
  /* The old document's autosave goes (a blank canvas) or is replaced soon (a picture). */
  autosave_now (self);
  tessera_window_history_changed (self);
  tessera_canvas_zoom_fit (self->canvas);
  tessera_window_update_actions (self);
}

static void
new_document (TesseraWindow *self, gpointer data)
{
  tessera_window_start_document (self, NULL, 0, 0, NULL);
}

static void
action_new (GSimpleAction *a, GVariant *param, gpointer data)
{
  tessera_window_replace_document (data, new_document, NULL, NULL);
}

/* ---- closing with unsaved changes ---- */

static void
on_close_response (AdwMessageDialog *dialog, const char *response, TesseraWindow *self)
{
  if (g_str_equal (response, "discard")) {
    self->discard_on_close = TRUE;
    /* Once the dialog, which closing the window would destroy, has finished closing. */
    g_idle_add_full (G_PRIORITY_DEFAULT_IDLE, close_window, g_object_ref (self), g_object_unref);
  } else if (g_str_equal (response, "save")) {
    self->close_after_save = TRUE;
    g_action_group_activate_action (G_ACTION_GROUP (self), "save", NULL);
  }
}

/* The two questions about unsaved work end the same way: a destructive Discard, then the
 * suggested (default) way of keeping the work; closing the dialog answers `close_response`. */
static void
add_discard_or_keep (AdwMessageDialog *d, const char *keep, const char *keep_label,
                     const char *close_response)
{
  adw_message_dialog_add_responses (d, "discard", _("_Discard"), keep, keep_label, NULL);
  adw_message_dialog_set_response_appearance (d, "discard", ADW_RESPONSE_DESTRUCTIVE);
  adw_message_dialog_set_response_appearance (d, keep, ADW_RESPONSE_SUGGESTED);
  adw_message_dialog_set_default_response (d, keep);
  adw_message_dialog_set_close_response (d, close_response);
}

/* GNOME Text Editor's question: Cancel, Discard or Save; `on_response` gets the answer. */
static void
ask_save_changes (TesseraWindow *self, GCallback on_response)
{
  g_autofree char *name = self->file ? g_file_get_basename (self->file)
                                     : g_strdup (_("Untitled"));
  GtkWidget *d = adw_message_dialog_new (GTK_WINDOW (self), _("Save Changes?"), NULL);
  adw_message_dialog_format_body (ADW_MESSAGE_DIALOG (d),
                                  _("“%s” contains unsaved changes. Changes which are not "
                                    "saved will be permanently lost."), name);
  adw_message_dialog_add_response (ADW_MESSAGE_DIALOG (d), "cancel", _("_Cancel"));
  add_discard_or_keep (ADW_MESSAGE_DIALOG (d), "save", _("_Save"), "cancel");
  g_signal_connect_object (d, "response", on_response, self, 0);
  g_object_add_weak_pointer (G_OBJECT (d), (gpointer *) &self->close_dialog);
  self->close_dialog = ADW_MESSAGE_DIALOG (d);
  gtk_window_present (GTK_WINDOW (d));
}

gboolean
tessera_window_files_close_request (TesseraWindow *self)
{
  if (self->discard_on_close) {
    if (self->io_in_flight == 0)
      return FALSE;
    /* An autosave still being written would land after the window, and its removal, are
     * gone: close once it is in. */
    g_timeout_add_full (G_PRIORITY_DEFAULT, 50, close_window, g_object_ref (self),
                        g_object_unref);
    return TRUE;
  }
  /* Autosave does not count: only a project file the user chose keeps the work. */
  if (!is_dirty (self) || untouched_picture (self))
    return FALSE;
  if (self->close_dialog)
    gtk_window_present (GTK_WINDOW (self->close_dialog));
  else if (!self->close_after_save)   /* a save for closing is running: wait for it */
    ask_save_changes (self, G_CALLBACK (on_close_response));
  return TRUE;
}

const GActionEntry tessera_window_file_actions[] = {
  { "new", action_new },
  { "save", action_save },
  { "save-as", action_save_as },
  { "save-file", action_save_file, "s" },
};
const gsize tessera_window_n_file_actions = G_N_ELEMENTS (tessera_window_file_actions);

gboolean
tessera_window_is_busy_with_files (TesseraWindow *self)
{
  return self->io_in_flight > 0;
}

GFile *
tessera_window_get_file (TesseraWindow *self)
{
  return self->file;
}

gboolean
tessera_window_is_dirty (TesseraWindow *self)
{
  return is_dirty (self);
}

/* ---- recent files ---- */

#define MAX_RECENT 8

static int
compare_recent (gconstpointer a, gconstpointer b)
{
  GDateTime *ta = gtk_recent_info_get_modified (*(GtkRecentInfo **) a);
  GDateTime *tb = gtk_recent_info_get_modified (*(GtkRecentInfo **) b);
  return -g_date_time_compare (ta, tb);
}

/* Newest first: what this application opened or saved that still exists. */
static void
update_recent_menu (TesseraWindow *self)
{
  if (!self->recent_menu)
    return;
  g_menu_remove_all (self->recent_menu);
  GList *items = gtk_recent_manager_get_items (gtk_recent_manager_get_default ());
  g_autoptr (GPtrArray) mine = g_ptr_array_new ();
  for (GList *l = items; l; l = l->next)
    if (gtk_recent_info_has_application (l->data, g_get_application_name ())
        || gtk_recent_info_has_application (l->data, g_get_prgname ()))
      g_ptr_array_add (mine, l->data);
  g_ptr_array_sort (mine, compare_recent);
  for (guint i = 0, shown = 0; i < mine->len && shown < MAX_RECENT; i++) {
    GtkRecentInfo *info = g_ptr_array_index (mine, i);
    if (!gtk_recent_info_exists (info))
      continue;
    g_autoptr (GMenuItem) item = g_menu_item_new (gtk_recent_info_get_display_name (info), NULL);
    g_menu_item_set_action_and_target_value (item, "win.open-file",
                                             g_variant_new_string (gtk_recent_info_get_uri (info)));
    g_menu_append_item (self->recent_menu, item);
    shown++;
  }
  g_list_free_full (items, (GDestroyNotify) gtk_recent_info_unref);
}

GMenuModel *
tessera_window_get_recent_menu (TesseraWindow *self)
{
  return G_MENU_MODEL (self->recent_menu);
}

/* ---- crash recovery ---- */

static void
on_recovery_response (AdwMessageDialog *dialog, const char *response, TesseraWindow *self)
{
  GFile *file = g_object_get_data (G_OBJECT (dialog), "file");
  if (g_str_equal (response, "recover"))
    load_project (self, file, TRUE);
  else if (g_str_equal (response, "discard"))
    g_file_delete (file, NULL, NULL);
  /* "later" (closing the dialog) keeps it for the next start. */
}

AdwMessageDialog *
tessera_window_offer_recovery (TesseraWindow *self)
{
  g_autofree char *path = tessera_autosave_find_orphan ();
  if (!path)
    return NULL;
  g_autoptr (GFile) file = g_file_new_for_path (path);
  g_autoptr (GFileInfo) info = g_file_query_info (file, G_FILE_ATTRIBUTE_TIME_MODIFIED, 0, NULL,
                                                  NULL);
  g_autoptr (GDateTime) when = info ? g_file_info_get_modification_date_time (info) : NULL;
  g_autoptr (GDateTime) local = when ? g_date_time_to_local (when) : NULL;
  g_autofree char *time = local ? g_date_time_format (local, "%c") : g_strdup ("?");
  GtkWidget *d = adw_message_dialog_new (GTK_WINDOW (self), _("Recover Unsaved Work?"), NULL);
  adw_message_dialog_format_body (ADW_MESSAGE_DIALOG (d),
                                  _("Tessera did not close normally. The picture and its history "
                                    "were saved automatically at %s."), time);
  add_discard_or_keep (ADW_MESSAGE_DIALOG (d), "recover", _("_Recover"), "later");
  g_object_set_data_full (G_OBJECT (d), "file", g_object_ref (file), g_object_unref);
  g_signal_connect_object (d, "response", G_CALLBACK (on_recovery_response), self, 0);
  gtk_window_present (GTK_WINDOW (d));
  return ADW_MESSAGE_DIALOG (d);
}

/* ---- life cycle ---- */

void
tessera_window_files_init (TesseraWindow *self)
{
  g_autoptr (GError) error = NULL;
  self->png_cache = tessera_png_cache_new ();
  self->autosave_path = tessera_autosave_path (++window_serial, &error);
  if (!self->autosave_path)
    g_warning ("autosave is off: %s", error->message);
  /* The blank canvas is not worth saving: clean until the first change. */
  set_saved (self, tessera_history_get_current (self->history));
  g_signal_connect_object (gtk_recent_manager_get_default (), "changed",
                           G_CALLBACK (update_recent_menu), self, G_CONNECT_SWAPPED);
  update_recent_menu (self);
}

void
tessera_window_files_dispose (TesseraWindow *self)
{
  g_clear_handle_id (&self->autosave_id, g_source_remove);
  if (self->autosave_path && is_dirty (self) && !untouched_picture (self)
      && !self->discard_on_close) {
    /* Closing with unsaved changes: write them now so the next start offers them back. */
    g_autoptr (TesseraProject) p = snapshot_project (self);
    g_autoptr (GError) error = NULL;
    if (!tessera_project_save (p, self->autosave_path, &error))
      g_warning ("could not keep unsaved changes: %s", error->message);
  } else {
    remove_autosave (self);
  }
  drop_replace (self);
  g_clear_object (&self->saved_entry);
  g_clear_object (&self->file);
  g_clear_pointer (&self->autosave_path, g_free);
  g_clear_pointer (&self->png_cache, tessera_png_cache_unref);
  if (self->error_dialog)
    gtk_window_destroy (GTK_WINDOW (self->error_dialog));
  if (self->close_dialog)
    gtk_window_destroy (GTK_WINDOW (self->close_dialog));
}
