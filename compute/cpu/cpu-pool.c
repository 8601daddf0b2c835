/* cpu-pool.c — host memory for CPU tensors.
 *
 * Large blocks are kept when their tensor dies and handed out again. A fresh block of many
 * megabytes costs a page fault per 4 KiB on first touch, each zeroing its page: measured,
 * a 64 MiB copy into fresh memory ran 5× slower than into reused memory, and every op
 * writes a fresh output. New large blocks are 2 MiB aligned and advised for transparent
 * huge pages, which cuts the faults of the first use by 512×. */
#include "cpu-util.h"

#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#define POOLED_MIN (256u << 10) /* smaller blocks go straight to malloc, which reuses them;
                                   * above this glibc maps and unmaps per call (page faults) */
#define HUGE_PAGE (2u << 20)
#define CACHE_MAX ((size_t) 1 << 30)

typedef struct {
  void  *data;
  size_t capacity;
} Block;

struct _TsCpuPool {
  GMutex  lock;
  GArray *cached;       /* Block, oldest first */
  size_t  cached_bytes;
  size_t  limit;
};

TsCpuPool *
ts_cpu_pool_new (void)
{
  TsCpuPool *pool = g_new0 (TsCpuPool, 1);
  g_mutex_init (&pool->lock);
  pool->cached = g_array_new (FALSE, FALSE, sizeof (Block));
  /* at most 1 GiB and an eighth of the machine's memory sit unused in the cache */
  long pages = sysconf (_SC_PHYS_PAGES), page = sysconf (_SC_PAGESIZE);
  size_t ram = pages > 0 && page > 0 ? (size_t) pages * (size_t) page : CACHE_MAX;
  pool->limit = MIN (CACHE_MAX, ram / 8);
  return pool;
}

static void
drop_cached (TsCpuPool *pool, guint index)
{
  Block *b = &g_array_index (pool->cached, Block, index);
  free (b->data);
  pool->cached_bytes -= b->capacity;
  g_array_remove_index (pool->cached, index);
}

void
ts_cpu_pool_free (TsCpuPool *pool)
{
  while (pool->cached->len)
    drop_cached (pool, pool->cached->len - 1);
  g_array_unref (pool->cached);
  g_mutex_clear (&pool->lock);
  g_free (pool);
}

/* The smallest cached block that fits without wasting more than a quarter; -1 if none. */
static int
find_cached (TsCpuPool *pool, size_t capacity)
{
  int best = -1;
  for (guint i = 0; i < pool->cached->len; i++) {
    size_t c = g_array_index (pool->cached, Block, i).capacity;
    if (c >= capacity && c <= capacity + capacity / 4 &&
        (best < 0 || c < g_array_index (pool->cached, Block, best).capacity))
      best = (int) i;
  }
  return best;
}

void *
ts_cpu_pool_alloc (TsCpuPool *pool, size_t bytes, size_t *capacity)
{
  void *data = NULL;
  if (bytes < POOLED_MIN) {
    *capacity = bytes;
    return posix_memalign (&data, 64, bytes ? bytes : 64) == 0 ? data : NULL;
  }
  if (bytes > SIZE_MAX - HUGE_PAGE)
    return NULL;
  size_t cap = (bytes + HUGE_PAGE - 1) / HUGE_PAGE * HUGE_PAGE;
  *capacity = cap;

  g_mutex_lock (&pool->lock);
  int i = find_cached (pool, cap);
  if (i >= 0) {
    Block b = g_array_index (pool->cached, Block, i);
    g_array_remove_index (pool->cached, i);
    pool->cached_bytes -= b.capacity;
    *capacity = b.capacity;
    g_mutex_unlock (&pool->lock);
    return b.data;
  }
  g_mutex_unlock (&pool->lock);

  if (posix_memalign (&data, HUGE_PAGE, cap) != 0) {
    /* memory held in the cache may be what is missing: give it back and try once more */
    g_mutex_lock (&pool->lock);
    while (pool->cached->len)
      drop_cached (pool, 0);
    g_mutex_unlock (&pool->lock);
    if (posix_memalign (&data, HUGE_PAGE, cap) != 0)
      return NULL;
  }
#ifdef MADV_HUGEPAGE
  madvise (data, cap, MADV_HUGEPAGE); /* advice only: failure changes nothing */
#endif
  return data;
}

void
ts_cpu_pool_release (TsCpuPool *pool, void *data, size_t capacity)
{
  if (capacity < POOLED_MIN || capacity > pool->limit) {
    free (data);
    return;
  }
  g_mutex_lock (&pool->lock);
  while (pool->cached_bytes + capacity > pool->limit)
    drop_cached (pool, 0);
  Block b = { data, capacity };
  g_array_append_val (pool->cached, b);
  pool->cached_bytes += capacity;
  g_mutex_unlock (&pool->lock);
}
