/* tessera-project.h — projects as OpenRaster (.ora) files.
 *
 * The zip holds what any OpenRaster reader expects (mimetype first and uncompressed,
 * stack.xml, the picture and the mask as PNG layers, mergedimage.png, a thumbnail) and, in
 * tessera/, the history: every entry's picture, mask, variants and request parameters, with
 * tessera/history.json describing them. A project is plain immutable data, so it can be
 * written in a worker thread while the editor goes on. */
#pragma once

#include <gio/gio.h>

#include "tessera-history.h"

G_BEGIN_DECLS

/* PNGs already encoded, by pixel buffer: autosaving a long history then only encodes what
 * changed since the last save. Thread-safe, reference counted. */
typedef struct _TesseraPngCache TesseraPngCache;

TesseraPngCache *tessera_png_cache_new (void);
TesseraPngCache *tessera_png_cache_ref (TesseraPngCache *cache);
void             tessera_png_cache_unref (TesseraPngCache *cache);
guint            tessera_png_cache_get_size (TesseraPngCache *cache);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TesseraPngCache, tessera_png_cache_unref)

typedef struct {
  TesseraState *state;   /* the picture and mask shown */
  GPtrArray *entries;    /* TesseraHistoryEntry, oldest first; may be empty */
  guint position;        /* the current entry */
  TesseraPngCache *cache;   /* optional, referenced; used when encoding */
  TesseraParams *draft;     /* optional, owned: the request bar as it was (mode, prompt, …) */
} TesseraProject;

/* References the document's state and the history's entries (which are immutable). */
TesseraProject *tessera_project_new (TesseraState *state, TesseraHistory *history);
void            tessera_project_free (TesseraProject *project);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TesseraProject, tessera_project_free)

GBytes         *tessera_project_encode (TesseraProject *project, GError **error);
/* Also reads OpenRaster files from other programs: their merged image becomes the picture. */
TesseraProject *tessera_project_decode (GBytes *ora, GError **error);

/* Saving is atomic (see tessera-atomic-file.h): on failure the old file is untouched. */
gboolean        tessera_project_save (TesseraProject *project, const char *path, GError **error);
TesseraProject *tessera_project_load (const char *path, GError **error);

/* The same in a GTask thread. */
void            tessera_project_save_async (TesseraProject *project, const char *path,
                                            GCancellable *cancellable,
                                            GAsyncReadyCallback callback, gpointer user_data);
gboolean        tessera_project_save_finish (GAsyncResult *result, GError **error);
void            tessera_project_load_async (const char *path, GCancellable *cancellable,
                                            GAsyncReadyCallback callback, gpointer user_data);
TesseraProject *tessera_project_load_finish (GAsyncResult *result, GError **error);

/* Rebuilds a history from the project's entries; FALSE when it has none. */
gboolean        tessera_project_fill_history (TesseraProject *project, TesseraHistory *history);

G_END_DECLS
