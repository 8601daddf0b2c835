/* tessera-atomic-file.c — the engine's atomic replacement (ts-atomic-file.h) with the
 * editor's messages. */
#include "tessera-atomic-file.h"

#include <glib/gi18n.h>

#include "ts-atomic-file.h"

gboolean
tessera_atomic_write (const char *path, const void *data, gsize size, GError **error)
{
  TsAtomicStep step = TS_ATOMIC_WRITE;
  int err = 0;
  if (ts_atomic_file_replace (path, data, size, &step, &err, NULL))
    return TRUE;
  g_autofree char *name = g_filename_display_name (path);
  int code = g_io_error_from_errno (err);
  const char *reason = g_strerror (err);
  if (step == TS_ATOMIC_CREATE)
    g_set_error (error, G_IO_ERROR, code, _("Could not create a file next to “%s”: %s"), name,
                 reason);
  else if (step == TS_ATOMIC_WRITE)
    g_set_error (error, G_IO_ERROR, code, _("Could not write “%s”: %s"), name, reason);
  else
    g_set_error (error, G_IO_ERROR, code, _("Could not replace “%s”: %s"), name, reason);
  return FALSE;
}

gboolean
tessera_atomic_is_temp_name (const char *name)
{
  return ts_atomic_file_is_temp_name (name);
}
