/* tessera-window.c — the editor window and its win.* actions. */
#include "tessera-window-private.h"

#include <glib/gi18n.h>
#include <string.h>

#include "tessera-image-io.h"
#include "tessera-thumbnail.h"


G_DEFINE_FINAL_TYPE (TesseraWindow, tessera_window, ADW_TYPE_APPLICATION_WINDOW)

void
tessera_window_toast (TesseraWindow *self, const char *message)
{
  /* Titles are markup in libadwaita 1.2; messages quote file names and model errors. */
  g_autofree char *escaped = g_markup_escape_text (message, -1);
  g_free (self->last_toast);
  self->last_toast = g_strdup (message);
  adw_toast_overlay_add_toast (self->toast_overlay, adw_toast_new (escaped));
}

const char *
tessera_window_get_last_toast (TesseraWindow *self)
{
  return self->last_toast;
}

static void
set_enabled (TesseraWindow *self, const char *name, gboolean enabled)
{
  GAction *a = g_action_map_lookup_action (G_ACTION_MAP (self), name);
  g_simple_action_set_enabled (G_SIMPLE_ACTION (a), enabled);
}

static void
on_cancel_run_clicked (GtkButton *button, TesseraWindow *self)
{
  tessera_run_queue_cancel_run (self->runs, g_object_get_data (G_OBJECT (button), "run"));
  tessera_window_update_actions (self);
}

/* A row of the requests popover: the running one first, then the queue in order. */
static GtkWidget *
create_run_row (gpointer item, gpointer data)
{
  TesseraWindow *self = data;
  TesseraRun *run = item;
  const TesseraParams *p = tessera_run_get_params (run);
  GtkWidget *row = adw_action_row_new ();
  g_autofree char *title = g_markup_escape_text (*p->prompt ? p->prompt : _("(no prompt)"), -1);
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
  g_autofree char *sub = tessera_run_is_running (run)
                             ? g_strdup_printf (_("%s · running"),
                                                tessera_params_get_mode_label (p))
                             : g_strdup (tessera_params_get_mode_label (p));
  adw_action_row_set_subtitle (ADW_ACTION_ROW (row), sub);
  GtkWidget *b = gtk_button_new_from_icon_name ("process-stop-symbolic");
  gtk_widget_set_valign (b, GTK_ALIGN_CENTER);
  gtk_widget_set_tooltip_text (b, _("Cancel this request"));
  gtk_widget_add_css_class (b, "flat");
  g_object_set_data_full (G_OBJECT (b), "run", g_object_ref (run), g_object_unref);
  g_signal_connect (b, "clicked", G_CALLBACK (on_cancel_run_clicked), self);
  adw_action_row_add_suffix (ADW_ACTION_ROW (row), b);
  return row;
}

guint
tessera_window_get_n_queued (TesseraWindow *self)
{
  return tessera_run_queue_get_n_queued (self->runs);
}

const TesseraParams *
tessera_window_get_pending_params (TesseraWindow *self)
{
  return tessera_run_queue_get_pending_params (self->runs);
}

const TesseraJobResult *
tessera_window_get_pending_result (TesseraWindow *self)
{
  return tessera_run_queue_get_pending (self->runs);
}

TesseraRunQueue *
tessera_window_get_run_queue (TesseraWindow *self)
{
  return self->runs;
}

void
tessera_window_update_actions (TesseraWindow *self)
{
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->runs));
  if (self->queue_button) {   /* not disposed */
    gtk_widget_set_visible (GTK_WIDGET (self->queue_button), n > 0);
    if (n == 0)
      gtk_menu_button_popdown (self->queue_button);
  }
  gboolean running = tessera_run_queue_is_running (self->runs);
  gboolean pending = tessera_run_queue_get_pending (self->runs) != NULL;
  gboolean ready = tessera_engine_get_state (self->engine) == TESSERA_ENGINE_READY;
  set_enabled (self, "undo", tessera_history_can_undo (self->history) && !running);
  set_enabled (self, "redo", tessera_history_can_redo (self->history) && !running);
  set_enabled (self, "generate", ready);
  set_enabled (self, "cancel", n > 0);
  set_enabled (self, "apply", pending);
  set_enabled (self, "discard", pending);
  set_enabled (self, "select-variant", pending);
  set_enabled (self, "compare", tessera_history_can_undo (self->history) || pending);
  gtk_stack_set_visible_child_name (self->run_stack, running ? "running" : "idle");
}

/* ---- history ---- */

void
tessera_window_commit (TesseraWindow *self, TesseraEntryKind kind, const char *label,
                       TesseraChange changed, const TesseraParams *params,
                       TesseraJobResult *variants_of)
{
  TesseraHistoryEntry *cur = tessera_history_get_current (self->history);
  g_autoptr (TesseraState) state = tessera_document_snapshot_from (
      self->document, cur ? tessera_history_entry_get_state (cur) : NULL, changed);
  g_autoptr (TesseraHistoryEntry) entry = tessera_history_entry_new (kind, label, state, params);
  if (variants_of)
    tessera_history_entry_set_variants (entry, variants_of->variants,
                                        tessera_run_queue_get_selected_variant (self->runs));
  tessera_history_push (self->history, entry);
}

static void
restore_entry (TesseraWindow *self, TesseraHistoryEntry *entry)
{
  if (entry)
    tessera_document_restore (self->document, tessera_history_entry_get_state (entry));
}

/* Row actions act on the row's entry, whatever its index is by then. */
static void
entry_action (GSimpleAction *a, GVariant *param, gpointer data)
{
  GtkWidget *row = data;
  TesseraHistoryEntry *entry = g_object_get_data (G_OBJECT (row), "entry");
  TesseraWindow *self = TESSERA_WINDOW (gtk_widget_get_root (row));
  if (g_str_equal (g_action_get_name (G_ACTION (a)), "compare"))
    tessera_window_compare_with (self, entry, g_variant_get_int32 (param));
  else if (tessera_history_entry_get_params (entry))
    tessera_window_reuse_params (self, tessera_history_entry_get_params (entry));
}

static GtkWidget *
create_entry_menu (TesseraHistoryEntry *entry, GtkWidget *row)
{
  static const GActionEntry actions[] = {
    { "compare", entry_action, "i" },
    { "reuse", entry_action },
  };
  GSimpleActionGroup *group = g_simple_action_group_new ();
  g_action_map_add_action_entries (G_ACTION_MAP (group), actions, G_N_ELEMENTS (actions), row);
  gtk_widget_insert_action_group (row, "entry", G_ACTION_GROUP (group));
  g_object_unref (group);
  g_object_set_data_full (G_OBJECT (row), "entry", g_object_ref (entry), g_object_unref);

  g_autoptr (GMenu) menu = g_menu_new ();
  g_menu_append (menu, _("Compare With Current"), "entry.compare(-1)");
  for (guint v = 0; v < tessera_history_entry_get_n_variants (entry); v++) {
    g_autofree char *label = g_strdup_printf (_("Compare With Variant %u"), v + 1);
    g_autofree char *action = g_strdup_printf ("entry.compare(%u)", v);
    g_menu_append (menu, label, action);
  }
  if (tessera_history_entry_get_params (entry))
    g_menu_append (menu, _("Reuse Parameters"), "entry.reuse");
  GtkWidget *button = gtk_menu_button_new ();
  gtk_menu_button_set_icon_name (GTK_MENU_BUTTON (button), "view-more-symbolic");
  gtk_menu_button_set_menu_model (GTK_MENU_BUTTON (button), G_MENU_MODEL (menu));
  gtk_widget_set_valign (button, GTK_ALIGN_CENTER);
  gtk_widget_set_tooltip_text (button, _("Compare or reuse"));
  gtk_widget_add_css_class (button, "flat");
  return button;
}

static GtkWidget *
create_history_row (gpointer item, gpointer user_data)
{
  TesseraHistoryEntry *entry = item;
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 8);
  gtk_widget_add_css_class (box, "history-row");
  g_autoptr (GdkTexture) thumb = tessera_thumbnail_from_state (
      tessera_history_entry_get_state (entry), 48);
  GtkWidget *pic = gtk_picture_new_for_paintable (GDK_PAINTABLE (thumb));
  gtk_widget_set_size_request (pic, 48, 48);
  gtk_box_append (GTK_BOX (box), pic);

  GtkWidget *labels = gtk_box_new (GTK_ORIENTATION_VERTICAL, 2);
  gtk_widget_set_valign (labels, GTK_ALIGN_CENTER);
  GtkWidget *title = gtk_label_new (tessera_history_entry_get_label (entry));
  gtk_label_set_xalign (GTK_LABEL (title), 0);
  gtk_label_set_ellipsize (GTK_LABEL (title), PANGO_ELLIPSIZE_END);
  gtk_box_append (GTK_BOX (labels), title);
  const TesseraParams *p = tessera_history_entry_get_params (entry);
  if (p) {
    g_autofree char *sub = g_strdup_printf (_("%s · seed %u · %d variants"),
                                            tessera_params_get_mode_label (p), p->seed,
                                            tessera_history_entry_get_n_variants (entry));
    GtkWidget *l = gtk_label_new (sub);
    gtk_label_set_xalign (GTK_LABEL (l), 0);
    gtk_widget_add_css_class (l, "dim-label");
    gtk_widget_add_css_class (l, "caption");
    gtk_box_append (GTK_BOX (labels), l);
  }
  gtk_widget_set_hexpand (labels, TRUE);
  gtk_box_append (GTK_BOX (box), labels);
  gtk_box_append (GTK_BOX (box), create_entry_menu (entry, box));
  return box;
}

