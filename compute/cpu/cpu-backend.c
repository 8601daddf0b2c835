/* cpu-backend.c — the CPU backend: host memory, and run_op dispatching to the cpu-*.c
 * kernels. All threading is OpenMP; OpenBLAS's sgemm runs single-threaded on per-thread
 * tiles (see cpu-util.h for why). */
#include "cpu-attention.h"
#include "cpu-precision.h"
#include "ts-process.h"

#include <cblas.h>
#include <cpuid.h>
#include <omp.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

typedef struct {
  TsStorage      base;
  void          *data;
  size_t         capacity; /* of the pool block */
  gboolean       wrapped;  /* caller's memory (a mapped file): never freed here */
  GDestroyNotify release; /* how to give wrapped memory back, or NULL */
  gpointer       owner;
  GSList        *weights;  /* WeightPrecision*: tensors here to multiply at reduced precision */
} TsCpuStorage;

/* A weight's wish for a reduced precision, and its packed form once a product needed it. */
typedef struct {
  size_t       offset;     /* of the tensor in the storage */
  TsPrecision  precision;
  TsCpuPacked *packed;     /* NULL until first used */
  gboolean     file_pages; /* the tensor is a file's mapping: give its pages back once packed */
} WeightPrecision;

/* Packing happens once per weight, whichever thread first multiplies by it. */
static GMutex pack_lock;

static void
weight_precision_free (gpointer data)
{
  WeightPrecision *wp = data;
  ts_cpu_packed_free (wp->packed);
  g_free (wp);
}

typedef struct {
  TsBackend  base;
  int        n_threads;
  TsCpuPool *pool;
} TsCpuBackend;

void *
ts_cpu_tensor_data (const TsTensor *t)
{
  return (char *) ((TsCpuStorage *) t->storage)->data + t->offset;
}

int
ts_cpu_backend_threads (TsBackend *be)
{
  return ((TsCpuBackend *) be)->n_threads;
}

void *
ts_cpu_pooled_scratch_new (TsBackend *be, size_t bytes, size_t *capacity, const char *what,
                           GError **error)
{
  void *data = ts_cpu_pool_alloc (((TsCpuBackend *) be)->pool, bytes, capacity);
  if (!data)
    g_set_error (error, TS_ERROR, TS_ERROR_OUT_OF_MEMORY,
                 "out of memory allocating %.1f MiB of scratch for %s",
                 bytes / (1024.0 * 1024.0), what);
  return data;
}

void
ts_cpu_pooled_scratch_free (TsBackend *be, void *data, size_t capacity)
{
  if (data)
    ts_cpu_pool_release (((TsCpuBackend *) be)->pool, data, capacity);
}

static TsStorage *
cpu_storage_new (TsBackend *be, size_t bytes, GError **error)
{
  TsCpuStorage *s = g_try_new0 (TsCpuStorage, 1);
  void *data = s ? ts_cpu_pool_alloc (((TsCpuBackend *) be)->pool, bytes, &s->capacity) : NULL;
  if (!data) {
    g_free (s);
    g_set_error (error, TS_ERROR, TS_ERROR_OUT_OF_MEMORY,
                 "out of memory allocating a tensor of %.1f MiB", bytes / (1024.0 * 1024.0));
    return NULL;
  }
  s->data = data;
  return &s->base;
}

static void
cpu_storage_free (TsBackend *be, TsStorage *storage)
{
  TsCpuStorage *s = (TsCpuStorage *) storage;
  g_slist_free_full (s->weights, weight_precision_free);
  if (!s->wrapped)
    ts_cpu_pool_release (((TsCpuBackend *) be)->pool, s->data, s->capacity);
  else if (s->release)
    s->release (s->owner);
  g_free (s);
}

static TsStorage *
cpu_storage_wrap (TsBackend *be, const void *data, size_t bytes, GDestroyNotify release,
                  gpointer owner, GError **error)
{
  TsCpuStorage *s = g_try_new0 (TsCpuStorage, 1);
  if (!s) {
    g_set_error (error, TS_ERROR, TS_ERROR_OUT_OF_MEMORY, "out of memory wrapping %zu bytes", bytes);
    return NULL;
  }
  s->data = (void *) data;
  s->wrapped = TRUE;
  s->release = release;
  s->owner = owner;
  return &s->base;
}

static gboolean
cpu_storage_write (TsBackend *be, TsStorage *storage, size_t offset, const void *src, size_t n,
                   GError **error)
{
  memcpy ((char *) ((TsCpuStorage *) storage)->data + offset, src, n);
  return TRUE;
}

