/* fake-backend.c — see fake-backend.h. It implements the backend contract of
 * compute/ts-backend-private.h, which is why a test includes that header. */
#include "fake-backend.h"
#include "ts-backend-private.h"

#include <string.h>

typedef struct {
  TsStorage      base;
  void          *data;
  gboolean       wrapped;
  GDestroyNotify release;
  gpointer       owner;
} FakeStorage;

typedef struct {
  TsBackend        base;
  FakeBackendStats stats;
} FakeBackend;

static void
fake_destroy (TsBackend *be)
{
  ts_backend_finalize_base (be);
  g_free (be);
}

static TsStorage *
fake_storage_new (TsBackend *be, size_t bytes, GError **error)
{
  FakeStorage *s = g_new0 (FakeStorage, 1);
  s->data = g_malloc0 (bytes ? bytes : 1);
  ((FakeBackend *) be)->stats.n_new++;
  ((FakeBackend *) be)->stats.n_live++;
  return &s->base;
}

static TsStorage *
fake_storage_wrap (TsBackend *be, const void *data, size_t bytes, GDestroyNotify release,
                   gpointer owner, GError **error)
{
  FakeStorage *s = g_new0 (FakeStorage, 1);
  s->data = (void *) data;
  s->wrapped = TRUE;
  s->release = release;
  s->owner = owner;
  ((FakeBackend *) be)->stats.n_wrapped++;
  ((FakeBackend *) be)->stats.n_live++;
  return &s->base;
}

static void
fake_storage_free (TsBackend *be, TsStorage *storage)
{
  FakeStorage *s = (FakeStorage *) storage;
  if (!s->wrapped) {
    g_free (s->data);
  } else if (s->release) {
    s->release (s->owner);
    ((FakeBackend *) be)->stats.n_released++;
  }
  ((FakeBackend *) be)->stats.n_live--;
  g_free (s);
}

static gboolean
fake_storage_write (TsBackend *be, TsStorage *s, size_t offset, const void *src, size_t n,
                    GError **error)
{
  memcpy ((char *) ((FakeStorage *) s)->data + offset, src, n);
  return TRUE;
}

static gboolean
fake_storage_read (TsBackend *be, TsStorage *s, size_t offset, void *dst, size_t n,
                   GError **error)
{
  memcpy (dst, (const char *) ((FakeStorage *) s)->data + offset, n);
  return TRUE;
}

static gboolean
fake_sync (TsBackend *be, GError **error)
{
  return TRUE;
}

static char *
fake_describe (TsBackend *be)
{
  return g_strdup ("fake test backend");
}

static const TsBackendClass fake_wrap_class = {
  .name = "fake",
  .destroy = fake_destroy,
  .describe = fake_describe,
  .storage_new = fake_storage_new,
  .storage_free = fake_storage_free,
  .storage_wrap = fake_storage_wrap,
  .storage_write = fake_storage_write,
  .storage_read = fake_storage_read,
  .sync = fake_sync,
  .kernels = NULL, /* runs no ops */
};

static const TsBackendClass fake_copy_class = {
  .name = "fake-copy",
  .destroy = fake_destroy,
  .describe = fake_describe,
  .storage_new = fake_storage_new,
  .storage_free = fake_storage_free,
  .storage_wrap = NULL,
  .storage_write = fake_storage_write,
  .storage_read = fake_storage_read,
  .sync = fake_sync,
  .kernels = NULL, /* runs no ops */
};

TsBackend *
fake_backend_new (gboolean can_wrap)
{
  FakeBackend *be = g_new0 (FakeBackend, 1);
  ts_backend_init_base (&be->base, can_wrap ? &fake_wrap_class : &fake_copy_class,
                        TS_BACKEND_CPU);
  return &be->base;
}

FakeBackendStats *
fake_backend_stats (TsBackend *be)
{
  return &((FakeBackend *) be)->stats;
}

const void *
fake_backend_data (const TsTensor *t)
{
  return (const char *) ((FakeStorage *) t->storage)->data + t->offset;
}