static void
on_history_position (TesseraHistory *history, GParamSpec *pspec, TesseraWindow *self)
{
  GtkListBoxRow *row = gtk_list_box_get_row_at_index (self->history_list,
                                                      tessera_history_get_position (history));
  if (row)
    gtk_list_box_select_row (self->history_list, row);
  tessera_window_update_actions (self);
  tessera_window_history_changed (self);
}

static void
on_history_row_activated (GtkListBox *box, GtkListBoxRow *row, TesseraWindow *self)
{
  g_action_group_activate_action (G_ACTION_GROUP (self), "jump",
                                  g_variant_new_uint32 (gtk_list_box_row_get_index (row)));
}

/* ---- the request bar ---- */

/* The settings popover shows what the mode uses, as its row in the mode table says:
 * Strength where it is the mode's own setting (Restyle), Iterations instead of Steps where
 * the mode iterates (Edit samples one step per iteration). */
static void
show_mode_controls (TesseraWindow *self, TsPipelineMode mode)
{
  gboolean iterates = ts_mode_has (mode, TS_MODE_ITERATES);
  gtk_widget_set_visible (self->steps_label, !iterates);
  gtk_widget_set_visible (GTK_WIDGET (self->steps_spin), !iterates);
  gtk_widget_set_visible (self->iterations_label, iterates);
  gtk_widget_set_visible (GTK_WIDGET (self->iterations_spin), iterates);
  gboolean strength = ts_mode_has (mode, TS_MODE_ASKS_STRENGTH);
  gtk_widget_set_visible (self->strength_label, strength);
  gtk_widget_set_visible (GTK_WIDGET (self->strength_scale), strength);
}

/* "Whole picture" is a choice only where a frame would apply; its label says the size the
 * picture is then processed at. */
static void update_whole_picture_row (TesseraWindow *self);

static TsPipelineMode current_mode (TesseraWindow *self);
static gboolean frame_applies (TesseraWindow *self, TsPipelineMode mode);
static void update_frame (TesseraWindow *self);

static void
update_whole_picture_row (TesseraWindow *self)
{
  if (!self->engine)
    return;
  int native = tessera_engine_get_native_size (self->engine);
  gboolean shown = frame_applies (self, current_mode (self));
  gtk_widget_set_visible (GTK_WIDGET (self->whole_picture_check), shown);
  if (!shown)
    return;
  g_autofree char *label = g_strdup_printf (_("Whole picture, processed at %d×%d and scaled back"),
                                            native, native);
  gtk_check_button_set_label (self->whole_picture_check, label);
}

/* The style drop-down: "No style" then the vocabulary's style phrases; picking one puts it
 * at the end of the prompt in place of any other. */
static void
on_style_selected (GtkDropDown *dd, GParamSpec *pspec, TesseraWindow *self)
{
  if (self->setting_style || !self->vocabulary)
    return;
  guint i = gtk_drop_down_get_selected (dd);
  const char *const *styles = tessera_vocabulary_get_styles (self->vocabulary);
  const char *style = i >= 1 && i <= g_strv_length ((GStrv) styles) ? styles[i - 1] : NULL;
  const char *prompt = gtk_editable_get_text (GTK_EDITABLE (self->prompt_entry));
  g_autofree char *styled = tessera_vocabulary_apply_style (self->vocabulary, prompt, style);
  if (g_str_equal (styled, prompt))
    return;
  self->setting_style = TRUE;
  gtk_editable_set_text (GTK_EDITABLE (self->prompt_entry), styled);
  gtk_editable_set_position (GTK_EDITABLE (self->prompt_entry), -1);
  self->setting_style = FALSE;
}

/* The drop-down follows a style typed or completed in the prompt. */
static void
on_prompt_changed (GtkEditable *editable, TesseraWindow *self)
{
  /* Recovery brings the prompt back too: unsaved work is autosaved with it. */
  tessera_window_schedule_autosave (self);
  if (!self->vocabulary)
    return;
  const char *style = tessera_vocabulary_find_style (self->vocabulary,
                                                     gtk_editable_get_text (editable));
  if (self->setting_style)
    return;
  const char *const *styles = tessera_vocabulary_get_styles (self->vocabulary);
  guint selected = 0;
  for (guint i = 0; style && styles[i]; i++)
    if (styles[i] == style)
      selected = i + 1;
  self->setting_style = TRUE;
  gtk_drop_down_set_selected (self->style_dropdown, selected);
  self->setting_style = FALSE;
}

/* What the loaded model understands: completion, style drop-down and a placeholder that
 * works with it; free text for a model without a vocabulary. */
void
tessera_window_set_vocabulary (TesseraWindow *self, TesseraVocabulary *v)
{
  g_set_object (&self->vocabulary, v);
  tessera_prompt_completion_set_vocabulary (self->completion, v);
  const char *const *styles = v ? tessera_vocabulary_get_styles (v) : NULL;
  gboolean has_styles = styles && styles[0];
  if (has_styles) {
    g_autoptr (GStrvBuilder) b = g_strv_builder_new ();
    g_strv_builder_add (b, _("No style"));
    g_strv_builder_addv (b, (const char **) styles);
    g_auto (GStrv) items = g_strv_builder_end (b);
    GtkStringList *list = gtk_string_list_new ((const char *const *) items);
    self->setting_style = TRUE;
    gtk_drop_down_set_model (self->style_dropdown, G_LIST_MODEL (list));
    self->setting_style = FALSE;
    g_object_unref (list);
    on_prompt_changed (GTK_EDITABLE (self->prompt_entry), self);
  }
  gtk_widget_set_visible (GTK_WIDGET (self->style_dropdown), has_styles);
  const char *const *examples = v ? tessera_vocabulary_get_examples (v) : NULL;
  g_autofree char *hint = examples && examples[0]
                              ? g_strdup_printf (_("Describe what to paint, e.g. “%s”"), examples[0])
                              : g_strdup (_("Describe what to paint…"));
  gtk_entry_set_placeholder_text (self->prompt_entry, hint);
}

static void
apply_vocabulary (TesseraWindow *self)
{
  const char *problem = tessera_engine_get_vocabulary_error (self->engine);
  if (problem)
    tessera_window_toast (self, problem);
  tessera_window_set_vocabulary (self, tessera_engine_get_vocabulary (self->engine));
}

/* The model's guidance, unless the user chose a default guidance of their own in Preferences
 * (a small model may draw far better at 2 than at the family's 10). */
static void
apply_model_defaults (TesseraWindow *self)
{
  const char *problem = tessera_engine_get_defaults_error (self->engine);
  if (problem)
    tessera_window_toast (self, problem);
  const TsModelDefaults *d = tessera_engine_get_defaults (self->engine);
  g_autoptr (GVariant) own = g_settings_get_user_value (self->settings, "guidance");
  if (d && !own)
    gtk_spin_button_set_value (self->guidance_spin, d->guidance);
}

TesseraPromptCompletion *
tessera_window_get_prompt_completion (TesseraWindow *self)
{
  return self->completion;
}

GtkWidget *
tessera_window_get_style_dropdown (TesseraWindow *self)
{
  return GTK_WIDGET (self->style_dropdown);
}

/* ---- request flow ---- */

/* The `win.mode` action's state: a mode's id in the mode table. */
static TsPipelineMode
current_mode (TesseraWindow *self)
{
  GAction *a = g_action_map_lookup_action (G_ACTION_MAP (self), "mode");
  g_autoptr (GVariant) state = g_action_get_state (a);
  const TsModeInfo *mode = ts_mode_from_id (g_variant_get_string (state, NULL));
  return mode ? mode->mode : TS_MODE_GENERATE;
}

/* The request bar as it is, without drawing a random seed. */
TesseraParams *
tessera_window_get_draft (TesseraWindow *self)
{
  TesseraParams *p = tessera_params_new ();
  p->mode = current_mode (self);
  g_free (p->prompt);
  p->prompt = g_strdup (gtk_editable_get_text (GTK_EDITABLE (self->prompt_entry)));
  g_free (p->negative_prompt);
  p->negative_prompt = g_strdup (gtk_editable_get_text (GTK_EDITABLE (self->negative_entry)));
  p->seed = (guint32) gtk_spin_button_get_value (self->seed_spin);
  p->n_variants = gtk_spin_button_get_value_as_int (self->variants_spin);
  p->steps = gtk_spin_button_get_value_as_int (self->steps_spin);
  p->guidance = gtk_spin_button_get_value (self->guidance_spin);
  p->strength = gtk_range_get_value (GTK_RANGE (self->strength_scale));
  p->edit_iterations = gtk_spin_button_get_value_as_int (self->iterations_spin);
  return p;
}

