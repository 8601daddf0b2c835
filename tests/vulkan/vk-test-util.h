/* vk-test-util.h — setup shared by the Vulkan test programs: one backend per program on
 * the best device, CPU implementations (lavapipe) included; every test skips (saying why)
 * when there is none, and fails when the validation layer reported anything.
 *
 * The program's options come from the environment once, at start (meson sets
 * TESSERA_VK_VALIDATION and, for the fallback run, more: vk-options.h); a test that needs
 * another switch creates its own backend from a copy of vkt_options with that field
 * changed (vkt_backend_new), never by setting the environment. */
#pragma once

#include "tessera.h"
#include "ts-backend-private.h"
#include "vulkan/vk-runtime.h"

static TsVkOptions  vkt_options;
static TsBackend   *vkt_be;
static TsVkBackend *vkt_vk;
static char        *vkt_skip_reason;
static guint        vkt_messages_seen;

/* A backend on the program's device with these options (asserting it can be created). */
static inline TsBackend *
vkt_backend_new (const TsVkOptions *options)
{
  g_autoptr (GError) error = NULL;
  TsBackend *be = ts_vk_backend_new_with_options (-1, TRUE, options, &error);
  g_assert_no_error (error);
  g_assert_nonnull (be);
  return be;
}

/* Reads the options from the environment, lets `adjust` (NULL: none) change them, and
 * creates the backend; call from main() after g_test_init. */
static inline void
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

static inline void
vkt_setup (void)
{
  vkt_setup_adjusted (NULL);
}

static inline void
vkt_teardown (void)
{
  g_clear_pointer (&vkt_be, ts_backend_free);
  vkt_vk = NULL;
  g_clear_pointer (&vkt_skip_reason, g_free);
}

#define VKT_REQUIRE()                      \
  G_STMT_START {                           \
    if (vkt_be == NULL) {                  \
      g_test_skip (vkt_skip_reason);       \
      return;                              \
    }                                      \
  } G_STMT_END

/* Fails the running test when the validation layer reported anything since the last check
 * (each message was printed on stderr as it came). Syncs first, so messages from work still
 * in flight are counted. */
static inline void
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

/* Runs the test function, then checks validation: wraps every test of the program. */
static inline void
vkt_run (gconstpointer test)
{
  ((void (*) (void)) test) ();
  vkt_check_validation ();
}

#define VKT_ADD(path, fn) g_test_add_data_func (path, (gconstpointer) (fn), vkt_run)
