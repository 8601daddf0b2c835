/* cpu-pool.c — host memory for CPU tensors.
 *
 * Large blocks are kept when their tensor dies and handed out again. A fresh block of many
 * megabytes costs a page fault per 4 KiB on first touch, each zeroing its page: measured,
 * a 64 MiB copy into fresh memory ran 5× slower than into reused memory, and every op
 * writes a fresh output. Fresh blocks are plain 4 KiB pages, not transparent huge pages:
 * with THP advised, the first touch of each 2 MiB ran the kernel's compaction and clearing
 * synchronously (Debian's default defrag setting, "madvise"), and the VQ decode, whose
 * large tensors are fresh, ran 20–27 % slower (measured session 12: aMUSEd-512 int8 decode
 * 3.1 s against 4.3 s, 256² 0.75 against 0.95–1.05 s; the transformer, whose blocks the
 * pool reuses, was no faster with huge pages).
 *
 * The cache must not raise the process's peak memory (issue 4: peak RSS ≤ 1.2 × the
 * weights with f32 weights). When a request misses, the oldest cached blocks are returned
 * to the system until the new block fits within the most memory ever in use at once, so
 * memory held (in use + cached) never exceeds that peak: a cache of blocks whose sizes no
 * longer come up (the transformer's, during the VQ decode) makes way instead of adding to
 * it (ts_cpu_pool_trim restarts that peak). Measured before: the whole amused-256 pipeline
 * peaked at 1.20 × its weights with 230 MiB of tensors alive at most, 390 MiB more cached
 * or kept by malloc; after, 1.07. A transformer step repeats the last one's sizes, so it
 * still reuses nearly every block.
 * Blocks are mapped and unmapped here rather than taken from malloc, whose heap keeps
 * freed memory once glibc has raised its mmap threshold past a freed block's size. */
#include "cpu-util.h"

#include <stdint.h>
#include <stdlib.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <sys/mman.h>
#include <unistd.h>

#define POOLED_MIN (256u << 10) /* smaller blocks go straight to malloc, which reuses them */
#define UNIT (2u << 20) /* blocks are whole units, so that tensors of similar sizes share them */
#define CACHE_MAX ((size_t) 256 << 20)

typedef struct {
  void  *data;
  size_t capacity;
} Block;

struct _TsCpuPool {
  GMutex  lock;
  GArray *cached;       /* Block, oldest first */
  size_t  cached_bytes;
  size_t  limit;        /* the most bytes kept idle */
  size_t  live;         /* bytes of pooled blocks in use */
  size_t  live_peak;    /* the most ever in use at once */
};

TsCpuPool *
ts_cpu_pool_new (void)
{
  TsCpuPool *pool = g_new0 (TsCpuPool, 1);
  g_mutex_init (&pool->lock);
  pool->cached = g_array_new (FALSE, FALSE, sizeof (Block));
  /* at most 256 MiB and an eighth of the machine's memory sit unused in the cache (an
   * idle editor keeps no more): enough for a transformer step's tensors */
  long pages = sysconf (_SC_PHYS_PAGES), page = sysconf (_SC_PAGESIZE);
  size_t ram = pages > 0 && page > 0 ? (size_t) pages * (size_t) page : CACHE_MAX;
  pool->limit = MIN (CACHE_MAX, ram / 8);
  return pool;
}

/* A fresh mapping of `cap` bytes, or NULL. */
static void *
map_block (size_t cap, int prot, int flags)
{
  void *p = mmap (NULL, cap, prot, flags, -1, 0);
  return p == MAP_FAILED ? NULL : p;
}

/* A new block whose first `bytes` (what the tensor will write) are faulted in up front, in
 * one call: the pages are written anyway, and one page fault at a time cost more than the
 * writing (measured session 15, aMUSEd-256 VQ decode on one core, whose outputs are fresh
 * blocks: int8 2.0 -> 1.4-1.7 s, bf16 3.05 -> 2.65, f32 4.1 -> 3.75; a page fault is
 * dearer in a virtual machine). Only `bytes`: the rest of the last 2 MiB unit stays untouched
 * until a larger tensor reuses it (peak RSS +100 MB when the whole unit was populated).
 * Where the kernel predates MADV_POPULATE_WRITE (Linux 5.14) the pages fault as before. */
