/* tessera-history-entry.h — one committed change: the document state after it, what made it
 * (label, kind, request parameters) and, for generations, every variant of the request. */
#pragma once

#include <glib-object.h>

#include "tessera-document.h"
#include "tessera-params.h"

G_BEGIN_DECLS

typedef enum {
  TESSERA_ENTRY_NEW,
  TESSERA_ENTRY_OPEN,
  TESSERA_ENTRY_MASK,
  TESSERA_ENTRY_GENERATE,
  TESSERA_ENTRY_RESIZE,
} TesseraEntryKind;

#define TESSERA_TYPE_HISTORY_ENTRY (tessera_history_entry_get_type ())
G_DECLARE_FINAL_TYPE (TesseraHistoryEntry, tessera_history_entry, TESSERA, HISTORY_ENTRY, GObject)

/* Takes a reference on state; params is copied (may be NULL). */
TesseraHistoryEntry *tessera_history_entry_new (TesseraEntryKind kind, const char *label,
                                                TesseraState *state,
                                                const TesseraParams *params);

TesseraEntryKind     tessera_history_entry_get_kind (TesseraHistoryEntry *self);
const char          *tessera_history_entry_get_label (TesseraHistoryEntry *self);
TesseraState        *tessera_history_entry_get_state (TesseraHistoryEntry *self);
const TesseraParams *tessera_history_entry_get_params (TesseraHistoryEntry *self);

/* Variants (full-size straight RGBA results) of the request that made this entry; the one
 * applied is selected. */
void     tessera_history_entry_set_variants (TesseraHistoryEntry *self, GPtrArray *variants,
                                             guint selected);
guint    tessera_history_entry_get_n_variants (TesseraHistoryEntry *self);
GBytes  *tessera_history_entry_get_variant (TesseraHistoryEntry *self, guint index);
guint    tessera_history_entry_get_selected_variant (TesseraHistoryEntry *self);

G_END_DECLS
