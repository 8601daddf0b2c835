/* ts-weights.h — the weight files of one model component (a single .safetensors file, its
 * fp16 variant, or shards listed by an index), looked up by tensor name and checked against
 * the names and shapes the component's config calls for. */
#pragma once

#include "ts-safetensors.h"
#include "ts-weight-specs.h"

G_BEGIN_DECLS

typedef struct _TsWeights TsWeights;

/* Opens `dir`/`base`.safetensors (e.g. base "diffusion_pytorch_model" or "model").
 * variant NULL: the full-precision file if present, else the "fp16" variant
 * (`base`.fp16.safetensors); otherwise exactly that variant. Sharded weights
 * (`base`.safetensors.index.json, or `base`.safetensors.index.<variant>.json) are followed.
 * `label` names the component in errors ("transformer"). */
TsWeights *ts_weights_open (const char *dir, const char *base, const char *variant,
                            const char *label, GError **error);
/* Weights over already opened files (tensor names must be unique across them). */
TsWeights *ts_weights_new (TsSafetensors *const *files, guint n_files, const char *label,
                           GError **error);
void       ts_weights_free (TsWeights *w);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TsWeights, ts_weights_free)

guint          ts_weights_n_files (const TsWeights *w);
TsSafetensors *ts_weights_file (const TsWeights *w, guint index);
/* The variant that was opened: NULL for full precision, else e.g. "fp16". */
const char    *ts_weights_variant (const TsWeights *w);
guint          ts_weights_n_tensors (const TsWeights *w);
guint64        ts_weights_total_bytes (const TsWeights *w);

/* NULL when absent; *file (may be NULL) receives the file holding it. */
const TsSafetensorsTensor *ts_weights_lookup (const TsWeights *w, const char *name,
                                              TsSafetensors **file);
/* A backend tensor (see ts_safetensors_load); dtype TS_DTYPE_COUNT keeps the stored type. */
TsTensor *ts_weights_load (TsWeights *w, const char *name, TsBackend *backend, TsDType dtype,
                           GError **error);

/* The precision the matrices loaded from now on are multiplied at (default f32, exact). On
 * the CPU backend a bf16/int8 weight is converted once, when a product first uses it
 * (docs/cpu-precision.md); other backends ignore it. */
void        ts_weights_set_precision (TsWeights *w, TsPrecision precision);
TsPrecision ts_weights_precision (const TsWeights *w);
/* The pages of the files that are mapped out of this process's memory: tensors loaded from
 * them stay valid and map them again from the file when next read (ts_safetensors_release_pages). */
void        ts_weights_release_pages (TsWeights *w);

/* Checks that every spec exists with that shape and a float dtype, and that nothing else is
 * there except names in `ignored` (NULL-terminated, may be NULL). On failure the error lists
 * the missing, unexpected and mis-shaped weights by name. */
gboolean ts_weights_check (const TsWeights *w, const GPtrArray *specs,
                           const char *const *ignored, GError **error);

G_END_DECLS
