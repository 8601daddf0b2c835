/* main.c — the Tessera editor. */
#include <glib/gi18n.h>
#include <locale.h>
#include <unistd.h>

#include "tessera-application.h"

/* The model's CPU threads (OpenMP) busy-wait between parallel regions unless told otherwise.
 * Here they share the cores with the UI thread, which then misses frames, and on a busy
 * 2-core machine the spinning even slows the model (a 128² generate: 0.07 s with passive
 * waits, 0.36 s without). libgomp reads OMP_WAIT_POLICY as it loads, before main, so the
 * editor runs itself again with it set, unless it is set already (by the user, or by the
 * first run). */
static void
prefer_passive_omp_waits (char **argv)
{
  if (g_getenv ("OMP_WAIT_POLICY"))
    return;
  g_setenv ("OMP_WAIT_POLICY", "passive", TRUE);
  execv ("/proc/self/exe", argv);
  /* Could not run again: go on with busy waits. */
}

int
main (int argc, char **argv)
{
  prefer_passive_omp_waits (argv);
  setlocale (LC_ALL, "");
  /* TESSERA_LOCALEDIR: an uninstalled build's translations (meson devenv and tests set it). */
  const char *localedir = g_getenv ("TESSERA_LOCALEDIR");
  bindtextdomain (GETTEXT_PACKAGE, localedir && *localedir ? localedir : LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  g_autoptr (TesseraApplication) app = tessera_application_new ();
  return g_application_run (G_APPLICATION (app), argc, argv);
}
