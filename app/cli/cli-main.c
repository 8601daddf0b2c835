/* cli-main.c — tessera-cli: the engine from the command line. Its commands are info,
 * selfcheck and a subcommand for each editing mode of the mode table. */
#include "cli.h"

#include <glib/gi18n.h>
#include <locale.h>
#include <stdio.h>
#include <string.h>

typedef struct {
  const char *name;
  int (*run) (int argc, char **argv);
  const char *summary;
} CliCommand;

static const CliCommand commands[] = {
  { "info", cli_info, N_("Show the compute devices and the chosen backend") },
  { "selfcheck", cli_selfcheck, N_("Run every op on each backend and check the results") },
};

static void
print_usage (FILE *out)
{
  fprintf (out, _("Usage: tessera-cli COMMAND [OPTION…]\n\nCommands:\n"));
  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    fprintf (out, "  %-10s %s\n", commands[i].name, _(commands[i].summary));
  for (guint i = 0; i < ts_mode_count (); i++)
    fprintf (out, "  %-10s %s\n", ts_mode_nth (i)->id, _(ts_mode_nth (i)->summary));
  fprintf (out, _("\nRun “tessera-cli COMMAND --help” for the options of a command.\n"
                  "TESSERA_DEVICE=auto|cpu|vulkan|vulkan:N chooses the compute device.\n"));
}

TsBackend *
cli_open_backend (const char *device, gboolean report_fallback)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *fallback = NULL;
  TsBackend *be = ts_backend_new_from_spec (device, &fallback, &error);
  if (!be) {
    fprintf (stderr, _("tessera-cli: cannot open device: %s\n"), error->message);
    return NULL;
  }
  if (fallback && report_fallback)
    fprintf (stderr, _("tessera-cli: no usable Vulkan GPU (%s); using the CPU backend\n"), fallback);
  return be;
}

int
main (int argc, char **argv)
{
  /* OpenBLAS picks its kernels as it loads: where it does not know the CPU, run again with
   * the core type it should have picked (4.5x the sgemm speed on a CPU newer than it). */
  ts_process_reexec_if_needed (argv, TS_PROCESS_NONE);
  setlocale (LC_ALL, "");
  /* TESSERA_LOCALEDIR: an uninstalled build's translations (meson devenv and tests set it). */
  const char *localedir = g_getenv ("TESSERA_LOCALEDIR");
  bindtextdomain (GETTEXT_PACKAGE, localedir && *localedir ? localedir : LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  if (argc < 2 || g_str_equal (argv[1], "--help") || g_str_equal (argv[1], "-h")) {
    print_usage (argc < 2 ? stderr : stdout);
    return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
  }
  /* GOption's usage line starts with the program's name: "tessera-cli generate [OPTION…]
   * PROMPT", not the bare subcommand it would take from argv[0]. */
  g_autofree char *prgname = g_strdup_printf ("tessera-cli %s", argv[1]);
  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    if (g_str_equal (argv[1], commands[i].name)) {
      g_set_prgname (prgname);
      return commands[i].run (argc - 1, argv + 1);
    }
  const TsModeInfo *mode = ts_mode_from_id (argv[1]);
  if (mode) {
    g_set_prgname (prgname);
    return cli_run_mode (mode, argc - 1, argv + 1);
  }

  fprintf (stderr, _("tessera-cli: unknown command “%s”\n"), argv[1]);
  print_usage (stderr);
  return CLI_EXIT_USAGE;
}
