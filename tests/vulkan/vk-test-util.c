/* vk-test-util.c — the Vulkan test programs' one backend and validation count (see the
 * header). */
#include "vk-test-util.h"

TsVkOptions  vkt_options;
TsBackend   *vkt_be;
TsVkBackend *vkt_vk;
char        *vkt_skip_reason;
static guint vkt_messages_seen;

TsBackend *
vkt_backend_new (const TsVkOptions *options)
{
  g_autoptr (GError) error = NULL;
  TsBackend *be = ts_vk_backend_new_with_options (-1, TRUE, options, &error);
  g_assert_no_error (error);
  g_assert_nonnull (be);
  return be;
}

void
vkt_setup_adjusted (void (*adjust) (TsVkOptions *options))
{
  g_autoptr (GError) error = NULL;
  ts_vk_options_from_env (&vkt_options);
  if (adjust != NULL)
    adjust (&vkt_options);
  vkt_be = ts_vk_backend_new_with_options (-1, TRUE, &vkt_options, &error);
  if (vkt_be == NULL) {
    vkt_skip_reason = g_strdup_printf ("no Vulkan device: %s", error->message);
    g_printerr ("# %s\n", vkt_skip_reason);
    return;
  }
  vkt_vk = ts_vk_backend_from (vkt_be);
  if (vkt_options.validation && !ts_vk_validation_active (vkt_vk))
    g_printerr ("# validation requested but the layer is not available\n");
  g_autofree char *desc = ts_backend_describe (vkt_be);
  g_printerr ("# %s", desc);
}

void
vkt_setup (void)
{
  vkt_setup_adjusted (NULL);
}

void
vkt_teardown (void)
{
  g_clear_pointer (&vkt_be, ts_backend_free);
  vkt_vk = NULL;
  g_clear_pointer (&vkt_skip_reason, g_free);
}

void
vkt_check_validation (void)
{
  if (vkt_be != NULL) {
    g_autoptr (GError) error = NULL;
    if (!ts_backend_sync (vkt_be, &error))
      g_test_message ("sync failed: %s", error->message);
  }
  guint n = ts_vk_validation_message_count ();
  if (n > vkt_messages_seen) {
    g_test_message ("%u Vulkan validation message(s), see stderr", n - vkt_messages_seen);
    vkt_messages_seen = n;
    g_test_fail ();
  }
}

void
vkt_run (gconstpointer test)
{
  ((void (*) (void)) test) ();
  vkt_check_validation ();
}
