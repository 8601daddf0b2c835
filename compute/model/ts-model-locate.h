/* ts-model-locate.h — where the model that ships with Tessera is, so the CLI and the editor
 * find the same one.
 *
 * The search folders, in order: the source tree's data/models (an uninstalled build run from
 * its build folder) and the installed models folder (PREFIX/share/tessera/models). In each,
 * the sub-folders are tried in name order and the first holding a model_index.json wins. */
#pragma once

#include "../ts-types.h"

G_BEGIN_DECLS

/* The folders searched, NULL-terminated; static strings. */
const char *const *ts_model_search_dirs (void);

/* The shipped model's folder (free with g_free), or NULL with TS_ERROR_IO naming the folders
 * searched when none of them holds a model. */
char *ts_model_locate_default (GError **error);

G_END_DECLS
