/* ts-atomic-file.c — temporary file, fsync, rename, fsync of the folder (ts-atomic-file.h). */
#include "ts-atomic-file.h"

#include "ts-fault.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <unistd.h>

#define TEMP_SUFFIX ".part"

struct _TsAtomicFile {
  char        *path;
  char        *tmp;        /* NULL once renamed or removed */
  int          fd;         /* -1 once closed */
  gboolean     committed;
  TsAtomicStep step;       /* of the last failure */
  int          errnum;
};

static gboolean
fail (TsAtomicFile *f, TsAtomicStep step, int err, GError **error)
{
  static const char *const what[] = {
    [TS_ATOMIC_CREATE] = "cannot create a file next to",
    [TS_ATOMIC_WRITE] = "cannot write",
    [TS_ATOMIC_REPLACE] = "cannot replace",
  };
  f->step = step;
  f->errnum = err;
  g_autofree char *name = g_filename_display_name (f->path);
  g_set_error (error, TS_ERROR, TS_ERROR_IO, "%s “%s”: %s", what[step], name, g_strerror (err));
  return FALSE;
}

/* Closes and removes the temporary file unless it became the file. */
static void
discard (TsAtomicFile *f)
{
  if (f->fd >= 0)
    close (f->fd);
  f->fd = -1;
  if (f->tmp && !f->committed)
    g_unlink (f->tmp);
  g_clear_pointer (&f->tmp, g_free);
}

static TsAtomicFile *
file_new (const char *path)
{
  TsAtomicFile *f = g_new0 (TsAtomicFile, 1);
  f->path = g_strdup (path);
  f->fd = -1;
  return f;
}

static gboolean
file_open (TsAtomicFile *f, GError **error)
{
  g_autofree char *dir = g_path_get_dirname (f->path);
  g_autofree char *base = g_path_get_basename (f->path);
  /* Hidden, and in the same folder so that the rename stays on one file system. */
  char *tmp = g_strdup_printf ("%s/.%s.XXXXXX" TEMP_SUFFIX, dir, base);
  f->fd = g_mkstemp_full (tmp, O_WRONLY | O_CLOEXEC, 0644);
  if (f->fd < 0) {
    int err = errno;
    g_free (tmp);
    return fail (f, TS_ATOMIC_CREATE, err, error);
  }
  f->tmp = tmp;
  return TRUE;
}

TsAtomicFile *
ts_atomic_file_new (const char *path, GError **error)
{
  g_return_val_if_fail (path != NULL, NULL);
  TsAtomicFile *f = file_new (path);
  if (file_open (f, error))
    return f;
  ts_atomic_file_free (f);
  return NULL;
}

gboolean
ts_atomic_file_write (TsAtomicFile *f, const void *data, gsize size, GError **error)
{
  g_return_val_if_fail (f != NULL && f->fd >= 0, FALSE);
  const guint8 *p = data;
  /* The injected fault: half the data goes out, then the disk is full. */
  gboolean fault = ts_fault_hit (TS_FAULT_WRITE);
  gsize todo = fault ? size / 2 : size;
  while (todo > 0) {
    gssize n = write (f->fd, p, MIN (todo, (gsize) G_MAXSSIZE));
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return fail (f, TS_ATOMIC_WRITE, n < 0 ? errno : EIO, error);
    p += n;
    todo -= (gsize) n;
  }
  return fault ? fail (f, TS_ATOMIC_WRITE, ENOSPC, error) : TRUE;
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
ts_atomic_file_commit (TsAtomicFile *f, GError **error)
{
  g_return_val_if_fail (f != NULL && f->fd >= 0, FALSE);
  int fd = f->fd;
  f->fd = -1;
  gboolean ok;
  if (fsync (fd) != 0) {
    int err = errno;
    close (fd);
    ok = fail (f, TS_ATOMIC_WRITE, err, error);
  } else if (close (fd) != 0) {
    ok = fail (f, TS_ATOMIC_WRITE, errno, error);
  } else if (g_rename (f->tmp, f->path) != 0) {
    ok = fail (f, TS_ATOMIC_REPLACE, errno, error);
  } else {
    f->committed = ok = TRUE;
    sync_folder (f->path);
  }
  discard (f);
  return ok;
}

void
ts_atomic_file_free (TsAtomicFile *f)
{
  if (!f)
    return;
  discard (f);
  g_free (f->path);
  g_free (f);
}

gboolean
ts_atomic_file_replace (const char *path, const void *data, gsize size, TsAtomicStep *step,
                        int *errnum, GError **error)
{
  g_autoptr (TsAtomicFile) f = file_new (path);
  if (file_open (f, error) && ts_atomic_file_write (f, data, size, error) &&
      ts_atomic_file_commit (f, error))
    return TRUE;
  if (step)
    *step = f->step;
  if (errnum)
    *errnum = f->errnum;
  return FALSE;
}

gboolean
ts_atomic_file_is_temp_name (const char *name)
{
  return name[0] == '.' && g_str_has_suffix (name, TEMP_SUFFIX);
}