/* Puts a saved request bar back (a recovered or opened project): the mode and the prompts,
 * what was being written. The sampler settings stay as the preferences made them; Reuse
 * Parameters on a history entry brings back a whole request. */
void
tessera_window_restore_draft (TesseraWindow *self, const TesseraParams *p)
{
  tessera_window_set_mode (self, p->mode);
  gtk_editable_set_text (GTK_EDITABLE (self->prompt_entry), p->prompt);
  gtk_editable_set_text (GTK_EDITABLE (self->negative_entry), p->negative_prompt);
}

/* The request bar for a run: the draft, after drawing a new seed when the bar asks for one. */
static TesseraParams *
params_from_ui (TesseraWindow *self)
{
  if (gtk_check_button_get_active (self->random_seed_check))
    gtk_spin_button_set_value (self->seed_spin, g_random_int ());
  return tessera_window_get_draft (self);
}

/* The mask as painted: the pipeline grows and feathers it (the request's grow and feather),
 * so the edge softens instead of the repainted area spreading. */
static GBytes *
request_mask (TesseraWindow *self, TsPipelineMode mode)
{
  if (!ts_mode_has (mode, TS_MODE_NEEDS_MASK))
    return NULL;
  return tessera_document_get_mask_bytes (self->document);
}

int
tessera_window_get_token_size (TesseraWindow *self)
{
  int side = self->engine ? tessera_engine_get_token_size (self->engine) : 0;
  return side > 0 ? side : DEFAULT_TOKEN_SIDE;
}

/* Outpaint fills the canvas's empty border: the fully transparent rows and columns along
 * each side that extending the canvas added. FALSE when there is none (or nothing else). */
static gboolean
outpaint_extents (GBytes *rgba, int width, int height, int extents[4])
{
  const guint8 *px = g_bytes_get_data (rgba, NULL);
#define ALPHA(x, y) px[((gsize) (y) * width + (x)) * 4 + 3]
  int left = 0, right = 0, top = 0, bottom = 0;
  for (gboolean empty = TRUE; empty && left < width; left += empty) {
    for (int y = 0; y < height && empty; y++)
      empty = ALPHA (left, y) == 0;
  }
  if (left >= width)
    return FALSE;   /* nothing to extend from */
  for (gboolean empty = TRUE; empty; right += empty)
    for (int y = 0; y < height && empty; y++)
      empty = ALPHA (width - 1 - right, y) == 0;
  for (gboolean empty = TRUE; empty; top += empty)
    for (int x = left; x < width - right && empty; x++)
      empty = ALPHA (x, top) == 0;
  for (gboolean empty = TRUE; empty; bottom += empty)
    for (int x = left; x < width - right && empty; x++)
      empty = ALPHA (x, height - 1 - bottom) == 0;
#undef ALPHA
  extents[0] = left;
  extents[1] = top;
  extents[2] = right;
  extents[3] = bottom;
  return left + top + right + bottom > 0;
}

/* Whether the request works on a native-size frame of a larger picture. */
static gboolean
frame_applies (TesseraWindow *self, TsPipelineMode mode)
{
  int native = self->engine ? tessera_engine_get_native_size (self->engine) : 0;
  return native > 0 && ts_mode_has (mode, TS_MODE_FRAMES)
         && (tessera_document_get_width (self->document) > native
             || tessera_document_get_height (self->document) > native);
}

static gboolean
canvas_has_property (TesseraWindow *self, const char *name)
{
  return g_object_class_find_property (G_OBJECT_GET_CLASS (self->canvas), name) != NULL;
}

/* The frame's top-left corner: where the user placed it on the canvas, else centred. */
static void
frame_position (TesseraWindow *self, int *x, int *y)
{
  int native = tessera_engine_get_native_size (self->engine);
  *x = MAX (0, (tessera_document_get_width (self->document) - native) / 2);
  *y = MAX (0, (tessera_document_get_height (self->document) - native) / 2);
  if (canvas_has_property (self, "frame-x") && canvas_has_property (self, "frame-y")
      && self->frame_placed)
    g_object_get (self->canvas, "frame-x", x, "frame-y", y, NULL);
}

TesseraJobRequest *
tessera_window_build_request (TesseraWindow *self, GError **error)
{
  g_autoptr (TesseraParams) p = params_from_ui (self);
  if (ts_mode_has (p->mode, TS_MODE_NEEDS_MASK)) {
    TesseraMaskBuf *m = tessera_document_get_mask (self->document);
    if (tessera_mask_count (m, 1) == 0) {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                           _("Paint a mask first: it marks what to change"));
      return NULL;
    }
  }
  int width = tessera_document_get_width (self->document);
  int height = tessera_document_get_height (self->document);
  g_autoptr (GBytes) rgba = tessera_document_get_rgba (self->document);
  if (!rgba) {
    g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE,
                         _("Not enough memory for the request"));
    return NULL;
  }
  int extents[4] = { 0 };
  if (ts_mode_has (p->mode, TS_MODE_NEEDS_EXTEND)
      && !outpaint_extents (rgba, width, height, extents)) {
    g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                         _("Extend the canvas first: drag a handle on its edge, or use "
                           "Extend Canvas in the main menu"));
    return NULL;
  }
  g_autoptr (GBytes) mask = request_mask (self, p->mode);
  TesseraJobRequest *r = tessera_job_request_new (p, width, height, rgba, mask);
  r->grow = g_settings_get_int (self->settings, "mask-grow");
  r->feather = g_settings_get_int (self->settings, "mask-feather");
  r->extend_left = extents[0];
  r->extend_top = extents[1];
  r->extend_right = extents[2];
  r->extend_bottom = extents[3];
  if (frame_applies (self, p->mode)) {
    r->use_frame = !g_settings_get_boolean (self->settings, "whole-picture");
    frame_position (self, &r->frame_x, &r->frame_y);
  }
  return r;
}

/* Where the live token preview goes: the mask's bounds grown as the pipeline grows them, the
 * frame, or the whole picture. */
static TesseraRect
affected_area (TesseraWindow *self, const TesseraJobRequest *r)
{
  TesseraRect all = { 0, 0, r->width, r->height };
  if (r->use_frame) {
    int native = tessera_engine_get_native_size (self->engine);
    TesseraRect frame = { CLAMP (r->frame_x, 0, MAX (0, r->width - native)),
                          CLAMP (r->frame_y, 0, MAX (0, r->height - native)),
                          MIN (native, r->width), MIN (native, r->height) };
    return frame;
  }
  if (!r->mask || ts_mode_has (r->params->mode, TS_MODE_MASK_KEEPS))
    return all;
  TesseraMaskBuf m = { (guint8 *) g_bytes_get_data (r->mask, NULL), r->width, r->height,
                       r->width };
  TesseraRect b = tessera_mask_bounds (&m);
  int margin = r->grow + (r->feather + 1) / 2;
  b.x -= margin;
  b.y -= margin;
  b.width += 2 * margin;
  b.height += 2 * margin;
  /* Snap to the token grid, as the model repaints whole tokens. */
  int t = tessera_window_get_token_size (self);
  int x0 = MAX (b.x, 0) / t * t, y0 = MAX (b.y, 0) / t * t;
  int x1 = (b.x + b.width + t - 1) / t * t;
  int y1 = (b.y + b.height + t - 1) / t * t;
  TesseraRect r2 = { x0, y0, x1 - x0, y1 - y0 };
  tessera_rect_clip (&r2, r->width, r->height);
  return tessera_rect_is_empty (&r2) ? all : r2;
}

/* "about 0.4 s left": seconds to words, coarser as they grow. */
static char *
time_left_text (double seconds)
{
  if (seconds < 10)
    return g_strdup_printf (_("about %.1f s left"), seconds);
  if (seconds < 120)
    return g_strdup_printf (_("about %.0f s left"), seconds);
  return g_strdup_printf (_("about %.0f min left"), seconds / 60);
}

/* The subtitle during a run: which step, and the time the remaining steps should take at the
 * pace so far (the pipeline's estimate). */
static void
show_run_status (TesseraWindow *self, const TesseraJobProgress *progress)
{
  g_autofree char *step = g_strdup_printf (_("Step %d of %d"), progress->step, progress->n_steps);
  g_autofree char *when = progress->step >= progress->n_steps ? g_strdup (_("finishing"))
                          : progress->seconds_left >= 0 ? time_left_text (progress->seconds_left)
                          : NULL;
  g_autofree char *line = when ? g_strdup_printf ("%s · %s", step, when) : g_strdup (step);
  adw_window_title_set_subtitle (self->window_title, line);
}

