/* tessera-autosave.h — where autosaved projects live and which ones a crash left behind.
 *
 * Each window autosaves to $XDG_STATE_HOME/tessera/autosave/<pid>-<n>.ora. A file whose
 * process is gone was left by a crash (or a close with unsaved changes): it is offered for
 * recovery at the next start. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The folder, created if needed; NULL with an error when it cannot be. */
char *tessera_autosave_dir (GError **error);
/* A path for this process's window number n. */
char *tessera_autosave_path (guint n, GError **error);
/* The newest autosave whose process has ended, or NULL. Removes temporary files that a
 * killed save left behind. */
char *tessera_autosave_find_orphan (void);

G_END_DECLS