static void
populate (char *p, size_t from, size_t bytes)
{
#ifdef MADV_POPULATE_WRITE
  size_t page = (size_t) sysconf (_SC_PAGESIZE);
  from = from / page * page;
  if (bytes > from)
    (void) madvise (p + from, (bytes - from + page - 1) / page * page, MADV_POPULATE_WRITE);
#endif
}

static void *
fresh_block (size_t cap, size_t bytes)
{
  void *p = map_block (cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
  if (p)
    populate (p, 0, bytes);
  return p;
}

static void
drop_cached (TsCpuPool *pool, guint index)
{
  Block *b = &g_array_index (pool->cached, Block, index);
  munmap (b->data, b->capacity);
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

/* The smallest cached block that fits without wasting more than a quarter (when `larger`,
 * the smallest that holds `capacity` at all); -1 if none. */
static int
find_cached (TsCpuPool *pool, size_t capacity, gboolean larger)
{
  int best = -1;
  for (guint i = 0; i < pool->cached->len; i++) {
    size_t c = g_array_index (pool->cached, Block, i).capacity;
    if (c >= capacity && (larger || c <= capacity + capacity / 4) &&
        (best < 0 || c < g_array_index (pool->cached, Block, best).capacity))
      best = (int) i;
  }
  return best;
}

/* Under the lock: a new block of `cap` bytes that starts with pages of cached blocks, oldest
 * first, as many as the cache holds up to `cap` (*moved bytes; the rest is fresh), or NULL.
 * mremap moves page table entries: no copy, and the pages stay resident, so nothing is
 * faulted or zeroed again. Also when the cache holds less than `cap`: the VQ decode's
 * tensors outgrow the transformer's blocks, and mapping them fresh while those were given
 * back cost a fault per 4 KiB page of each (in a virtual machine with shadow page tables,
 * measured: 1.3 ms a MiB on first touch, even after MADV_POPULATE_WRITE; a moved page
 * 0.04 ms a MiB), about 0.25 s of an aMUSEd-256 decode. */
static void *
gather_cached (TsCpuPool *pool, size_t cap, size_t *moved)
{
  char *dst = map_block (cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
  if (!dst)
    return NULL;
  size_t done = 0;
  while (done < cap && pool->cached->len) {
    Block *b = &g_array_index (pool->cached, Block, 0);
    size_t n = MIN (b->capacity, cap - done);
    if (mremap (b->data, n, n, MREMAP_MAYMOVE | MREMAP_FIXED, dst + done) == MAP_FAILED)
      break;
    b->data = (char *) b->data + n;
    b->capacity -= n;
    pool->cached_bytes -= n;
    if (b->capacity == 0)
      g_array_remove_index (pool->cached, 0);
    done += n;
  }
  *moved = done; /* where the kernel refused a move, the block goes on with fresh pages */
  return dst;
}

/* Under the lock: a block for `cap` bytes made of cached pages (*warm of them; the rest, if
 * any, fresh), or NULL with an empty cache; either way the cache keeps only what leaves the
 * memory held (in use and cached) within the most ever in use at once. A larger block is split
 * rather than passed over, and smaller ones are gathered into one: with whole blocks only, a
 * step whose sizes came in another order than the last one's evicted the oldest blocks (the
 * ones the next step needed first) and mapped fresh ones: measured at aMUSEd-256 with int8
 * weights, 137 fresh blocks (608 MiB of pages zeroed) a transformer step; splitting alone left
 * 23. */
static void *
take_or_evict (TsCpuPool *pool, size_t cap, size_t *capacity, size_t *warm)
{
  *warm = cap;
  int i = find_cached (pool, cap, FALSE);
  if (i >= 0) {
    Block b = g_array_index (pool->cached, Block, i);
    g_array_remove_index (pool->cached, i);
    pool->cached_bytes -= b.capacity;
    *capacity = b.capacity;
    return b.data;
  }
  if ((i = find_cached (pool, cap, TRUE)) >= 0) {
    /* both are whole units of 2 MiB: the rest stays one, its pages already touched */
    Block *b = &g_array_index (pool->cached, Block, i);
    void *data = b->data;
    b->data = (char *) b->data + cap;
    b->capacity -= cap;
    pool->cached_bytes -= cap;
    *capacity = cap;
    return data;
  }
  void *data = pool->cached->len ? gather_cached (pool, cap, warm) : NULL;
  size_t bound = MAX (pool->live_peak, pool->live + cap);
  while (pool->cached->len && pool->live + pool->cached_bytes + cap > bound)
    drop_cached (pool, 0);
  if (data)
    *capacity = cap;
  return data;
}

void *
ts_cpu_pool_alloc (TsCpuPool *pool, size_t bytes, size_t *capacity)
{
  void *data = NULL;
  if (bytes < POOLED_MIN) {
    *capacity = bytes;
    return posix_memalign (&data, 64, bytes ? bytes : 64) == 0 ? data : NULL;
  }
  if (bytes > SIZE_MAX - 2 * UNIT)
    return NULL;
  /* whole units, so that tensors of similar sizes share blocks: measured, rounding
   * the blocks of tensors under 2 MiB to pages made each CLIP layer's mix of 0.5 and 1.8 MiB
   * tensors miss the cache and fault 18000 pages per text encode */
  size_t cap = (bytes + UNIT - 1) / UNIT * UNIT;
  *capacity = cap;

  size_t warm;
  g_mutex_lock (&pool->lock);
  data = take_or_evict (pool, cap, capacity, &warm);
  pool->live += *capacity; /* counted from here, so that other threads see it */
  pool->live_peak = MAX (pool->live_peak, pool->live);
  g_mutex_unlock (&pool->lock);
  if (data)
    populate (data, warm, bytes);
  if (!data && !(data = fresh_block (cap, bytes))) {
    /* memory held in the cache may be what is missing: give it back and try once more */
    g_mutex_lock (&pool->lock);
    while (pool->cached->len)
      drop_cached (pool, 0);
    g_mutex_unlock (&pool->lock);
    data = fresh_block (cap, bytes);
  }
  if (!data) {
    g_mutex_lock (&pool->lock);
    pool->live -= cap;
    g_mutex_unlock (&pool->lock);
  }
  return data;
}

void
ts_cpu_pool_trim (TsCpuPool *pool)
{
  g_mutex_lock (&pool->lock);
  while (pool->cached->len)
    drop_cached (pool, 0);
  pool->live_peak = pool->live;
  g_mutex_unlock (&pool->lock);
#ifdef __GLIBC__
  malloc_trim (0); /* the blocks under 256 KiB and the kernels' scratch come from malloc */
#endif
}

void
ts_cpu_pool_usage (TsCpuPool *pool, size_t *live, size_t *cached, size_t *live_peak)
{
  g_mutex_lock (&pool->lock);
  *live = pool->live;
  *cached = pool->cached_bytes;
  *live_peak = pool->live_peak;
  g_mutex_unlock (&pool->lock);
}

void
ts_cpu_pool_release (TsCpuPool *pool, void *data, size_t capacity)
{
  if (capacity < POOLED_MIN) {
    free (data);
    return;
  }
  g_mutex_lock (&pool->lock);
  pool->live -= capacity;
  if (capacity > pool->limit) {
    munmap (data, capacity);
    g_mutex_unlock (&pool->lock);
    return;
  }
  while (pool->cached_bytes + capacity > pool->limit)
    drop_cached (pool, 0);
  /* joined with cached blocks next to it in memory, so that split blocks (and mappings
   * the kernel placed side by side) serve large requests again */
  Block b = { data, capacity };
  for (guint i = 0; i < pool->cached->len;) {
    Block n = g_array_index (pool->cached, Block, i);
    if ((char *) n.data + n.capacity == (char *) b.data || (char *) b.data + b.capacity == (char *) n.data) {
      b.data = MIN (b.data, n.data);
      b.capacity += n.capacity;
      pool->cached_bytes -= n.capacity;
      g_array_remove_index (pool->cached, i);
      i = 0;
      continue;
    }
    i++;
  }
  g_array_append_val (pool->cached, b);
  pool->cached_bytes += b.capacity;
  g_mutex_unlock (&pool->lock);
}
