/* ts-weight-specs.h — the weights each component must have, derived from its config by the
 * component's loader.
 *
 * Names and shapes follow the upstream PyTorch modules exactly (state_dict keys), e.g.
 * "transformer_layers.3.attn1.to_q.weight" [hidden, hidden]. */
#pragma once

#include "ts-model-config.h"

G_BEGIN_DECLS

typedef struct {
  char   *name;
  int     ndim;
  int64_t shape[4];
} TsWeightSpec;

/* An empty GPtrArray of TsWeightSpec* (freed with the array), and one spec. */
GPtrArray    *ts_weight_specs_new (void);
TsWeightSpec *ts_weight_spec_new (const char *name, int ndim, const int64_t *shape);

/* GPtrArray of TsWeightSpec* (freed with the array), in the order the network loads them.
 * Derived from the network loaders themselves (compute/nn: each loader run in collect mode,
 * see ts_nn_weights_new_collect), so a folder is checked against exactly what will be
 * loaded. The config must be valid (as parsing leaves it). */
GPtrArray *ts_uvit_weight_specs (const TsUVitConfig *c);
GPtrArray *ts_vq_weight_specs (const TsVQConfig *c);
GPtrArray *ts_clip_text_weight_specs (const TsClipTextConfig *c);

/* Total number of parameters (G_MAXINT64 if that overflows). */
int64_t ts_weight_specs_numel (const GPtrArray *specs);
/* "[768,1024]" — newly allocated. */
char   *ts_weight_spec_describe_shape (int ndim, const int64_t *shape);

G_END_DECLS
