/* vk-split.h — cutting an op's work into pieces whose tensors each fit one storage-buffer
 * binding (maxStorageBufferRange, 128 MiB on lavapipe) and whose element counts fit 32-bit
 * shader indices. Every op file uses it; the one rule for what fits is ts_vk_span_fits.
 *
 * Two ways to cut, on the same spans:
 * - the box walker (TsVkSplit) for ops whose output elements are independent (elementwise,
 *   copies): a 4-D index space shared by several tensors, cut as little as possible;
 * - for ops with their own structure (GEMM chunks, attention batches, codebook slices) the
 *   op describes each operand's piece as a span, checks it with ts_vk_span_fits and halves
 *   its chunk lengths (ts_vk_halve) until everything fits. */
#pragma once

#include "vk-runtime.h"

G_BEGIN_DECLS

/* ---- spans: the region of one tensor that one binding must cover ---- */

/* Elements lo..hi (inclusive, counted from the tensor's first element) of t's storage. */
typedef struct {
  const TsTensor *t;
  int64_t         lo, hi;
} TsVkSpan;

/* Element index of position idx[0..ndim-1] in t, relative to its first element. */
int64_t  ts_vk_span_index (const TsTensor *t, const int64_t *idx);
/* The span covering the box start[i] .. start[i]+len[i]-1 of t (len[i] >= 1). */
TsVkSpan ts_vk_span_box (const TsTensor *t, const int64_t *start, const int64_t *len);
/* Whether a span of this size fits one binding wherever it starts (alignment included). */
gboolean ts_vk_span_fits (TsVkBackend *vk, const TsVkSpan *span);
/* Bind the span. 16-bit dtypes are bound in whole 32-bit words (shaders read them in
 * pairs); *elem_offset counts elements of the tensor's dtype from the binding start. */
gboolean ts_vk_span_bind (TsVkBackend *vk, const TsVkSpan *span, gboolean writes,
                          TsVkBinding *binding, uint32_t *elem_offset, GError **error);

/* Halve a chunk length (rounding up); FALSE when it is already 1. */
gboolean ts_vk_halve (int64_t *len);

/* How many consecutive items of `item_bytes` bytes one binding may hold (0 if not one),
 * at most `max_items`. */
int64_t  ts_vk_items_per_binding (TsVkBackend *vk, size_t item_bytes, int64_t max_items);

/* ---- the box walker ---- */

#define TS_VK_SPLIT_MAX_TENSORS 4
/* Elements per dispatch, so linear indices and workgroup grids stay small. */
#define TS_VK_MAX_BOX_ELEMENTS ((int64_t) 1 << 30)

/* A box of a 4-D index space: start[i] .. start[i] + count[i] − 1. */
typedef struct {
  int64_t start[4];
  int64_t count[4];
} TsVkBox;

/* Iterates boxes of a 4-D index space shared by several tensors (each addressed with its
 * own strides, 0 for broadcast dimensions). Leading dimensions are walked one index at a
 * time, one dimension in chunks, the rest whole: as few boxes as the limits allow. */
typedef struct {
  int64_t         shape[4];
  int64_t         stride[TS_VK_SPLIT_MAX_TENSORS][4];
  const TsTensor *t[TS_VK_SPLIT_MAX_TENSORS];
  int             n;
  int             depth;   /* the chunked dimension */
  int64_t         chunk;
  int64_t         pos[4];
  gboolean        done;
} TsVkSplit;

/* Tensors are right-aligned to 4 dimensions; each must have `ndim` dims of `shape` (or be
 * broadcast to it through zero strides). max_depth: the deepest dimension that may be cut
 * (3: any); beyond it the op fails with TS_ERROR_UNSUPPORTED. */
gboolean ts_vk_split_init (TsVkSplit *s, TsVkBackend *vk, int ndim, const int64_t *shape,
                           const TsTensor *const *tensors, int n, int max_depth, GError **error);
gboolean ts_vk_split_next (TsVkSplit *s, TsVkBox *box);
/* The span of tensor k that `box` covers. */
TsVkSpan ts_vk_split_span (const TsVkSplit *s, int k, const TsVkBox *box);
/* Bind tensor k over `box` (its span): *elem_offset is the box origin's element within
 * the binding and stride[] its element strides (0 where the box is one element wide). */
gboolean ts_vk_split_bind (TsVkSplit *s, TsVkBackend *vk, int k, const TsVkBox *box,
                           gboolean writes, TsVkBinding *binding, uint32_t *elem_offset,
                           uint32_t stride[4], GError **error);
int64_t  ts_vk_box_numel (const TsVkBox *box);

G_END_DECLS
