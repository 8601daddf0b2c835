/* tessera-history-entry.c — an immutable record of one committed change. */
#include "tessera-history-entry.h"

struct _TesseraHistoryEntry {
  GObject parent_instance;

  TesseraEntryKind kind;
  char *label;
  TesseraState *state;
  TesseraParams *params;
  GPtrArray *variants;   /* GBytes, straight RGBA */
  guint selected;
};

G_DEFINE_FINAL_TYPE (TesseraHistoryEntry, tessera_history_entry, G_TYPE_OBJECT)

static void
tessera_history_entry_finalize (GObject *object)
{
  TesseraHistoryEntry *self = TESSERA_HISTORY_ENTRY (object);
  g_free (self->label);
  tessera_state_unref (self->state);
  tessera_params_free (self->params);
  g_clear_pointer (&self->variants, g_ptr_array_unref);
  G_OBJECT_CLASS (tessera_history_entry_parent_class)->finalize (object);
}

static void
tessera_history_entry_class_init (TesseraHistoryEntryClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = tessera_history_entry_finalize;
}

static void
tessera_history_entry_init (TesseraHistoryEntry *self)
{
}

TesseraHistoryEntry *
tessera_history_entry_new (TesseraEntryKind kind, const char *label, TesseraState *state,
                           const TesseraParams *params)
{
  TesseraHistoryEntry *self = g_object_new (TESSERA_TYPE_HISTORY_ENTRY, NULL);
  self->kind = kind;
  self->label = g_strdup (label);
  self->state = tessera_state_ref (state);
  self->params = params ? tessera_params_copy (params) : NULL;
  return self;
}

TesseraEntryKind
tessera_history_entry_get_kind (TesseraHistoryEntry *self)
{
  return self->kind;
}

const char *
tessera_history_entry_get_label (TesseraHistoryEntry *self)
{
  return self->label;
}

TesseraState *
tessera_history_entry_get_state (TesseraHistoryEntry *self)
{
  return self->state;
}

const TesseraParams *
tessera_history_entry_get_params (TesseraHistoryEntry *self)
{
  return self->params;
}

void
tessera_history_entry_set_variants (TesseraHistoryEntry *self, GPtrArray *variants,
                                    guint selected)
{
  g_clear_pointer (&self->variants, g_ptr_array_unref);
  self->variants = variants ? g_ptr_array_ref (variants) : NULL;
  self->selected = selected;
}

guint
tessera_history_entry_get_n_variants (TesseraHistoryEntry *self)
{
  return self->variants ? self->variants->len : 0;
}

GBytes *
tessera_history_entry_get_variant (TesseraHistoryEntry *self, guint index)
{
  g_return_val_if_fail (index < tessera_history_entry_get_n_variants (self), NULL);
  return g_ptr_array_index (self->variants, index);
}

guint
tessera_history_entry_get_selected_variant (TesseraHistoryEntry *self)
{
  return self->selected;
}
