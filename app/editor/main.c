/* main.c — the Tessera editor. */
#include <glib/gi18n.h>
#include <locale.h>

#include "tessera-application.h"

int
main (int argc, char **argv)
{
  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  g_autoptr (TesseraApplication) app = tessera_application_new ();
  return g_application_run (G_APPLICATION (app), argc, argv);
}
