/* golden-paths.h — where the goldens are, for every suite that uses them: the folder
 * ($TESSERA_GOLDENS, else the one next to the source tree) and the model folders its
 * manifest names (tiny_model.dir, tiny_model.transformer_256path_dir), so that a goldens
 * folder with other names works without touching the tests. */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* $TESSERA_GOLDENS when set and not empty, else the build's default; NULL when that folder
 * does not exist. */
const char *golden_paths_dir (void);

/* The manifest's root object, parsed once per process; NULL with *error set (why, for a
 * skip message) when there is no goldens folder or no readable manifest. Borrowed. */
JsonObject *golden_paths_manifest (GError **error);

/* The full path of a folder the manifest's "tiny_model" object names under `key` ("dir":
 * the complete tiny model; "transformer_256path_dir": its 256-path transformer), g_free;
 * NULL with *error set when there is no goldens folder or the manifest lacks the key. */
char *golden_paths_tiny (const char *key, GError **error);

/* golden_paths_tiny ("dir") followed by the components given (NULL-terminated), g_free. */
char *golden_paths_tiny_model (GError **error, ...) G_GNUC_NULL_TERMINATED;

/* The one test of a goldens suite that found no manifest (`reason` says why): it skips where
 * the default folder is absent (a clone without ../shared), and fails where $TESSERA_GOLDENS
 * names a folder without readable goldens, which is a mistake, not a missing backend. */
void golden_paths_no_goldens_test (gconstpointer reason);

G_END_DECLS
