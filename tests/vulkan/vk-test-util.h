/* vk-test-util.h — setup shared by the Vulkan test programs: one backend per program on
 * the best device, CPU implementations (lavapipe) included; every test skips (saying why)
 * when there is none, and fails when the validation layer reported anything.
 *
 * The program's options come from the environment once, at start (meson sets
 * TESSERA_VK_VALIDATION and, for the fallback run, more: vk-options.h); a test that needs
 * another switch creates its own backend from a copy of vkt_options with that field
 * changed (vkt_backend_new), never by setting the environment. The state lives once per
 * program (vk-test-util.c), so a program of several files shares one backend and one
 * count of validation messages. */
#pragma once

#include "tessera.h"
#include "ts-backend-private.h"
#include "vulkan/vk-runtime.h"

extern TsVkOptions  vkt_options;
extern TsBackend   *vkt_be;
extern TsVkBackend *vkt_vk;
extern char        *vkt_skip_reason;

/* A backend on the program's device with these options (asserting it can be created). */
TsBackend *vkt_backend_new (const TsVkOptions *options);

/* Reads the options from the environment, lets `adjust` (NULL: none) change them, and
 * creates the backend; call from main() after g_test_init. */
void vkt_setup_adjusted (void (*adjust) (TsVkOptions *options));
void vkt_setup (void);
void vkt_teardown (void);

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
void vkt_check_validation (void);

/* Runs the test function, then checks validation: wraps every test of the program. */
void vkt_run (gconstpointer test);

#define VKT_ADD(path, fn) g_test_add_data_func (path, (gconstpointer) (fn), vkt_run)