static gboolean
cpu_storage_read (TsBackend *be, TsStorage *storage, size_t offset, void *dst, size_t n,
                  GError **error)
{
  memcpy (dst, (const char *) ((TsCpuStorage *) storage)->data + offset, n);
  return TRUE;
}

static gboolean
cpu_sync (TsBackend *be, GError **error)
{
  return TRUE; /* every op has finished when run_op returns */
}

/* clang before 16 knows no "f16c" for __builtin_cpu_supports: ask CPUID (leaf 1, ECX). */
static gboolean
cpu_has_f16c (void)
{
  unsigned int a, b, c, d;
  return __get_cpuid (1, &a, &b, &c, &d) && (c & bit_F16C);
}

static char *
cpu_describe (TsBackend *be)
{
  GString *s = g_string_new ("CPU backend\n");
  g_string_append_printf (s, "  threads: %d (of %d cores)\n", ts_cpu_backend_threads (be),
                          omp_get_num_procs ());
  g_string_append_printf (s, "  OpenBLAS: %s\n", openblas_get_config ());
  g_string_append_printf (s, "  memory budget: %.1f GiB\n",
                          ts_backend_get_memory_budget (be) / 1073741824.0);
  g_string_append (s, "  CPU features:");
  __builtin_cpu_init ();
  static const char *const features[] = { "sse4.2", "avx", "avx2", "fma", "f16c", "avx512f" };
  /* __builtin_cpu_supports needs literal names, hence the unrolled checks */
  gboolean have[G_N_ELEMENTS (features)] = {
    __builtin_cpu_supports ("sse4.2"), __builtin_cpu_supports ("avx"),
    __builtin_cpu_supports ("avx2"), __builtin_cpu_supports ("fma"),
    cpu_has_f16c (), __builtin_cpu_supports ("avx512f"),
  };
  for (guint i = 0; i < G_N_ELEMENTS (features); i++)
    if (have[i])
      g_string_append_printf (s, " %s", features[i]);
  g_string_append (s, "\n  compiled for:");
#if defined(__AVX512F__)
  g_string_append (s, " avx512f");
#endif
#if defined(__AVX2__)
  g_string_append (s, " avx2");
#endif
#if defined(__FMA__)
  g_string_append (s, " fma");
#endif
#if defined(__F16C__)
  g_string_append (s, " f16c");
#endif
  g_string_append (s, " generic\n");
  g_string_append (s, "  reduced-precision CPU features:");
  if (ts_cpu_has_avx512_bf16 ())
    g_string_append (s, " avx512_bf16");
  if (ts_cpu_has_avx512_vnni ())
    g_string_append (s, " avx512_vnni");
  if (ts_cpu_has_avx_vnni ())
    g_string_append (s, " avx_vnni");
  if (!ts_cpu_has_avx512_bf16 () && !ts_cpu_has_avx512_vnni () && !ts_cpu_has_avx_vnni ())
    g_string_append (s, " none");
  g_string_append_printf (s, "\n  bf16 kernels: %s\n  int8 kernels: %s\n  attention: %s\n",
                          ts_cpu_bf16_kernel_name (), ts_cpu_int8_kernel_name (),
                          ts_cpu_attention_kernel_name ());
  /* An OpenBLAS older than the CPU takes its generic kernels (ts-process.h); the CLI and the
   * editor run again with the better core type, other programs are told what to set. */
  const char *core = openblas_get_corename ();
  const char *advice = ts_process_blas_coretype_advice ();
  const char *set = g_getenv ("OPENBLAS_CORETYPE");
  g_string_append_printf (s, "  OpenBLAS kernels: %s%s%s%s\n", core ? core : "unknown",
                          set ? " (OPENBLAS_CORETYPE=" : "", set ? set : "", set ? ")" : "");
  if (advice)
    g_string_append_printf (s, "  warning: OpenBLAS runs its %s kernels, below what this CPU "
                            "has; start with OPENBLAS_CORETYPE=%s for a faster sgemm (2-4x "
                            "measured)\n", core, advice);
  return g_string_free (s, FALSE);
}

static gboolean
cpu_begin_op (TsBackend *be, const TsOp *op, GError **error)
{
  /* sgemm runs inside our OpenMP teams (see cpu-util.h): OpenBLAS must not start its own
   * threads, whatever else in the process may have asked of it */
  if (openblas_get_num_threads () != 1)
    openblas_set_num_threads (1);
  return TRUE;
}

