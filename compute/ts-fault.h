/* ts-fault.h — fault injection, so tests can prove what a user sees when memory runs out or
 * the GPU is lost or the disk is full, without needing any of it to happen.
 *
 * TESSERA_FAULT=kind:N[+][,kind:N[+]…] — the N-th event of that kind (counted from 1, from
 * process start or the last ts_fault_configure) fails; with "+" it and every later one fail.
 * Kinds:
 *   alloc        tensor storage on any backend: TS_ERROR_OUT_OF_MEMORY, as if the host or
 *                the device were full
 *   vk-alloc     Vulkan buffer memory: the driver's VK_ERROR_OUT_OF_DEVICE_MEMORY path
 *   device-lost  Vulkan command-buffer submits: VK_ERROR_DEVICE_LOST; the device is then
 *                lost for good, as after a GPU reset
 *   write        ts_atomic_file_write (saved projects, autosaves, safetensors files): half
 *                the data is written, then ENOSPC, as on a full disk; the old file stays */
#pragma once

#include "ts-types.h"

G_BEGIN_DECLS

typedef enum {
  TS_FAULT_ALLOC,
  TS_FAULT_VK_ALLOC,
  TS_FAULT_DEVICE_LOST,
  TS_FAULT_WRITE,
  TS_FAULT_N_KINDS
} TsFaultKind;

/* Replaces the fault plan with `spec` (TESSERA_FAULT's syntax; NULL or "" injects nothing)
 * and restarts every count. FALSE with TS_ERROR_INVALID_ARGUMENT when spec is malformed
 * (the plan is then empty). Not thread-safe: call it while no backend is working. */
gboolean ts_fault_configure (const char *spec, GError **error);

/* Counts one event of `kind` and says whether it must fail. The plan comes from
 * TESSERA_FAULT on first use (a malformed value is reported once on stderr and ignored). */
gboolean ts_fault_hit (TsFaultKind kind);

G_END_DECLS
