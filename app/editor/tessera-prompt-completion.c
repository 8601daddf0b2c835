/* tessera-prompt-completion.c — the prompt's concept list (see the header). */
#include "tessera-prompt-completion.h"

#include <string.h>

#define MAX_OFFERED 8

struct _TesseraPromptCompletion {
  GObject parent_instance;

  GtkEntry *entry;              /* not referenced: the entry owns us */
  GtkWidget *popover;
  GtkListBox *list;
  TesseraVocabulary *vocabulary;
  GPtrArray *offered;           /* const char *, the vocabulary's */
  guint selected;
  gboolean changing;            /* our own edit of the entry's text */
};

G_DEFINE_FINAL_TYPE (TesseraPromptCompletion, tessera_prompt_completion, G_TYPE_OBJECT)

static void
tessera_prompt_completion_finalize (GObject *object)
{
  TesseraPromptCompletion *self = TESSERA_PROMPT_COMPLETION (object);
  g_clear_object (&self->vocabulary);
  g_ptr_array_unref (self->offered);
  G_OBJECT_CLASS (tessera_prompt_completion_parent_class)->finalize (object);
}

static void
tessera_prompt_completion_class_init (TesseraPromptCompletionClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = tessera_prompt_completion_finalize;
}

static void
tessera_prompt_completion_init (TesseraPromptCompletion *self)
{
  self->offered = g_ptr_array_new ();
}

static void
close_list (TesseraPromptCompletion *self)
{
  g_ptr_array_set_size (self->offered, 0);
  if (self->popover && gtk_widget_get_visible (self->popover))
    gtk_popover_popdown (GTK_POPOVER (self->popover));
}

static void
select_offered (TesseraPromptCompletion *self, guint index)
{
  self->selected = index;
  GtkListBoxRow *row = self->list ? gtk_list_box_get_row_at_index (self->list, (int) index)
                                  : NULL;
  if (row)
    gtk_list_box_select_row (self->list, row);
}

/* Fills the list for the text before the cursor; closes it when nothing matches. */
static void
update_list (TesseraPromptCompletion *self)
{
  const char *text = gtk_editable_get_text (GTK_EDITABLE (self->entry));
  if (!self->vocabulary || !self->popover) {
    close_list (self);
    return;
  }
  const char *fragment = text + tessera_vocabulary_fragment_start (self->vocabulary, text);
  g_autoptr (GPtrArray) matches = tessera_vocabulary_complete (self->vocabulary, fragment,
                                                               MAX_OFFERED);
  if (matches->len == 0) {
    close_list (self);
    return;
  }
  g_ptr_array_set_size (self->offered, 0);
  GtkWidget *child;
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->list))))
    gtk_list_box_remove (self->list, child);
  for (guint i = 0; i < matches->len; i++) {
    g_ptr_array_add (self->offered, g_ptr_array_index (matches, i));
    GtkWidget *label = gtk_label_new (g_ptr_array_index (matches, i));
    gtk_label_set_xalign (GTK_LABEL (label), 0);
    gtk_list_box_append (self->list, label);
    /* The keyboard stays in the entry: the list is chosen from with Up/Down. */
    gtk_widget_set_focusable (gtk_widget_get_parent (label), FALSE);
  }
  select_offered (self, 0);
  int width = gtk_widget_get_width (GTK_WIDGET (self->entry));
  gtk_widget_set_size_request (self->popover, MAX (width, 160), -1);
  if (!gtk_widget_get_visible (self->popover))
    gtk_popover_popup (GTK_POPOVER (self->popover));
  else
    gtk_popover_present (GTK_POPOVER (self->popover));
}

static gboolean
entry_has_focus (TesseraPromptCompletion *self)
{
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self->entry));
  GtkWidget *focus = root ? gtk_root_get_focus (root) : NULL;
  return focus && (focus == GTK_WIDGET (self->entry)
                   || gtk_widget_is_ancestor (focus, GTK_WIDGET (self->entry)));
}

static void
on_changed (GtkEditable *editable, TesseraPromptCompletion *self)
{
  /* Text the program set (reused parameters, a recovered project) is not being typed. */
  if (self->changing || !entry_has_focus (self)) {
    close_list (self);
    return;
  }
  update_list (self);
}

void
tessera_prompt_completion_accept (TesseraPromptCompletion *self, guint index)
{
  if (index >= self->offered->len)
    return;
  const char *concept = g_ptr_array_index (self->offered, index);
  const char *text = gtk_editable_get_text (GTK_EDITABLE (self->entry));
  gsize start = tessera_vocabulary_fragment_start (self->vocabulary, text);
  g_autofree char *head = g_strndup (text, start);
  g_autofree char *result = g_strconcat (head, concept, NULL);
  self->changing = TRUE;
  gtk_editable_set_text (GTK_EDITABLE (self->entry), result);
  gtk_editable_set_position (GTK_EDITABLE (self->entry), -1);
  self->changing = FALSE;
  close_list (self);
}