static const TsOpKernel cpu_kernels[TS_OP_COUNT] = {
  [TS_OP_MATMUL] = ts_cpu_op_matmul,
  [TS_OP_ADD] = ts_cpu_op_elementwise,
  [TS_OP_MUL] = ts_cpu_op_elementwise,
  [TS_OP_SCALE] = ts_cpu_op_elementwise,
  [TS_OP_SILU] = ts_cpu_op_elementwise,
  [TS_OP_GELU] = ts_cpu_op_elementwise,
  [TS_OP_QUICK_GELU] = ts_cpu_op_elementwise,
  [TS_OP_GEGLU] = ts_cpu_op_elementwise,
  [TS_OP_SOFTMAX] = ts_cpu_op_norm,
  [TS_OP_LAYER_NORM] = ts_cpu_op_norm,
  [TS_OP_RMS_NORM] = ts_cpu_op_norm,
  [TS_OP_GROUP_NORM] = ts_cpu_op_norm,
  [TS_OP_GRN] = ts_cpu_op_norm,
  [TS_OP_ATTENTION] = ts_cpu_op_attention,
  [TS_OP_CONV2D] = ts_cpu_op_conv,
  [TS_OP_CONV_TRANSPOSE_2X2] = ts_cpu_op_conv,
  [TS_OP_UPSAMPLE_NEAREST_2X] = ts_cpu_op_layout,
  [TS_OP_EMBEDDING] = ts_cpu_op_layout,
  [TS_OP_COPY] = ts_cpu_op_layout,
  [TS_OP_FILL] = ts_cpu_op_layout,
  [TS_OP_NEAREST_CODE] = ts_cpu_op_nearest_code,
};

static void
cpu_destroy (TsBackend *be)
{
  ts_backend_finalize_base (be);
  ts_cpu_pool_free (((TsCpuBackend *) be)->pool);
  g_free (be);
}

static void
cpu_trim (TsBackend *be)
{
  ts_cpu_pool_trim (((TsCpuBackend *) be)->pool);
}

static const TsBackendClass cpu_class;

void
ts_cpu_weight_set_precision (TsTensor *t, TsPrecision precision)
{
  ts_cpu_weight_set_precision_full (t, precision, FALSE);
}

void
ts_cpu_weight_set_precision_full (TsTensor *t, TsPrecision precision, gboolean file_pages)
{
  if (!t || t->backend->klass != &cpu_class)
    return;
  TsCpuStorage *s = (TsCpuStorage *) t->storage;
  g_mutex_lock (&pack_lock);
  WeightPrecision *wp = NULL;
  for (GSList *l = s->weights; l && !wp; l = l->next)
    if (((WeightPrecision *) l->data)->offset == t->offset)
      wp = l->data;
  if (precision == TS_PRECISION_F32) {
    s->weights = g_slist_remove (s->weights, wp);
    if (wp)
      weight_precision_free (wp);
    g_mutex_unlock (&pack_lock);
    return;
  }
  if (!wp) {
    wp = g_new0 (WeightPrecision, 1);
    wp->offset = t->offset;
    s->weights = g_slist_prepend (s->weights, wp);
  }
  if (wp->precision != precision)
    g_clear_pointer (&wp->packed, ts_cpu_packed_free);
  wp->precision = precision;
  wp->file_pages = file_pages && s->wrapped;
  g_mutex_unlock (&pack_lock);
}

/* The whole pages of [data, data + bytes), a read-only private file mapping, out of this
 * process's memory: the next read maps them again from the file (or its page cache). Pages
 * shared with neighbouring tensors stay. Advice only: failure changes nothing. */
static void
give_back_pages (const void *data, size_t bytes)
{
  uintptr_t page = (uintptr_t) sysconf (_SC_PAGESIZE);
  uintptr_t begin = ((uintptr_t) data + page - 1) / page * page;
  uintptr_t end = ((uintptr_t) data + bytes) / page * page;
  if (end > begin)
    madvise ((void *) begin, end - begin, MADV_DONTNEED);
}

/* The kernel's rows [n, cg, area] as f32 [n, area, cg] (taps-major), or NULL. */
static float *
taps_major_copy (const TsTensor *b, int64_t n, int64_t cg, int64_t area, GError **error)
{
  int64_t k = cg * area;
  float *out = ts_cpu_scratch_new (sizeof (float) * n * k, "conv kernel reordering", error);
  float *row = out ? ts_cpu_scratch_new (sizeof (float) * k, "conv kernel reordering", error) : NULL;
  if (!row) {
    free (out);
    return NULL;
  }
  const char *src = ts_cpu_tensor_data (b);
  size_t es = ts_dtype_size (b->dtype);
  for (int64_t o = 0; o < n; o++) {
    ts_cpu_to_f32 (src + (size_t) (o * k) * es, b->dtype, row, (size_t) k);
    for (int64_t c = 0; c < cg; c++)
      for (int64_t t = 0; t < area; t++)
        out[o * k + t * cg + c] = row[c * area + t];
  }
  free (row);
  return out;
}

