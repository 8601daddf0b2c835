/* ts-safetensors-writer.h — writing .safetensors files, for tests and tools only.
 *
 * Not part of libtessera: the editor and tessera-cli only read model files (training
 * writes them from Python), so the writer is its own static library (libtessera_writer_dep
 * in compute/meson.build) that test programs, the synthetic models and tessera-bench link. */
#pragma once

#include "ts-safetensors.h"

G_BEGIN_DECLS

/* Writer: tensors are written in the order added, each right after the previous one; the
 * header is padded with spaces to a multiple of 8 bytes so the data section is aligned. */
typedef struct _TsSafetensorsWriter TsSafetensorsWriter;

/* Fills `dst` (`size` bytes) with the data of a tensor at write time (so huge files need not
 * be held in memory). Returns FALSE with *error set to abort the write. */
typedef gboolean (*TsSafetensorsFillFunc) (void *dst, size_t size, gpointer user_data,
                                           GError **error);

TsSafetensorsWriter *ts_safetensors_writer_new (void);
void ts_safetensors_writer_free (TsSafetensorsWriter *w);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TsSafetensorsWriter, ts_safetensors_writer_free)

void     ts_safetensors_writer_set_metadata (TsSafetensorsWriter *w, const char *key,
                                             const char *value);
/* Copies `data` (numel × dtype size bytes). ndim may be 0 for a scalar. */
gboolean ts_safetensors_writer_add (TsSafetensorsWriter *w, const char *name, TsDType dtype,
                                    int ndim, const int64_t *shape, const void *data,
                                    GError **error);
/* Data produced by `fill` during ts_safetensors_writer_write; `destroy` frees user_data. */
gboolean ts_safetensors_writer_add_fill (TsSafetensorsWriter *w, const char *name, TsDType dtype,
                                         int ndim, const int64_t *shape,
                                         TsSafetensorsFillFunc fill, gpointer user_data,
                                         GDestroyNotify destroy, GError **error);
/* Writes to a temporary file next to `path` and renames it into place. */
gboolean ts_safetensors_writer_write (TsSafetensorsWriter *w, const char *path, GError **error);
/* The whole file in memory (small files, tests). */
GBytes  *ts_safetensors_writer_to_bytes (TsSafetensorsWriter *w, GError **error);


G_END_DECLS