static void
on_run_progress (TesseraRunQueue *runs, const TesseraJobProgress *progress, TesseraWindow *self)
{
  show_run_status (self, progress);
  gtk_progress_bar_set_fraction (self->progress_bar, (double) progress->step / progress->n_steps);
  tessera_canvas_set_progress (self->canvas, progress, &self->progress_area);
}

/* The variants strip empty and the canvas on the document again. */
static void
clear_variants (TesseraWindow *self)
{
  GtkWidget *child;
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->variants_box))))
    gtk_box_remove (self->variants_box, child);
  gtk_revealer_set_reveal_child (self->variants_revealer, FALSE);
  tessera_canvas_set_preview (self->canvas, NULL);
  self->hover_variant = -1;
}

void
tessera_window_clear_pending (TesseraWindow *self)
{
  tessera_run_queue_clear_pending (self->runs);
  clear_variants (self);
}

/* The pending result's variant i (NULL if there is none). */
static GBytes *
pending_variant (TesseraWindow *self, guint i)
{
  TesseraJobResult *pending = tessera_run_queue_get_pending (self->runs);
  return pending && i < pending->variants->len ? g_ptr_array_index (pending->variants, i) : NULL;
}

static void
on_variant_toggled (GtkToggleButton *button, TesseraWindow *self)
{
  if (!gtk_toggle_button_get_active (button))
    return;
  guint index = GPOINTER_TO_UINT (g_object_get_data (G_OBJECT (button), "variant"));
  g_action_group_activate_action (G_ACTION_GROUP (self), "select-variant",
                                  g_variant_new_uint32 (index));
}

/* Hovering or focusing a variant's button previews it without choosing it. */
static void
preview_variant_button (TesseraWindow *self, GtkWidget *button)
{
  guint i = GPOINTER_TO_UINT (g_object_get_data (G_OBJECT (button), "variant"));
  GBytes *v = pending_variant (self, i);
  if (!v)
    return;
  self->hover_variant = i;
  tessera_canvas_set_preview (self->canvas, v);
}

/* Back to the selected variant. */
static void
end_variant_preview (TesseraWindow *self)
{
  self->hover_variant = -1;
  GBytes *v = pending_variant (self, tessera_run_queue_get_selected_variant (self->runs));
  if (v)
    tessera_canvas_set_preview (self->canvas, v);
}

static void
on_variant_enter (GtkEventControllerMotion *c, double x, double y, TesseraWindow *self)
{
  preview_variant_button (self, gtk_event_controller_get_widget (GTK_EVENT_CONTROLLER (c)));
}

static void
on_variant_leave (GtkEventControllerMotion *c, TesseraWindow *self)
{
  end_variant_preview (self);
}

static void
on_variant_focus_enter (GtkEventControllerFocus *c, TesseraWindow *self)
{
  preview_variant_button (self, gtk_event_controller_get_widget (GTK_EVENT_CONTROLLER (c)));
}

static void
on_variant_focus_leave (GtkEventControllerFocus *c, TesseraWindow *self)
{
  end_variant_preview (self);
}

int
tessera_window_get_previewed_variant (TesseraWindow *self)
{
  if (!tessera_run_queue_get_pending (self->runs))
    return -1;
  return self->hover_variant >= 0 ? self->hover_variant
                                  : (int) tessera_run_queue_get_selected_variant (self->runs);
}

static void
show_variants (TesseraWindow *self)
{
  TesseraJobResult *pending = tessera_run_queue_get_pending (self->runs);
  GtkToggleButton *group = NULL;
  for (guint i = 0; i < pending->variants->len; i++) {
    g_autoptr (GdkTexture) thumb = tessera_thumbnail_from_rgba (
        g_ptr_array_index (pending->variants, i), pending->width, pending->height, THUMB_SIZE);
    GtkWidget *b = gtk_toggle_button_new ();
    GtkWidget *pic = gtk_picture_new_for_paintable (GDK_PAINTABLE (thumb));
    gtk_widget_set_size_request (pic, THUMB_SIZE, THUMB_SIZE);
    gtk_button_set_child (GTK_BUTTON (b), pic);
    gtk_widget_add_css_class (b, "variant-button");
    g_autofree char *tip = g_strdup_printf (_("Variant %u, seed %u"), i + 1,
                                            pending->first_seed + i);
    gtk_widget_set_tooltip_text (b, tip);
    g_object_set_data (G_OBJECT (b), "variant", GUINT_TO_POINTER (i));
    if (group)
      gtk_toggle_button_set_group (GTK_TOGGLE_BUTTON (b), group);
    else
      group = GTK_TOGGLE_BUTTON (b);
    g_signal_connect (b, "toggled", G_CALLBACK (on_variant_toggled), self);
    /* Hovering previews a variant without choosing it. */
    GtkEventController *motion = gtk_event_controller_motion_new ();
    g_signal_connect (motion, "enter", G_CALLBACK (on_variant_enter), self);
    g_signal_connect (motion, "leave", G_CALLBACK (on_variant_leave), self);
    gtk_widget_add_controller (b, motion);
    /* Tabbing or arrowing through the strip previews the focused variant, as hovering does. */
    GtkEventController *focus = gtk_event_controller_focus_new ();
    g_signal_connect (focus, "enter", G_CALLBACK (on_variant_focus_enter), self);
    g_signal_connect (focus, "leave", G_CALLBACK (on_variant_focus_leave), self);
    gtk_widget_add_controller (b, focus);
    gtk_box_append (self->variants_box, b);
  }
  gtk_revealer_set_reveal_child (self->variants_revealer, TRUE);
  if (group)
    gtk_toggle_button_set_active (group, TRUE);
  /* The result in place at once: win.select-variant, which the toggle above asks for, is
   * still disabled here (tessera_window_update_actions runs after). */
  self->hover_variant = -1;
  tessera_canvas_set_preview (self->canvas,
                              pending_variant (self,
                                               tessera_run_queue_get_selected_variant (self->runs)));
}

/* The queue handed a request to the engine: the progress bar and the live preview start. */
static void
on_run_started (TesseraRunQueue *runs, TesseraRun *run, const TesseraJobRequest *request,
                TesseraWindow *self)
{
  self->progress_area = affected_area (self, request);
  adw_window_title_set_subtitle (self->window_title, _("Starting…"));
  gtk_progress_bar_set_fraction (self->progress_bar, 0);
  gtk_widget_set_visible (GTK_WIDGET (self->progress_bar), TRUE);
  tessera_window_update_actions (self);
}

/* The running request ended: back to the model line; its variants on show, or why not. */
static void
on_run_stopped (TesseraRunQueue *runs, const GError *error, TesseraWindow *self)
{
  gtk_widget_set_visible (GTK_WIDGET (self->progress_bar), FALSE);
  tessera_canvas_set_progress (self->canvas, NULL, NULL);
  adw_window_title_set_subtitle (self->window_title, tessera_engine_get_status (self->engine));
  if (error) {
    if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
      tessera_window_toast (self, error->message);
  } else {
    /* How it was done differently (a smaller batch, the CPU instead of the GPU). A lost GPU
     * has its own message (on_device_lost), once. */
    TesseraJobResult *res = tessera_run_queue_get_pending (runs);
    if (res->notice && !res->device_lost) {
      g_autofree char *note = g_strdup_printf (_("Note: %s"), res->notice);
      tessera_window_toast (self, note);
    }
    clear_variants (self);
    show_variants (self);
  }
  tessera_window_update_actions (self);
}

static void
action_generate (GSimpleAction *a, GVariant *param, gpointer data)
{
  TesseraWindow *self = data;
  g_autoptr (GError) error = NULL;
  TesseraJobRequest *r = tessera_window_build_request (self, &error);
  if (!r) {
    tessera_window_toast (self, error->message);
    return;
  }
  if (!tessera_run_queue_push (self->runs, r))
    tessera_window_toast (self, _("Queued after the running request"));
  tessera_window_update_actions (self);
}

static void
action_cancel (GSimpleAction *a, GVariant *param, gpointer data)
{
  TesseraWindow *self = data;
  tessera_run_queue_cancel_all (self->runs);
  tessera_window_update_actions (self);
}

/* One request: 0 is the running one (the next starts), n the n-th queued. */
static void
action_cancel_request (GSimpleAction *a, GVariant *param, gpointer data)
{
  TesseraWindow *self = data;
  tessera_run_queue_cancel_nth (self->runs, g_variant_get_uint32 (param));
  tessera_window_update_actions (self);
}

