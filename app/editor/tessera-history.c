/* tessera-history.c — a linear undo stack exposed as a list model. */
#include "tessera-history.h"

struct _TesseraHistory {
  GObject parent_instance;

  GPtrArray *entries;   /* TesseraHistoryEntry, oldest first */
  guint position;       /* index of the entry the document shows */
  guint max_entries;
};

static void list_model_iface_init (GListModelInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (TesseraHistory, tessera_history, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (G_TYPE_LIST_MODEL, list_model_iface_init))

enum { PROP_0, PROP_POSITION, PROP_CAN_UNDO, PROP_CAN_REDO, N_PROPS };
static GParamSpec *props[N_PROPS];

static GType
get_item_type (GListModel *model)
{
  return TESSERA_TYPE_HISTORY_ENTRY;
}

static guint
get_n_items (GListModel *model)
{
  return TESSERA_HISTORY (model)->entries->len;
}

static gpointer
get_item (GListModel *model, guint i)
{
  TesseraHistory *self = TESSERA_HISTORY (model);
  return i < self->entries->len ? g_object_ref (g_ptr_array_index (self->entries, i)) : NULL;
}

static void
list_model_iface_init (GListModelInterface *iface)
{
  iface->get_item_type = get_item_type;
  iface->get_n_items = get_n_items;
  iface->get_item = get_item;
}

static void
tessera_history_get_property (GObject *object, guint id, GValue *value, GParamSpec *pspec)
{
  TesseraHistory *self = TESSERA_HISTORY (object);
  switch (id) {
  case PROP_POSITION: g_value_set_uint (value, self->position); break;
  case PROP_CAN_UNDO: g_value_set_boolean (value, tessera_history_can_undo (self)); break;
  case PROP_CAN_REDO: g_value_set_boolean (value, tessera_history_can_redo (self)); break;
  default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, id, pspec);
  }
}

static void
tessera_history_finalize (GObject *object)
{
  g_ptr_array_unref (TESSERA_HISTORY (object)->entries);
  G_OBJECT_CLASS (tessera_history_parent_class)->finalize (object);
}

static void
tessera_history_class_init (TesseraHistoryClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  object_class->get_property = tessera_history_get_property;
  object_class->finalize = tessera_history_finalize;

  props[PROP_POSITION] = g_param_spec_uint ("position", NULL, NULL, 0, G_MAXUINT, 0,
                                            G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  props[PROP_CAN_UNDO] = g_param_spec_boolean ("can-undo", NULL, NULL, FALSE,
                                               G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  props[PROP_CAN_REDO] = g_param_spec_boolean ("can-redo", NULL, NULL, FALSE,
                                               G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, props);
}

static void
tessera_history_init (TesseraHistory *self)
{
  self->entries = g_ptr_array_new_with_free_func (g_object_unref);
  self->max_entries = 64;
}

TesseraHistory *
tessera_history_new (guint max_entries)
{
  TesseraHistory *self = g_object_new (TESSERA_TYPE_HISTORY, NULL);
  self->max_entries = MAX (2, max_entries);
  return self;
}

static void
notify_position (TesseraHistory *self)
{
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_POSITION]);
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_CAN_UNDO]);
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_CAN_REDO]);
}

void
tessera_history_push (TesseraHistory *self, TesseraHistoryEntry *entry)
{
  guint len = self->entries->len;
  if (len > 0 && self->position + 1 < len) {
    guint from = self->position + 1;
    g_ptr_array_remove_range (self->entries, from, len - from);
    g_list_model_items_changed (G_LIST_MODEL (self), from, len - from, 0);
  }
  g_ptr_array_add (self->entries, g_object_ref (entry));
  g_list_model_items_changed (G_LIST_MODEL (self), self->entries->len - 1, 0, 1);
  if (self->entries->len > self->max_entries) {
    g_ptr_array_remove_index (self->entries, 0);
    g_list_model_items_changed (G_LIST_MODEL (self), 0, 1, 0);
  }
  self->position = self->entries->len - 1;
  notify_position (self);
}

void
tessera_history_reset (TesseraHistory *self, TesseraHistoryEntry *entry)
{
  guint len = self->entries->len;
  g_ptr_array_set_size (self->entries, 0);
  g_ptr_array_add (self->entries, g_object_ref (entry));
  self->position = 0;
  g_list_model_items_changed (G_LIST_MODEL (self), 0, len, 1);
  notify_position (self);
}

TesseraHistoryEntry *
tessera_history_get_current (TesseraHistory *self)
{
  if (self->entries->len == 0)
    return NULL;
  return g_ptr_array_index (self->entries, self->position);
}

guint
tessera_history_get_position (TesseraHistory *self)
{
  return self->position;
}

gboolean
tessera_history_can_undo (TesseraHistory *self)
{
  return self->position > 0;
}

gboolean
tessera_history_can_redo (TesseraHistory *self)
{
  return self->position + 1 < self->entries->len;
}

TesseraHistoryEntry *
tessera_history_jump (TesseraHistory *self, guint position)
{
  if (position >= self->entries->len)
    return NULL;
  if (position != self->position) {
    self->position = position;
    notify_position (self);
  }
  return g_ptr_array_index (self->entries, position);
}

TesseraHistoryEntry *
tessera_history_undo (TesseraHistory *self)
{
  return tessera_history_can_undo (self) ? tessera_history_jump (self, self->position - 1)
                                         : NULL;
}

TesseraHistoryEntry *
tessera_history_redo (TesseraHistory *self)
{
  return tessera_history_can_redo (self) ? tessera_history_jump (self, self->position + 1)
                                         : NULL;
}
