/* tessera-atomic-file.c — temp file + fsync + rename. */
#include "tessera-atomic-file.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#define TEMP_SUFFIX ".part"

typedef enum { STEP_CREATE, STEP_WRITE, STEP_REPLACE } Step;

static gboolean
fail_errno (GError **error, int err, const char *path, Step step)
{
  g_autofree char *name = g_filename_display_name (path);
  int code = g_io_error_from_errno (err);
  const char *reason = g_strerror (err);
  if (step == STEP_CREATE)
    g_set_error (error, G_IO_ERROR, code, _("Could not create a file next to “%s”: %s"), name,
                 reason);
  else if (step == STEP_WRITE)
    g_set_error (error, G_IO_ERROR, code, _("Could not write “%s”: %s"), name, reason);
  else
    g_set_error (error, G_IO_ERROR, code, _("Could not replace “%s”: %s"), name, reason);
  return FALSE;
}

static gboolean
write_all (int fd, const guint8 *data, gsize size)
{
  gsize limit = size;
  if (g_strcmp0 (g_getenv ("TESSERA_FAULT_INJECT"), "write") == 0)
    limit = size / 2;
  while (limit > 0) {
    gssize n = write (fd, data, limit);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return FALSE;
    data += n;
    limit -= n;
    size -= n;
  }
  if (size > 0) {
    errno = ENOSPC;   /* the injected fault */
    return FALSE;
  }
  return TRUE;
}

/* Makes the rename itself durable. Best effort: some file systems refuse fsync on folders. */
static void
sync_folder (const char *path)
{
  g_autofree char *dir = g_path_get_dirname (path);
  int fd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    fsync (fd);
    close (fd);
  }
}

gboolean
tessera_atomic_write (const char *path, const void *data, gsize size, GError **error)
{
  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *base = g_path_get_basename (path);
  /* Hidden and in the same folder, so the rename stays on one file system. */
  g_autofree char *tmp = g_strdup_printf ("%s/.%s.XXXXXX" TEMP_SUFFIX, dir, base);
  int fd = g_mkstemp_full (tmp, O_WRONLY | O_CLOEXEC, 0644);
  if (fd < 0)
    return fail_errno (error, errno, path, STEP_CREATE);
  if (!write_all (fd, data, size) || fsync (fd) != 0) {
    int err = errno;
    close (fd);
    g_unlink (tmp);
    return fail_errno (error, err, path, STEP_WRITE);
  }
  if (close (fd) != 0) {
    int err = errno;
    g_unlink (tmp);
    return fail_errno (error, err, path, STEP_WRITE);
  }
  if (g_rename (tmp, path) != 0) {
    int err = errno;
    g_unlink (tmp);
    return fail_errno (error, err, path, STEP_REPLACE);
  }
  sync_folder (path);
  return TRUE;
}

gboolean
tessera_atomic_is_temp_name (const char *name)
{
  return name[0] == '.' && g_str_has_suffix (name, TEMP_SUFFIX);
}
