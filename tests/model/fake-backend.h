/* fake-backend.h — a host-memory backend for the model tests: it runs no ops, but it counts
 * how storages are made, so tests can tell a zero-copy load from a copied one, and it can
 * pretend to be a backend that must copy (no storage_wrap), as the Vulkan backend does. */
#pragma once

#include "ts-backend.h"

typedef struct {
  int n_new;      /* storages allocated (copies) */
  int n_wrapped;  /* storages over caller memory */
  int n_released; /* wrapped storages whose owner was released */
  int n_live;     /* storages not yet freed */
} FakeBackendStats;

/* can_wrap FALSE: no storage_wrap hook, every load copies. */
TsBackend        *fake_backend_new (gboolean can_wrap);
FakeBackendStats *fake_backend_stats (TsBackend *be);
/* The host address of a tensor's first element. */
const void       *fake_backend_data (const TsTensor *t);
