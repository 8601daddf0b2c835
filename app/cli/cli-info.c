/* cli-info.c — `tessera-cli info`: what the engine can run on here. */
#include "cli.h"

#include <glib/gi18n.h>
#include <stdio.h>

/* Vulkan devices are listed by opening each index until none is left, so the report shows
 * exactly what the backend would see and use. */
static void
print_vulkan_devices (void)
{
  printf (_("Vulkan devices:\n"));
  for (int index = 0; index < 16; index++) {
    g_autoptr (GError) error = NULL;
    g_autoptr (TsBackend) vk = ts_backend_new_vulkan (index, TRUE, &error);
    if (!vk) {
      if (index == 0 || !g_error_matches (error, TS_ERROR, TS_ERROR_NO_DEVICE))
        printf ("  [%d] %s\n", index, error->message);
      break;
    }
    g_autofree char *text = ts_backend_describe (vk);
    g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
    printf ("  [%d] %s\n", index, lines[0]);
    for (int i = 1; lines[i] && *lines[i]; i++)
      printf ("      %s\n", lines[i]);
  }
}

int
cli_info (int argc, char **argv)
{
  g_autofree char *device = NULL; /* GOption hands over a copy */
  g_autofree char *model = NULL; /* GOption hands over a copy */
  GOptionEntry entries[] = {
    { "model", 'm', 0, G_OPTION_ARG_FILENAME, &model,
      N_("Model folder to describe (default: the shipped model)"), N_("DIR") },
    { "device", 'd', 0, G_OPTION_ARG_STRING, &device,
      N_("Compute device: auto, cpu, vulkan or vulkan:N"), N_("DEVICE") },
    { NULL }
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new (NULL);
  g_option_context_set_summary (ctx, _("Show the compute devices and the backend Tessera uses."));
  g_option_context_add_main_entries (ctx, entries, GETTEXT_PACKAGE);
  g_autoptr (GError) error = NULL;
  if (!g_option_context_parse (ctx, &argc, &argv, &error)) {
    fprintf (stderr, "tessera-cli info: %s\n", error->message);
    return CLI_EXIT_USAGE;
  }

  printf ("Tessera %s\n\n", PACKAGE_VERSION);
  g_autoptr (TsBackend) cpu = ts_backend_new_cpu (0, &error);
  if (cpu) {
    g_autofree char *text = ts_backend_describe (cpu);
    printf (_("CPU backend:\n%s\n"), text);
  } else {
    printf (_("CPU backend: %s\n"), error->message);
  }
  print_vulkan_devices ();

  g_autoptr (TsBackend) chosen = cli_open_backend (device, TRUE); /* the device report */
  if (!chosen)
    return CLI_EXIT_FAILURE;
  printf (_("\nChosen backend: %s\n"), ts_backend_name (chosen));

  /* The model: an explicit --model that fails to load is an error; no model at all is not. */
  g_clear_error (&error);
  g_autofree char *dir = cli_model_dir (model, &error);
  if (!dir) {
    printf (_("\nModel: none (%s)\n"), error->message);
    return model ? CLI_EXIT_FAILURE : CLI_EXIT_OK;
  }
  g_autoptr (TsPipeline) pipe = ts_pipeline_new (chosen, dir, &error);
  if (!pipe) {
    fprintf (stderr, "tessera-cli info: %s\n", error->message);
    return CLI_EXIT_FAILURE;
  }
  g_autofree char *text = ts_pipeline_describe (pipe);
  printf ("\n%s", text);
  return CLI_EXIT_OK;
}