static void
action_select_variant (GSimpleAction *a, GVariant *param, gpointer data)
{
  TesseraWindow *self = data;
  guint i = g_variant_get_uint32 (param);
  if (!tessera_run_queue_select_variant (self->runs, i))
    return;
  tessera_canvas_set_preview (self->canvas, pending_variant (self, i));
  GtkWidget *b = gtk_widget_get_first_child (GTK_WIDGET (self->variants_box));
  for (guint k = 0; b; k++, b = gtk_widget_get_next_sibling (b))
    if (k == i && !gtk_toggle_button_get_active (GTK_TOGGLE_BUTTON (b)))
      gtk_toggle_button_set_active (GTK_TOGGLE_BUTTON (b), TRUE);
}

static void
action_apply (GSimpleAction *a, GVariant *param, gpointer data)
{
  TesseraWindow *self = data;
  g_autoptr (GError) error = NULL;
  TesseraJobResult *pending = tessera_run_queue_get_pending (self->runs);
  if (!pending)
    return;
  GBytes *v = pending_variant (self, tessera_run_queue_get_selected_variant (self->runs));
  if (!tessera_document_composite_rgba (self->document, v, NULL, &error)) {
    tessera_window_toast (self, error->message);
    return;
  }
  const TesseraParams *p = tessera_run_queue_get_pending_params (self->runs);
  g_autofree char *label = p && *p->prompt
                               ? g_strdup_printf ("%s: %s", tessera_params_get_mode_label (p),
                                                  p->prompt)
                               : g_strdup (p ? tessera_params_get_mode_label (p)
                                             : _(ts_mode_info (TS_MODE_GENERATE)->label));
  /* The mask did its job: clearing it in the same step takes the overlay off the result,
   * and Undo brings both back. */
  tessera_document_mask_clear (self->document);
  tessera_window_commit (self, TESSERA_ENTRY_GENERATE, label,
                         TESSERA_CHANGE_IMAGE | TESSERA_CHANGE_MASK, p, pending);
  tessera_window_clear_pending (self);
  tessera_window_update_actions (self);
}

static void
action_discard (GSimpleAction *a, GVariant *param, gpointer data)
{
  tessera_window_clear_pending (data);
  tessera_window_update_actions (data);
}

/* ---- undo ---- */

static void
action_undo (GSimpleAction *a, GVariant *param, gpointer data)
{
  TesseraWindow *self = data;
  restore_entry (self, tessera_history_undo (self->history));
}

static void
action_redo (GSimpleAction *a, GVariant *param, gpointer data)
{
  TesseraWindow *self = data;
  restore_entry (self, tessera_history_redo (self->history));
}

static void
action_jump (GSimpleAction *a, GVariant *param, gpointer data)
{
  TesseraWindow *self = data;
  if (tessera_run_queue_is_running (self->runs))
    return;
  guint pos = g_variant_get_uint32 (param);
  if (pos != tessera_history_get_position (self->history))
    restore_entry (self, tessera_history_jump (self->history, pos));
}

gboolean
tessera_window_undo_shortcut (TesseraWindow *self, gboolean redo)
{
  /* Text fields that could undo already took the key (this binding runs after them, in the
   * bubble phase); one with nothing left to undo must not undo the picture instead. */
  GtkWidget *focus = gtk_root_get_focus (GTK_ROOT (self));
  if (focus && GTK_IS_EDITABLE (focus))
    return FALSE;
  const char *name = redo ? "redo" : "undo";
  if (!g_action_group_get_action_enabled (G_ACTION_GROUP (self), name))
    return FALSE;
  g_action_group_activate_action (G_ACTION_GROUP (self), name, NULL);
  return TRUE;
}

static gboolean
undo_key (GtkWidget *widget, GVariant *args, gpointer data)
{
  return tessera_window_undo_shortcut (TESSERA_WINDOW (widget), g_variant_get_boolean (args));
}

/* ---- canvas actions ---- */

static void
action_zoom (GSimpleAction *a, GVariant *param, gpointer data)
{
  TesseraWindow *self = data;
  const char *name = g_action_get_name (G_ACTION (a));
  if (g_str_equal (name, "zoom-in"))
    tessera_canvas_zoom_in (self->canvas);
  else if (g_str_equal (name, "zoom-out"))
    tessera_canvas_zoom_out (self->canvas);
  else if (g_str_equal (name, "zoom-fit"))
    tessera_canvas_zoom_fit (self->canvas);
  else
    tessera_canvas_zoom_actual (self->canvas);
}

static void
on_zoom_changed (TesseraCanvas *canvas, TesseraWindow *self)
{
  g_autofree char *label = g_strdup_printf ("%.0f %%", tessera_canvas_get_zoom (canvas) * 100);
  gtk_button_set_label (self->zoom_button, label);
}

static void
apply_brush (TesseraWindow *self)
{
  GAction *a = g_action_map_lookup_action (G_ACTION_MAP (self), "tool");
  g_autoptr (GVariant) state = g_action_get_state (a);
  tessera_canvas_set_brush (self->canvas, gtk_adjustment_get_value (self->size_adjustment),
                            gtk_adjustment_get_value (self->hardness_adjustment),
                            g_str_equal (g_variant_get_string (state, NULL), "eraser"));
}

static void
action_tool (GSimpleAction *a, GVariant *param, gpointer data)
{
  g_simple_action_set_state (a, param);
  apply_brush (data);
}

static void
action_mask (GSimpleAction *a, GVariant *param, gpointer data)
{
  TesseraWindow *self = data;
  const char *name = g_action_get_name (G_ACTION (a));
  const char *label;
  if (g_str_equal (name, "mask-clear")) {
    tessera_document_mask_clear (self->document);
    label = _("Clear mask");
  } else if (g_str_equal (name, "mask-fill")) {
    tessera_document_mask_fill (self->document);
    label = _("Fill mask");
  } else {
    tessera_document_mask_invert (self->document);
    label = _("Invert mask");
  }
  tessera_window_commit (self, TESSERA_ENTRY_MASK, label, TESSERA_CHANGE_MASK, NULL, NULL);
}

static void
action_show_mask (GSimpleAction *a, GVariant *param, gpointer data)
{
  TesseraWindow *self = data;
  g_simple_action_set_state (a, param);
  tessera_document_set_mask_visible (self->document, g_variant_get_boolean (param));
}

static void
on_stroke_finished (TesseraCanvas *canvas, TesseraWindow *self)
{
  tessera_window_commit (self, TESSERA_ENTRY_MASK,
          tessera_canvas_get_brush (canvas)->erase ? _("Erase mask") : _("Paint mask"),
          TESSERA_CHANGE_MASK, NULL, NULL);
}

/* Grows the canvas by whole tokens on each side (an empty, transparent border: what Outpaint
 * fills) as one undoable step, then runs Outpaint on it when the model is ready. */
gboolean
tessera_window_extend (TesseraWindow *self, int left, int top, int right, int bottom)
{
  g_autoptr (GError) error = NULL;
  int t = tessera_window_get_token_size (self);
  int e[4] = { left, top, right, bottom };
  for (int i = 0; i < 4; i++)
    e[i] = (MAX (e[i], 0) + t - 1) / t * t;
  if (e[0] + e[1] + e[2] + e[3] == 0)
    return FALSE;
  if (!tessera_document_extend (self->document, e[0], e[1], e[2], e[3], &error)) {
    tessera_window_toast (self, error->message);
    return FALSE;
  }
  tessera_window_commit (self, TESSERA_ENTRY_RESIZE, _("Extend canvas"), TESSERA_CHANGE_SIZE,
                         NULL, NULL);
  tessera_window_set_mode (self, TS_MODE_OUTPAINT);
  if (g_action_group_get_action_enabled (G_ACTION_GROUP (self), "generate"))
    g_action_group_activate_action (G_ACTION_GROUP (self), "generate", NULL);
  return TRUE;
}

/* The menu's Extend Canvas items: shortcuts for dragging an edge handle by a fixed amount. */
static void
action_extend (GSimpleAction *a, GVariant *param, gpointer data)
{
  TesseraWindow *self = data;
  const char *side = g_variant_get_string (param, NULL);
  int e[4] = { 0 };   /* left, top, right, bottom */
  const char *sides[4] = { "left", "top", "right", "bottom" };
  for (int i = 0; i < 4; i++)
    if (g_str_equal (side, sides[i]))
      e[i] = EXTEND_TOKENS * tessera_window_get_token_size (self);
  tessera_window_extend (self, e[0], e[1], e[2], e[3]);
}

/* The canvas's edge handles, dragged by so many image pixels on each side. */
static void
on_extend_requested (TesseraCanvas *canvas, int left, int top, int right, int bottom,
                     TesseraWindow *self)
{
  tessera_window_extend (self, left, top, right, bottom);
}

