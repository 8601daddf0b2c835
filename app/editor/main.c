/* main.c — the Tessera editor. */
#include <glib/gi18n.h>
#include <locale.h>

#include "tessera-application.h"
#include "ts-process.h"

/* The model's CPU threads (OpenMP) busy-wait between parallel regions unless told otherwise.
 * Here they share the cores with the UI thread, which then misses frames, and on a busy
 * 2-core machine the spinning even slows the model (a 128² generate: 0.07 s with passive
 * waits, 0.36 s without). libgomp reads OMP_WAIT_POLICY as it loads, before main, so the
 * editor runs itself again with it set (and with OpenBLAS's core type where it needs one),
 * unless they are set already (by the user, or by the first run). */
int
main (int argc, char **argv)
{
  ts_process_reexec_if_needed (argv, TS_PROCESS_PASSIVE_OMP);
  setlocale (LC_ALL, "");
  /* TESSERA_LOCALEDIR: an uninstalled build's translations (meson devenv and tests set it). */
  const char *localedir = g_getenv ("TESSERA_LOCALEDIR");
  bindtextdomain (GETTEXT_PACKAGE, localedir && *localedir ? localedir : LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  g_autoptr (TesseraApplication) app = tessera_application_new ();
  return g_application_run (G_APPLICATION (app), argc, argv);
}
