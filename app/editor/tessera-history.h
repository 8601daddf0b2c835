/* tessera-history.h — the list of committed changes with a current position: undo/redo
 * moves the position, a new commit drops what was undone. A GListModel of
 * TesseraHistoryEntry, so the history panel binds to it directly. */
#pragma once

#include <gio/gio.h>

#include "tessera-history-entry.h"

G_BEGIN_DECLS

#define TESSERA_TYPE_HISTORY (tessera_history_get_type ())
G_DECLARE_FINAL_TYPE (TesseraHistory, tessera_history, TESSERA, HISTORY, GObject)

/* max_entries: older entries are forgotten beyond it (memory cap); at least 2. */
TesseraHistory *tessera_history_new (guint max_entries);

/* Appends after the current position (dropping redo entries) and makes it current. */
void                 tessera_history_push (TesseraHistory *self, TesseraHistoryEntry *entry);
/* Forget everything and start from this entry (a new or opened picture). */
void                 tessera_history_reset (TesseraHistory *self, TesseraHistoryEntry *entry);
TesseraHistoryEntry *tessera_history_get_current (TesseraHistory *self);
guint                tessera_history_get_position (TesseraHistory *self);
gboolean             tessera_history_can_undo (TesseraHistory *self);
gboolean             tessera_history_can_redo (TesseraHistory *self);
/* Move the position; returns the entry whose state the document must show, or NULL. */
TesseraHistoryEntry *tessera_history_undo (TesseraHistory *self);
TesseraHistoryEntry *tessera_history_redo (TesseraHistory *self);
TesseraHistoryEntry *tessera_history_jump (TesseraHistory *self, guint position);

G_END_DECLS