/* The states are the mode table's ids; the menu lists the rows in the table's order. */
static void
action_mode (GSimpleAction *a, GVariant *param, gpointer data)
{
  TesseraWindow *self = data;
  const TsModeInfo *info = ts_mode_from_id (g_variant_get_string (param, NULL));
  if (!info)
    return;
  TsPipelineMode mode = info->mode;
  g_simple_action_set_state (a, param);
  if (gtk_drop_down_get_selected (self->mode_dropdown) != ts_mode_index (mode))
    gtk_drop_down_set_selected (self->mode_dropdown, ts_mode_index (mode));
  show_mode_controls (self, mode);
  update_frame (self);
  tessera_window_schedule_autosave (self);
}

void
tessera_window_set_mode (TesseraWindow *self, TsPipelineMode mode)
{
  g_action_group_change_action_state (G_ACTION_GROUP (self), "mode",
                                      g_variant_new_string (ts_mode_info (mode)->id));
}

static void
on_mode_selected (GtkDropDown *dd, GParamSpec *pspec, TesseraWindow *self)
{
  guint i = gtk_drop_down_get_selected (dd);
  if (i < ts_mode_count ())
    g_action_group_change_action_state (G_ACTION_GROUP (self), "mode",
                                        g_variant_new_string (ts_mode_nth (i)->id));
}

static void
set_compare_state (TesseraWindow *self, gboolean on)
{
  GAction *a = g_action_map_lookup_action (G_ACTION_MAP (self), "compare");
  g_simple_action_set_state (G_SIMPLE_ACTION (a), g_variant_new_boolean (on));
}

/* Compares the document with an entry's picture (variant < 0) or one of its variants. */
gboolean
tessera_window_compare_with (TesseraWindow *self, TesseraHistoryEntry *entry, int variant)
{
  TesseraState *s = tessera_history_entry_get_state (entry);
  if (s->width != tessera_document_get_width (self->document)
      || s->height != tessera_document_get_height (self->document)) {
    tessera_window_toast (self, _("That step has a different size"));
    return FALSE;
  }
  g_autoptr (GBytes) before = NULL;
  if (variant < 0)
    before = tessera_state_dup_rgba (s);
  else if ((guint) variant < tessera_history_entry_get_n_variants (entry))
    before = g_bytes_ref (tessera_history_entry_get_variant (entry, variant));
  if (!before)
    return FALSE;
  tessera_canvas_set_compare (self->canvas, before);
  set_compare_state (self, TRUE);
  return TRUE;
}

static void
action_compare (GSimpleAction *a, GVariant *param, gpointer data)
{
  TesseraWindow *self = data;
  guint pos = tessera_history_get_position (self->history);
  /* With variants on show: the previewed variant against the picture as it is. */
  if (g_variant_get_boolean (param) && tessera_run_queue_get_pending (self->runs)) {
    g_autoptr (GBytes) before = tessera_document_get_rgba (self->document);
    if (before) {
      tessera_canvas_set_compare (self->canvas, before);
      set_compare_state (self, TRUE);
      return;
    }
  }
  /* Otherwise against the step before. */
  if (g_variant_get_boolean (param) && pos > 0) {
    g_autoptr (TesseraHistoryEntry) prev = g_list_model_get_item (G_LIST_MODEL (self->history),
                                                                  pos - 1);
    if (tessera_window_compare_with (self, prev, -1))
      return;
  }
  tessera_canvas_set_compare (self->canvas, NULL);
  set_compare_state (self, FALSE);
}

static void
action_compare_with (GSimpleAction *a, GVariant *param, gpointer data)
{
  TesseraWindow *self = data;
  guint index;
  int variant;
  g_variant_get (param, "(ui)", &index, &variant);
  g_autoptr (TesseraHistoryEntry) e = g_list_model_get_item (G_LIST_MODEL (self->history), index);
  if (e)
    tessera_window_compare_with (self, e, variant);
}

static void
action_side_by_side (GSimpleAction *a, GVariant *param, gpointer data)
{
  TesseraWindow *self = data;
  g_simple_action_set_state (a, param);
  tessera_canvas_set_side_by_side (self->canvas, g_variant_get_boolean (param));
}

/* Puts an entry's request back into the request bar, ready to run again or tweak. */
void
tessera_window_reuse_params (TesseraWindow *self, const TesseraParams *p)
{
  tessera_window_set_mode (self, p->mode);
  gtk_editable_set_text (GTK_EDITABLE (self->prompt_entry), p->prompt);
  gtk_editable_set_text (GTK_EDITABLE (self->negative_entry), p->negative_prompt);
  gtk_check_button_set_active (self->random_seed_check, FALSE);
  gtk_spin_button_set_value (self->seed_spin, p->seed);
  gtk_spin_button_set_value (self->variants_spin, p->n_variants);
  gtk_spin_button_set_value (self->steps_spin, p->steps);
  gtk_spin_button_set_value (self->guidance_spin, p->guidance);
  gtk_range_set_value (GTK_RANGE (self->strength_scale), p->strength);
  gtk_spin_button_set_value (self->iterations_spin, p->edit_iterations);
  gtk_widget_grab_focus (GTK_WIDGET (self->prompt_entry));
}

static void
action_reuse_params (GSimpleAction *a, GVariant *param, gpointer data)
{
  TesseraWindow *self = data;
  g_autoptr (TesseraHistoryEntry) e = g_list_model_get_item (G_LIST_MODEL (self->history),
                                                             g_variant_get_uint32 (param));
  if (e && tessera_history_entry_get_params (e))
    tessera_window_reuse_params (self, tessera_history_entry_get_params (e));
}

static void
action_show_history (GSimpleAction *a, GVariant *param, gpointer data)
{
  TesseraWindow *self = data;
  g_simple_action_set_state (a, param);
  gtk_revealer_set_reveal_child (self->history_revealer, g_variant_get_boolean (param));
}

/* ---- files ---- */

static void
on_image_loaded (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (TesseraWindow) self = user_data;
  g_autoptr (GError) error = NULL;
  int w, h;
  g_autoptr (GBytes) rgba = tessera_image_load_finish (result, &w, &h, &error);
  if (!rgba) {
    tessera_window_toast (self, error->message);
    return;
  }
  GFile *file = g_object_get_data (G_OBJECT (result), "file");
  g_autofree char *name = file ? g_file_get_basename (file) : g_strdup (_("Image"));
  /* A picture opens as a new document with its own history (the old one was saved or
   * discarded before loading began). */
  tessera_window_start_document (self, rgba, w, h, name);
  if (current_mode (self) == TS_MODE_GENERATE)
    tessera_window_set_mode (self, TS_MODE_INPAINT);
  if (file) {
    g_autofree char *uri = g_file_get_uri (file);
    gtk_recent_manager_add_item (gtk_recent_manager_get_default (), uri);
  }
}

void
tessera_window_open_picture (TesseraWindow *self, GFile *file)
{
  tessera_image_load_async (file, NULL, on_image_loaded, g_object_ref (self));
}

static void
on_open_chosen (TesseraWindow *self, GFile *file)
{
  if (file)
    tessera_window_open_file (self, file);
}

static void
action_open (GSimpleAction *a, GVariant *param, gpointer data)
{
  GtkFileFilter *f = gtk_file_filter_new ();
  gtk_file_filter_set_name (f, _("Images"));
  gtk_file_filter_add_mime_type (f, "image/png");
  gtk_file_filter_add_mime_type (f, "image/jpeg");
  gtk_file_filter_add_mime_type (f, "image/webp");
  gtk_file_filter_add_mime_type (f, "image/openraster");
  gtk_file_filter_add_pattern (f, "*.ora");
  tessera_window_choose_file (data, _("Open Image"), GTK_FILE_CHOOSER_ACTION_OPEN, _("_Open"), f,
                              NULL, NULL, on_open_chosen);
}

static void
action_open_file (GSimpleAction *a, GVariant *param, gpointer data)
{
  g_autoptr (GFile) file = g_file_new_for_commandline_arg (g_variant_get_string (param, NULL));
  tessera_window_open_file (data, file);
}

static void
export_to (TesseraWindow *self, GFile *file)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) rgba = tessera_document_get_rgba (self->document);
  if (!rgba || !tessera_image_save (file, rgba, tessera_document_get_width (self->document),
                                    tessera_document_get_height (self->document), &error))
    tessera_window_toast (self, error ? error->message : _("Not enough memory to export"));
}

static void
on_export_chosen (TesseraWindow *self, GFile *file)
{
  if (file)
    export_to (self, file);
}

static void
action_export (GSimpleAction *a, GVariant *param, gpointer data)
{
  tessera_window_choose_file (data, _("Export Image"), GTK_FILE_CHOOSER_ACTION_SAVE, _("_Export"),
                              NULL, NULL, _("Untitled.png"), on_export_chosen);
}

static void
action_export_file (GSimpleAction *a, GVariant *param, gpointer data)
{
  g_autoptr (GFile) file = g_file_new_for_commandline_arg (g_variant_get_string (param, NULL));
  export_to (data, file);
}

/* ---- engine state ---- */

