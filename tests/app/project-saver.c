/* project-saver.c — a helper for the crash test: saves projects to one path in a loop, as
 * autosave does, until it is killed. Each project's size is derived from its seed so the
 * test can check a recovered file is whole. */
#include "project-fixture.h"

int
main (int argc, char **argv)
{
  if (argc != 2) {
    g_printerr ("usage: %s FILE.ora\n", argv[0]);
    return 2;
  }
  for (guint32 seed = 1;; seed++) {
    g_autoptr (TesseraProject) p = fixture_project (2 + seed % 6, seed);
    g_autoptr (GError) error = NULL;
    if (!tessera_project_save (p, argv[1], &error)) {
      g_printerr ("%s\n", error->message);
      return 1;
    }
  }
}
