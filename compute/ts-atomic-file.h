/* ts-atomic-file.h — replacing a file so that it is either the old or the new version, never
 * a half-written one, even if the process is killed or the machine loses power: the data goes
 * to a hidden temporary file in the same folder, is flushed to disk (fsync), and is renamed
 * over the file; the folder is then flushed so the rename itself survives a power cut.
 *
 * Streamed: the data can be written in pieces (safetensors files far larger than memory). Used
 * by the safetensors writer and, through tessera-atomic-file.h, by the editor's saves.
 *
 * Fault injection: TESSERA_FAULT=write:N (ts-fault.h) makes the N-th ts_atomic_file_write of
 * the process stop half way with ENOSPC, as on a full disk. */
#pragma once

#include "ts-types.h"

G_BEGIN_DECLS

typedef struct _TsAtomicFile TsAtomicFile;

/* Which step failed, for callers that word their own messages (ts_atomic_file_replace). */
typedef enum {
  TS_ATOMIC_CREATE,    /* the temporary file could not be made (folder missing, read-only) */
  TS_ATOMIC_WRITE,     /* writing or flushing it (disk full, I/O error) */
  TS_ATOMIC_REPLACE,   /* renaming it over the file */
} TsAtomicStep;

/* Creates the temporary file next to `path`. Errors: TS_ERROR_IO, "cannot create a file next
 * to “PATH”: REASON". */
TsAtomicFile *ts_atomic_file_new (const char *path, GError **error);
/* Appends data. Errors: TS_ERROR_IO, "cannot write “PATH”: REASON". */
gboolean      ts_atomic_file_write (TsAtomicFile *file, const void *data, gsize size,
                                    GError **error);
/* Flushes, closes and renames the temporary file over `path`. Errors: TS_ERROR_IO, "cannot
 * write “PATH”: …" or "cannot replace “PATH”: …"; then the temporary file is gone and the
 * old file untouched. Call once; free the file afterwards either way. */
gboolean      ts_atomic_file_commit (TsAtomicFile *file, GError **error);
/* Without a successful commit: removes the temporary file, leaving `path` as it was. */
void          ts_atomic_file_free (TsAtomicFile *file);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TsAtomicFile, ts_atomic_file_free)

/* The whole of data in one go (new, write, commit). On failure *step and *errnum (each may be
 * NULL) say what failed. */
gboolean      ts_atomic_file_replace (const char *path, const void *data, gsize size,
                                      TsAtomicStep *step, int *errnum, GError **error);

/* Whether a file name (no folder) is one of the temporary files left behind when a writer is
 * killed mid-write (folder scans skip them). */
gboolean      ts_atomic_file_is_temp_name (const char *name);

G_END_DECLS