static void
on_row_activated (GtkListBox *list, GtkListBoxRow *row, TesseraPromptCompletion *self)
{
  tessera_prompt_completion_accept (self, (guint) gtk_list_box_row_get_index (row));
}

static gboolean
on_key_pressed (GtkEventControllerKey *controller, guint keyval, guint keycode,
                GdkModifierType state, TesseraPromptCompletion *self)
{
  if (!tessera_prompt_completion_is_open (self))
    return FALSE;
  guint n = self->offered->len;
  switch (keyval) {
  case GDK_KEY_Down:
  case GDK_KEY_KP_Down:
    select_offered (self, (self->selected + 1) % n);
    return TRUE;
  case GDK_KEY_Up:
  case GDK_KEY_KP_Up:
    select_offered (self, (self->selected + n - 1) % n);
    return TRUE;
  case GDK_KEY_Return:
  case GDK_KEY_KP_Enter:
  case GDK_KEY_ISO_Enter:
  case GDK_KEY_Tab:
    tessera_prompt_completion_accept (self, self->selected);
    return TRUE;
  case GDK_KEY_Escape:
    close_list (self);
    return TRUE;
  default:
    return FALSE;
  }
}

static void
on_focus_leave (GtkEventControllerFocus *controller, TesseraPromptCompletion *self)
{
  close_list (self);
}

static void
on_entry_destroy (GtkWidget *entry, TesseraPromptCompletion *self)
{
  /* A popover must leave its parent before the parent goes; the list goes with it. */
  g_ptr_array_set_size (self->offered, 0);
  self->list = NULL;
  g_clear_pointer (&self->popover, gtk_widget_unparent);
}

TesseraPromptCompletion *
tessera_prompt_completion_attach (GtkEntry *entry)
{
  TesseraPromptCompletion *self = g_object_new (TESSERA_TYPE_PROMPT_COMPLETION, NULL);
  self->entry = entry;
  g_object_set_data_full (G_OBJECT (entry), "tessera-prompt-completion", self, g_object_unref);

  self->list = GTK_LIST_BOX (gtk_list_box_new ());
  gtk_list_box_set_selection_mode (self->list, GTK_SELECTION_SINGLE);
  gtk_widget_set_focusable (GTK_WIDGET (self->list), FALSE);
  gtk_widget_add_css_class (GTK_WIDGET (self->list), "prompt-completion");
  g_signal_connect (self->list, "row-activated", G_CALLBACK (on_row_activated), self);
  self->popover = gtk_popover_new ();
  gtk_popover_set_child (GTK_POPOVER (self->popover), GTK_WIDGET (self->list));
  /* Typing goes on in the entry while the list is up. */
  gtk_popover_set_autohide (GTK_POPOVER (self->popover), FALSE);
  gtk_popover_set_has_arrow (GTK_POPOVER (self->popover), FALSE);
  gtk_popover_set_position (GTK_POPOVER (self->popover), GTK_POS_BOTTOM);
  gtk_widget_set_halign (self->popover, GTK_ALIGN_START);
  gtk_widget_set_parent (self->popover, GTK_WIDGET (entry));
  g_signal_connect (entry, "destroy", G_CALLBACK (on_entry_destroy), self);

  g_signal_connect (entry, "changed", G_CALLBACK (on_changed), self);
  GtkEventController *keys = gtk_event_controller_key_new ();
  gtk_event_controller_set_propagation_phase (keys, GTK_PHASE_CAPTURE);
  g_signal_connect (keys, "key-pressed", G_CALLBACK (on_key_pressed), self);
  gtk_widget_add_controller (GTK_WIDGET (entry), keys);
  GtkEventController *focus = gtk_event_controller_focus_new ();
  g_signal_connect (focus, "leave", G_CALLBACK (on_focus_leave), self);
  gtk_widget_add_controller (GTK_WIDGET (entry), focus);
  return self;
}

void
tessera_prompt_completion_set_vocabulary (TesseraPromptCompletion *self,
                                          TesseraVocabulary *vocabulary)
{
  close_list (self);
  g_set_object (&self->vocabulary, vocabulary);
}

guint
tessera_prompt_completion_get_n_offered (TesseraPromptCompletion *self)
{
  return self->offered->len;
}

const char *
tessera_prompt_completion_get_offered (TesseraPromptCompletion *self, guint index)
{
  return index < self->offered->len ? g_ptr_array_index (self->offered, index) : NULL;
}

gboolean
tessera_prompt_completion_is_open (TesseraPromptCompletion *self)
{
  return self->offered->len > 0 && self->popover && gtk_widget_get_visible (self->popover);
}

GtkWidget *
tessera_prompt_completion_get_popover (TesseraPromptCompletion *self)
{
  return self->popover;
}
