/* tessera-autosave.c — autosave paths and crash leftovers. */
#include "tessera-autosave.h"

#include <errno.h>
#include <gio/gio.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include "tessera-atomic-file.h"

char *
tessera_autosave_dir (GError **error)
{
  char *dir = g_build_filename (g_get_user_state_dir (), "tessera", "autosave", NULL);
  if (g_mkdir_with_parents (dir, 0700) != 0) {
    int err = errno;
    g_set_error (error, G_IO_ERROR, g_io_error_from_errno (err),
                 _("Could not create the autosave folder “%s”: %s"), dir, g_strerror (err));
    g_free (dir);
    return NULL;
  }
  return dir;
}

char *
tessera_autosave_path (guint n, GError **error)
{
  g_autofree char *dir = tessera_autosave_dir (error);
  if (!dir)
    return NULL;
  g_autofree char *name = g_strdup_printf ("%ld-%u.ora", (long) getpid (), n);
  return g_build_filename (dir, name, NULL);
}

static gboolean
process_alive (long pid)
{
  if (pid <= 0 || pid > G_MAXINT)
    return FALSE;
  if (pid == (long) getpid ())
    return TRUE;
  /* EPERM: it exists but belongs to someone else. */
  return kill ((pid_t) pid, 0) == 0 || errno == EPERM;
}

char *
tessera_autosave_find_orphan (void)
{
  g_autofree char *dir = tessera_autosave_dir (NULL);
  g_autoptr (GDir) d = dir ? g_dir_open (dir, 0, NULL) : NULL;
  if (!d)
    return NULL;
  char *best = NULL;
  gint64 best_time = G_MININT64;
  const char *name;
  while ((name = g_dir_read_name (d))) {
    g_autofree char *path = g_build_filename (dir, name, NULL);
    char *end;
    long pid = strtol (name, &end, 10);
    if (tessera_atomic_is_temp_name (name)) {
      /* A save killed half way; the file it was replacing is still whole. Only leftovers of
       * ended processes: a running one may be writing it right now. */
      const char *dash = name[0] == '.' ? name + 1 : name;
      if (!process_alive (strtol (dash, NULL, 10)))
        g_unlink (path);
      continue;
    }
    if (end == name || *end != '-' || !g_str_has_suffix (name, ".ora") || process_alive (pid))
      continue;
    GStatBuf st;
    if (g_stat (path, &st) != 0)
      continue;
    if ((gint64) st.st_mtime > best_time) {
      best_time = st.st_mtime;
      g_free (best);
      best = g_steal_pointer (&path);
    }
  }
  return best;
}