/* Starts over on a blank (white) canvas of side × side pixels with a one-entry history. */
static gboolean
start_blank (TesseraWindow *self, int side, GError **error)
{
  gsize stride = (gsize) side * 4;
  g_autofree guint8 *white = g_try_malloc (stride * side);
  if (!white) {
    g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE,
                         _("Not enough memory for a new canvas"));
    return FALSE;
  }
  memset (white, 0xff, stride * side);
  if (!tessera_document_set_rgba (self->document, white, side, side, (int) stride, error))
    return FALSE;
  g_autoptr (TesseraState) state = tessera_document_snapshot (self->document);
  g_autoptr (TesseraHistoryEntry) first = tessera_history_entry_new (TESSERA_ENTRY_NEW,
                                                                     _("New canvas"), state, NULL);
  tessera_history_reset (self->history, first);
  return TRUE;
}

gboolean
tessera_window_start_blank (TesseraWindow *self, GError **error)
{
  int side = self->engine ? tessera_engine_get_native_size (self->engine) : 0;
  return start_blank (self, side > 0 ? side : BLANK_SIDE, error);
}

/* A canvas nothing has happened to yet takes the model's native size, so Generate fills it
 * pixel for pixel instead of being scaled up or down to it. */
static void
fit_blank_canvas (TesseraWindow *self)
{
  int side = tessera_engine_get_native_size (self->engine);
  TesseraHistoryEntry *cur = tessera_history_get_current (self->history);
  if (side <= 0 || tessera_run_queue_get_pending (self->runs)
      || tessera_run_queue_is_running (self->runs) || self->io_in_flight > 0
      || g_list_model_get_n_items (G_LIST_MODEL (self->history)) != 1
      || tessera_history_entry_get_kind (cur) != TESSERA_ENTRY_NEW
      || (tessera_document_get_width (self->document) == side
          && tessera_document_get_height (self->document) == side))
    return;
  g_autoptr (GError) error = NULL;
  if (!start_blank (self, side, &error)) {
    tessera_window_toast (self, error->message);
    return;
  }
  tessera_window_files_mark_clean (self);
  tessera_canvas_zoom_fit (self->canvas);
}

/* The native-size frame on the canvas: shown where Generate, Edit or Restyle would work on
 * a frame of a picture larger than the model (not with "Whole picture"), centred until the
 * user moves it. */
static void
update_frame (TesseraWindow *self)
{
  if (!self->engine || !self->settings || !canvas_has_property (self, "frame-visible"))
    return;
  gboolean on = frame_applies (self, current_mode (self))
                && !g_settings_get_boolean (self->settings, "whole-picture");
  int native = tessera_engine_get_native_size (self->engine);
  self->setting_frame = TRUE;
  if (on && canvas_has_property (self, "frame-size"))
    g_object_set (self->canvas, "frame-size", native, NULL);
  if (on && !self->frame_placed && canvas_has_property (self, "frame-x")) {
    int x, y;
    frame_position (self, &x, &y);
    g_object_set (self->canvas, "frame-x", x, "frame-y", y, NULL);
  }
  g_object_set (self->canvas, "frame-visible", on, NULL);
  self->setting_frame = FALSE;
  update_whole_picture_row (self);
}

static void
on_frame_moved (TesseraCanvas *canvas, GParamSpec *pspec, TesseraWindow *self)
{
  if (!self->setting_frame)
    self->frame_placed = TRUE;
}

static void
on_document_changed (TesseraDocument *document, TesseraChange what, int x, int y, int w, int h,
                     TesseraWindow *self)
{
  if (what & TESSERA_CHANGE_SIZE) {
    self->frame_placed = FALSE;
    update_frame (self);
  }
}

static void
on_engine_state (TesseraEngine *engine, GParamSpec *pspec, TesseraWindow *self)
{
  adw_window_title_set_subtitle (self->window_title, tessera_engine_get_status (engine));
  if (tessera_engine_get_state (engine) == TESSERA_ENGINE_READY) {
    fit_blank_canvas (self);
    /* The canvas shows repainted areas and outpaint amounts in whole tokens. */
    if (canvas_has_property (self, "token-size"))
      g_object_set (self->canvas, "token-size", tessera_window_get_token_size (self), NULL);
    apply_vocabulary (self);
    apply_model_defaults (self);
  }
  update_frame (self);
  tessera_window_update_actions (self);
}

/* The GPU was lost: say what happened and what happens now, once; the document and any
 * result are untouched, and the next request runs on the CPU. */
static void
on_device_lost (TesseraEngine *engine, GParamSpec *pspec, TesseraWindow *self)
{
  if (!tessera_engine_get_device_lost (engine))
    return;
  GtkWidget *d = adw_message_dialog_new (GTK_WINDOW (self), _("Graphics Card Lost"), NULL);
  adw_message_dialog_set_body (ADW_MESSAGE_DIALOG (d),
                               _("The graphics card stopped working (a driver reset or a GPU "
                                 "fault). Your picture is safe. Tessera now runs the model on "
                                 "the processor, which is slower; restart Tessera to use the "
                                 "graphics card again."));
  adw_message_dialog_add_response (ADW_MESSAGE_DIALOG (d), "close", _("_OK"));
  gtk_window_present (GTK_WINDOW (d));
}

/* ---- life cycle ---- */

static const GActionEntry win_actions[] = {
  { "open", action_open },
  { "open-file", action_open_file, "s" },
  { "export", action_export },
  { "export-file", action_export_file, "s" },
  { "undo", action_undo },
  { "redo", action_redo },
  { "jump", action_jump, "u" },
  { "zoom-in", action_zoom },
  { "zoom-out", action_zoom },
  { "zoom-fit", action_zoom },
  { "zoom-100", action_zoom },
  { "tool", action_tool, "s", "'brush'" },
  { "mask-clear", action_mask },
  { "mask-invert", action_mask },
  { "mask-fill", action_mask },
  { "show-mask", NULL, NULL, "true", action_show_mask },
  { "generate", action_generate },
  { "cancel", action_cancel },
  { "cancel-request", action_cancel_request, "u" },
  { "apply", action_apply },
  { "discard", action_discard },
  { "select-variant", action_select_variant, "u" },
  { "mode", NULL, "s", "'generate'", action_mode },
  { "compare", NULL, NULL, "false", action_compare },
  { "compare-with", action_compare_with, "(ui)" },
  { "side-by-side", NULL, NULL, "false", action_side_by_side },
  { "reuse-params", action_reuse_params, "u" },
  { "show-history", NULL, NULL, "false", action_show_history },
  { "extend", action_extend, "s" },
};

static void
setup_mode_dropdown (TesseraWindow *self)
{
  GtkStringList *list = gtk_string_list_new (NULL);
  for (guint i = 0; i < ts_mode_count (); i++)
    gtk_string_list_append (list, _(ts_mode_nth (i)->label));
  gtk_drop_down_set_model (self->mode_dropdown, G_LIST_MODEL (list));
  g_object_unref (list);
  g_signal_connect (self->mode_dropdown, "notify::selected", G_CALLBACK (on_mode_selected), self);
}

static void
on_brush_setting (GtkAdjustment *adj, TesseraWindow *self)
{
  apply_brush (self);
}

static void
on_prompt_activate (GtkEntry *entry, TesseraWindow *self)
{
  if (g_action_group_get_action_enabled (G_ACTION_GROUP (self), "generate"))
    g_action_group_activate_action (G_ACTION_GROUP (self), "generate", NULL);
}