static const TsCpuPacked *
weight_packed (TsBackend *be, const TsTensor *b, int64_t n, int64_t k, int64_t area,
               int64_t groups, gboolean *failed, GError **error)
{
  TsCpuStorage *s = (TsCpuStorage *) b->storage;
  *failed = FALSE;
  if (!s->weights || !ts_dtype_is_float (b->dtype))
    return NULL;
  g_mutex_lock (&pack_lock);
  WeightPrecision *wp = NULL;
  for (GSList *l = s->weights; l && !wp; l = l->next)
    if (((WeightPrecision *) l->data)->offset == b->offset)
      wp = l->data;
  gboolean major = wp && area > 1 && k % area == 0 &&
                   ts_cpu_conv_taps_major (wp->precision, k / area, groups);
  /* packed in the other order (the kernels chosen since changed: tests) */
  if (wp && wp->packed && wp->packed->area != (major ? area : 0))
    g_clear_pointer (&wp->packed, ts_cpu_packed_free);
  if (wp && !wp->packed && ts_tensor_numel (b) == n * k && groups >= 1 && n % groups == 0) {
    if (major) {
      float *reordered = taps_major_copy (b, n, k / area, area, error);
      wp->packed = reordered ? ts_cpu_pack (be, reordered, TS_DTYPE_F32, n, k, groups,
                                            wp->precision, error) : NULL;
      if (wp->packed)
        wp->packed->area = area;
      free (reordered);
    } else {
      wp->packed = ts_cpu_pack (be, ts_cpu_tensor_data (b), b->dtype, n, k, groups,
                                wp->precision, error);
    }
    *failed = wp->packed == NULL;
    if (wp->packed && wp->file_pages)
      give_back_pages (ts_cpu_tensor_data (b), (size_t) ts_tensor_numel (b) *
                                                 ts_dtype_size (b->dtype));
  }
  const TsCpuPacked *p = wp && wp->packed && wp->packed->n == n && wp->packed->k == k &&
                         wp->packed->groups == groups &&
                         wp->packed->area == (major ? area : 0) ? wp->packed : NULL;
  g_mutex_unlock (&pack_lock);
  return p;
}

const TsCpuPacked *
ts_cpu_weight_packed (TsBackend *be, const TsTensor *b, int64_t n, int64_t k, int64_t groups,
                      gboolean *failed, GError **error)
{
  return weight_packed (be, b, n, k, 1, groups, failed, error);
}

const TsCpuPacked *
ts_cpu_conv_weight_packed (TsBackend *be, const TsTensor *b, int64_t n, int64_t k, int64_t area,
                           int64_t groups, gboolean *failed, GError **error)
{
  return weight_packed (be, b, n, k, area, groups, failed, error);
}

/* Packs now what the weight's first product would pack (a no-op for weights with no
 * precision asked); a convolution that will take the direct loops has nothing to pack. A
 * 1×1 kernel counts as pointwise (the only 1×1 convolutions the networks have). */
static gboolean
cpu_prepare_weight (TsBackend *be, const TsTensor *w, int64_t n, int64_t k, int64_t area,
                    int64_t groups, GError **error)
{
  if (area > 1 && ts_cpu_conv_direct (k, n / groups, FALSE))
    return TRUE;
  gboolean failed;
  weight_packed (be, w, n, k, area, groups, &failed, error);
  return !failed;
}

static const TsBackendClass cpu_class = {
  .name = "cpu",
  .destroy = cpu_destroy,
  .describe = cpu_describe,
  .storage_new = cpu_storage_new,
  .storage_free = cpu_storage_free,
  .storage_wrap = cpu_storage_wrap,
  .storage_write = cpu_storage_write,
  .storage_read = cpu_storage_read,
  .sync = cpu_sync,
  .kernels = cpu_kernels,
  .begin_op = cpu_begin_op,
  .trim = cpu_trim,
  .prepare_weight = cpu_prepare_weight,
};

TsBackend *
ts_cpu_backend_new (int n_threads, GError **error)
{
  int cores = omp_get_num_procs ();
  if (n_threads <= 0 || n_threads > cores)
    n_threads = cores;
  TsCpuBackend *cpu = g_new0 (TsCpuBackend, 1);
  ts_backend_init_base (&cpu->base, &cpu_class, TS_BACKEND_CPU);
  cpu->n_threads = n_threads;
  cpu->pool = ts_cpu_pool_new ();
  openblas_set_num_threads (1);
  return &cpu->base;
}
