/* tessera-atomic-file.h — replacing a file so that it is either the old or the new version,
 * never a half-written one, even if the process is killed or the machine loses power. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* Writes data to a temporary file in the same folder, flushes it to disk and renames it over
 * path. On failure the temporary file is removed and path is untouched.
 *
 * The work is the engine's ts_atomic_file_replace (compute/ts-atomic-file.h); this adds the
 * editor's translated messages (G_IO_ERROR, the code from errno). Fault injection for tests:
 * TESSERA_FAULT=write:N (ts-fault.h) makes the N-th write stop half way with ENOSPC, as on a
 * full disk. */
gboolean tessera_atomic_write (const char *path, const void *data, gsize size, GError **error);

/* Whether name is one of the temporary files tessera_atomic_write leaves behind when it is
 * killed mid-write (folder scans skip them). */
gboolean tessera_atomic_is_temp_name (const char *name);

G_END_DECLS