/* After construction: GtkWindow:application is not a construct property. */
static void
setup_with_app (TesseraWindow *self, TesseraApplication *app)
{
  self->settings = g_object_ref (tessera_application_get_settings (app));
  self->engine = g_object_ref (tessera_application_get_engine (app));
  g_signal_connect_object (self->engine, "notify::state", G_CALLBACK (on_engine_state), self, 0);
  g_signal_connect_object (self->engine, "notify::device-lost", G_CALLBACK (on_device_lost),
                           self, 0);
  /* The window's requests, run on the application's engine. */
  self->runs = tessera_run_queue_new (self->engine, self->document);
  g_signal_connect_object (self->runs, "started", G_CALLBACK (on_run_started), self, 0);
  g_signal_connect_object (self->runs, "progress", G_CALLBACK (on_run_progress), self, 0);
  g_signal_connect_object (self->runs, "stopped", G_CALLBACK (on_run_stopped), self, 0);
  g_signal_connect_object (self->runs, "items-changed",
                           G_CALLBACK (tessera_window_update_actions), self, G_CONNECT_SWAPPED);
  gtk_list_box_bind_model (self->queue_list, G_LIST_MODEL (self->runs), create_run_row, self,
                           NULL);
  on_engine_state (self->engine, NULL, self);

  g_settings_bind (self->settings, "brush-size", self->size_adjustment, "value",
                   G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (self->settings, "brush-hardness", self->hardness_adjustment, "value",
                   G_SETTINGS_BIND_DEFAULT);
  gtk_spin_button_set_value (self->steps_spin, g_settings_get_int (self->settings, "steps"));
  gtk_spin_button_set_value (self->guidance_spin,
                             g_settings_get_double (self->settings, "guidance"));
  apply_model_defaults (self);   /* when the model was ready before the window */
  gtk_spin_button_set_value (self->variants_spin,
                             g_settings_get_int (self->settings, "variants"));
  g_settings_bind (self->settings, "whole-picture", self->whole_picture_check, "active",
                   G_SETTINGS_BIND_DEFAULT);
  g_signal_connect_object (self->settings, "changed::whole-picture", G_CALLBACK (update_frame),
                           self, G_CONNECT_SWAPPED);
  update_frame (self);
  apply_brush (self);
  tessera_window_update_actions (self);
}

static void
tessera_window_dispose (GObject *object)
{
  TesseraWindow *self = TESSERA_WINDOW (object);
  /* A request in flight notices and ends; nothing of it reaches the window. */
  if (self->runs) {
    g_signal_handlers_disconnect_by_data (self->runs, self);
    tessera_run_queue_cancel_all (self->runs);
    tessera_window_clear_pending (self);
  }
  tessera_window_files_dispose (self);
  gtk_widget_dispose_template (GTK_WIDGET (self), TESSERA_TYPE_WINDOW);
  G_OBJECT_CLASS (tessera_window_parent_class)->dispose (object);
}

static void
tessera_window_finalize (GObject *object)
{
  TesseraWindow *self = TESSERA_WINDOW (object);
  g_clear_object (&self->settings);
  g_clear_object (&self->engine);
  g_clear_object (&self->vocabulary);
  g_clear_object (&self->document);
  g_clear_object (&self->history);
  g_clear_object (&self->runs);
  g_free (self->last_toast);
  G_OBJECT_CLASS (tessera_window_parent_class)->finalize (object);
}

static gboolean
tessera_window_close_request (GtkWindow *window)
{
  if (tessera_window_files_close_request (TESSERA_WINDOW (window)))
    return TRUE;
  return GTK_WINDOW_CLASS (tessera_window_parent_class)->close_request (window);
}

static void
tessera_window_class_init (TesseraWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  object_class->dispose = tessera_window_dispose;
  object_class->finalize = tessera_window_finalize;
  GTK_WINDOW_CLASS (klass)->close_request = tessera_window_close_request;

  g_type_ensure (TESSERA_TYPE_CANVAS);
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/tessera/Tessera/tessera-window.ui");
#define CHILD(name) gtk_widget_class_bind_template_child (widget_class, TesseraWindow, name)
  CHILD (toast_overlay);
  CHILD (window_title);
  CHILD (canvas);
  CHILD (progress_bar);
  CHILD (history_revealer);
  CHILD (history_list);
  CHILD (variants_revealer);
  CHILD (variants_box);
  CHILD (mode_dropdown);
  CHILD (prompt_entry);
  CHILD (negative_entry);
  CHILD (seed_spin);
  CHILD (random_seed_check);
  CHILD (variants_spin);
  CHILD (steps_spin);
  CHILD (guidance_spin);
  CHILD (strength_scale);
  CHILD (steps_label);
  CHILD (strength_label);
  CHILD (iterations_label);
  CHILD (iterations_spin);
  CHILD (whole_picture_check);
  CHILD (style_dropdown);
  CHILD (run_stack);
  CHILD (size_adjustment);
  CHILD (hardness_adjustment);
  CHILD (zoom_button);
  CHILD (queue_button);
  CHILD (recent_menu);
  CHILD (queue_list);
#undef CHILD

  /* Bubble-phase bindings: text fields see these keys first and keep their own undo. */
  gtk_widget_class_add_binding (widget_class, GDK_KEY_z, GDK_CONTROL_MASK, undo_key, "b", FALSE);
  gtk_widget_class_add_binding (widget_class, GDK_KEY_z, GDK_CONTROL_MASK | GDK_SHIFT_MASK,
                                undo_key, "b", TRUE);
  gtk_widget_class_add_binding (widget_class, GDK_KEY_Z, GDK_CONTROL_MASK | GDK_SHIFT_MASK,
                                undo_key, "b", TRUE);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "win.cancel", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Return, 0, "win.apply", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_KP_Enter, 0, "win.apply", NULL);
}

static void
tessera_window_init (TesseraWindow *self)
{
  g_autoptr (GError) error = NULL;
  gtk_widget_init_template (GTK_WIDGET (self));
  g_action_map_add_action_entries (G_ACTION_MAP (self), win_actions, G_N_ELEMENTS (win_actions),
                                   self);
  self->hover_variant = -1;

  /* A square blank canvas, so Generate works right away; it takes the model's native size
   * once the model is loaded (fit_blank_canvas). */
  self->document = tessera_document_new (BLANK_SIDE, BLANK_SIDE, &error);
  g_assert_no_error (error);
  self->history = tessera_history_new (64);
  g_autoptr (TesseraState) state = tessera_document_snapshot (self->document);
  g_autoptr (TesseraHistoryEntry) first = tessera_history_entry_new (TESSERA_ENTRY_NEW,
                                                                     _("New canvas"), state, NULL);
  tessera_history_reset (self->history, first);
  tessera_canvas_set_document (self->canvas, self->document);

  gtk_list_box_bind_model (self->history_list, G_LIST_MODEL (self->history), create_history_row,
                           self, NULL);
  g_signal_connect (self->history, "notify::position", G_CALLBACK (on_history_position), self);
  g_signal_connect (self->history_list, "row-activated", G_CALLBACK (on_history_row_activated),
                    self);
  g_signal_connect (self->canvas, "stroke-finished", G_CALLBACK (on_stroke_finished), self);
  g_signal_connect (self->canvas, "zoom-changed", G_CALLBACK (on_zoom_changed), self);
  g_signal_connect (self->size_adjustment, "value-changed", G_CALLBACK (on_brush_setting), self);
  g_signal_connect (self->hardness_adjustment, "value-changed", G_CALLBACK (on_brush_setting),
                    self);
  g_signal_connect (self->prompt_entry, "activate", G_CALLBACK (on_prompt_activate), self);
  self->completion = tessera_prompt_completion_attach (self->prompt_entry);
  g_signal_connect (self->prompt_entry, "changed", G_CALLBACK (on_prompt_changed), self);
  g_signal_connect (self->style_dropdown, "notify::selected", G_CALLBACK (on_style_selected),
                    self);
  g_signal_connect (self->document, "changed", G_CALLBACK (on_document_changed), self);
  /* The canvas's outpaint handles and native-size frame, where the canvas has them. */
  if (g_signal_lookup ("extend-requested", TESSERA_TYPE_CANVAS))
    g_signal_connect (self->canvas, "extend-requested", G_CALLBACK (on_extend_requested), self);
  if (canvas_has_property (self, "frame-x")) {
    g_signal_connect (self->canvas, "notify::frame-x", G_CALLBACK (on_frame_moved), self);
    g_signal_connect (self->canvas, "notify::frame-y", G_CALLBACK (on_frame_moved), self);
  }
  show_mode_controls (self, TS_MODE_GENERATE);
  setup_mode_dropdown (self);
  on_zoom_changed (self->canvas, self);

  g_action_map_add_action_entries (G_ACTION_MAP (self), tessera_window_file_actions,
                                   tessera_window_n_file_actions, self);
  tessera_window_files_init (self);
  tessera_window_dnd_init (self);
  tessera_window_tools_init (self);

  gtk_widget_grab_focus (GTK_WIDGET (self->prompt_entry));
}

TesseraWindow *
tessera_window_new (TesseraApplication *app)
{
  TesseraWindow *self = g_object_new (TESSERA_TYPE_WINDOW, "application", app, NULL);
  setup_with_app (self, app);
  return self;
}

TesseraDocument *
tessera_window_get_document (TesseraWindow *self)
{
  return self->document;
}

TesseraHistory *
tessera_window_get_history (TesseraWindow *self)
{
  return self->history;
}

TesseraCanvas *
tessera_window_get_canvas (TesseraWindow *self)
{
  return self->canvas;
}

GtkWidget *
tessera_window_get_prompt_entry (TesseraWindow *self)
{
  return GTK_WIDGET (self->prompt_entry);
}

gboolean
tessera_window_is_running (TesseraWindow *self)
{
  return tessera_run_queue_is_running (self->runs);
}

guint
tessera_window_get_n_pending_variants (TesseraWindow *self)
{
  TesseraJobResult *pending = tessera_run_queue_get_pending (self->runs);
  return pending ? pending->variants->len : 0;
}

int
tessera_window_get_progress_steps (TesseraWindow *self)
{
  return tessera_run_queue_get_progress_steps (self->runs);
}

const char *
tessera_window_get_subtitle (TesseraWindow *self)
{
  return adw_window_title_get_subtitle (self->window_title);
}
