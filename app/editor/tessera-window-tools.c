/* tessera-window-tools.c — the mask tools of the window: brush, eraser, rectangle and lasso
 * selection, the brush size keys, grow and feather in the tool bar, and the one-key
 * shortcuts for them.
 *
 * One-key shortcuts (B, E, [, …) live in a bubble-phase shortcut controller on the window,
 * not in the application's accelerators: those run in the capture phase, before a focused
 * text field, so typing "b" in the prompt would switch tools. Here a text field takes its
 * keys first and the shortcuts see only the keys nothing else wanted. */
#include "tessera-window-private.h"

#include <glib/gi18n.h>
#include <math.h>

static TesseraCanvasTool
tool_from_name (const char *name)
{
  if (g_str_equal (name, "rectangle"))
    return TESSERA_CANVAS_TOOL_RECTANGLE;
  if (g_str_equal (name, "lasso"))
    return TESSERA_CANVAS_TOOL_LASSO;
  return TESSERA_CANVAS_TOOL_BRUSH;   /* brush and eraser: the brush's erase flag differs */
}

/* win.tool's state is the tool's name; the window applies the brush (eraser or not), this
 * tells the canvas what a drag does. */
static void
on_tool_state (GAction *action, GParamSpec *pspec, TesseraWindow *self)
{
  g_autoptr (GVariant) state = g_action_get_state (action);
  tessera_canvas_set_tool (self->canvas, tool_from_name (g_variant_get_string (state, NULL)));
}

static void
on_selection_finished (TesseraCanvas *canvas, int tool, gboolean subtracted, TesseraWindow *self)
{
  const char *label;
  if (tool == TESSERA_CANVAS_TOOL_LASSO)
    label = subtracted ? _("Deselect freehand") : _("Select freehand");
  else
    label = subtracted ? _("Deselect rectangle") : _("Select rectangle");
  tessera_window_commit (self, TESSERA_ENTRY_MASK, label, TESSERA_CHANGE_MASK, NULL, NULL);
}

/* [ and ]: about a tenth of the size per press, so small and large brushes both change at a
 * pace the eye follows; at least one pixel. */
static void
action_brush_size (GSimpleAction *a, GVariant *param, gpointer data)
{
  TesseraWindow *self = data;
  gboolean larger = g_str_equal (g_action_get_name (G_ACTION (a)), "brush-larger");
  double size = gtk_adjustment_get_value (self->size_adjustment);
  double step = MAX (1.0, round (size * 0.1));
  gtk_adjustment_set_value (self->size_adjustment, larger ? size + step : size - step);
}

static const GActionEntry tool_actions[] = {
  { "brush-larger", action_brush_size },
  { "brush-smaller", action_brush_size },
};

/* key: a GtkShortcutTrigger string; target: the action's parameter as GVariant text, or
 * NULL. */
static const struct {
  const char *key;
  const char *action;
  const char *target;
} tool_shortcuts[] = {
  { "b", "win.tool", "'brush'" },
  { "e", "win.tool", "'eraser'" },
  { "r", "win.tool", "'rectangle'" },
  { "l", "win.tool", "'lasso'" },
  { "bracketleft", "win.brush-smaller", NULL },
  { "bracketright", "win.brush-larger", NULL },
  { "h", "win.show-mask", NULL },
  { "c", "win.compare", NULL },
  { "backslash", "win.compare", NULL },
  { "<Control>i", "win.mask-invert", NULL },
  { "<Control><Shift>a", "win.mask-clear", NULL },
};

static void
add_shortcuts (TesseraWindow *self)
{
  GtkEventController *keys = gtk_shortcut_controller_new ();
  gtk_event_controller_set_name (keys, "tessera-tool-shortcuts");
  gtk_event_controller_set_propagation_phase (keys, GTK_PHASE_BUBBLE);
  for (gsize i = 0; i < G_N_ELEMENTS (tool_shortcuts); i++) {
    GtkShortcut *s = gtk_shortcut_new (gtk_shortcut_trigger_parse_string (tool_shortcuts[i].key),
                                       gtk_named_action_new (tool_shortcuts[i].action));
    if (tool_shortcuts[i].target)
      gtk_shortcut_set_arguments (s, g_variant_new_parsed (tool_shortcuts[i].target));
    gtk_shortcut_controller_add_shortcut (GTK_SHORTCUT_CONTROLLER (keys), s);
  }
  gtk_widget_add_controller (GTK_WIDGET (self), keys);
}

/* A widget of the window's template by its id in the .ui file. */
static GtkWidget *
find_by_id (GtkWidget *w, const char *id)
{
  if (g_strcmp0 (gtk_buildable_get_buildable_id (GTK_BUILDABLE (w)), id) == 0)
    return w;
  for (GtkWidget *c = gtk_widget_get_first_child (w); c; c = gtk_widget_get_next_sibling (c)) {
    GtkWidget *found = find_by_id (c, id);
    if (found)
      return found;
  }
  return NULL;
}

void
tessera_window_tools_init (TesseraWindow *self)
{
  g_action_map_add_action_entries (G_ACTION_MAP (self), tool_actions,
                                   G_N_ELEMENTS (tool_actions), self);
  GAction *tool = g_action_map_lookup_action (G_ACTION_MAP (self), "tool");
  g_signal_connect_object (tool, "notify::state", G_CALLBACK (on_tool_state), self, 0);
  on_tool_state (tool, NULL, self);
  g_signal_connect (self->canvas, "selection-finished", G_CALLBACK (on_selection_finished),
                    self);
  add_shortcuts (self);

  /* Grow and feather: the same settings the request reads (and Preferences shows). */
  g_autoptr (GSettings) settings = g_settings_new (TESSERA_APP_ID);
  GtkWidget *grow = find_by_id (GTK_WIDGET (self), "mask_grow_spin");
  GtkWidget *feather = find_by_id (GTK_WIDGET (self), "mask_feather_spin");
  if (grow)
    g_settings_bind (settings, "mask-grow", grow, "value", G_SETTINGS_BIND_DEFAULT);
  if (feather)
    g_settings_bind (settings, "mask-feather", feather, "value", G_SETTINGS_BIND_DEFAULT);
}
