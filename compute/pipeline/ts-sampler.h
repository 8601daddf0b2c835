/* ts-sampler.h — diffusers' AmusedScheduler, step for step, in float32 as upstream computes it.
 *
 * Logits come channels-last (one row of codebook logits per token, as ts_uvit_forward gives
 * them); token maps are int32. Random uniforms are passed in, so the caller decides where
 * they come from (the counter generator, or a golden's recorded tape). */
#pragma once

#include "../model/ts-model-config.h"

G_BEGIN_DECLS

typedef struct {
  int               n_steps;
  float            *temperatures;  /* [n_steps] */
  TsMaskingSchedule schedule;
  int               mask_id;
  int               codebook_size;
} TsSchedule;

/* set_timesteps: temperatures = linspace(t0, t1, n) as torch computes it in float32. */
TsSchedule *ts_schedule_new (int n_steps, float t0, float t1, TsMaskingSchedule schedule,
                             int mask_id, int codebook_size);
void        ts_schedule_free (TsSchedule *s);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TsSchedule, ts_schedule_free)

/* torch.linspace (start, end, n) in float32. */
void  ts_linspace_f32 (float start, float end, int n, float *out);
/* The masking ratio after step index k: cos(((k+1)/n)·π/2) or 1 − (k+1)/n, float32. */
float ts_schedule_mask_ratio (const TsSchedule *s, int step_index);
/* The timestep of step index k (timesteps = [n−1, …, 0]). */
static inline int ts_schedule_timestep (const TsSchedule *s, int k) { return s->n_steps - 1 - k; }

/* add_noise: token i becomes mask_id iff uniform[i] < mask_ratio(step_index). In place. */
void  ts_schedule_add_noise (const TsSchedule *s, int step_index, int32_t *tokens,
                             const float *uniform, int64_t n);

/* What one step computed for one row (for tests; any pointer may be NULL). */
typedef struct {
  int32_t *pred;        /* [L] pred_original_sample */
  float   *confidence;  /* [L] (unset on the last step) */
  float   *probs;       /* [L] selected_probs (FLT_MAX for known tokens) */
  float   *mask_len;    /* [1] (unset on the last step) */
  guint8  *masking;     /* [L] (unset on the last step) */
} TsStepDetail;

/* One scheduler step for one row of L tokens: logits [L, K] (after guidance), sample_in [L],
 * multinomial [L] and gumbel [L] uniforms (gumbel unused at timestep 0) → prev [L].
 * starting_mask_ratio is 1 except for inpainting. */
void ts_schedule_step_row (const TsSchedule *s, int step_index, const float *logits,
                           const int32_t *sample_in, int64_t L, float starting_mask_ratio,
                           const float *multinomial, const float *gumbel, int32_t *prev,
                           TsStepDetail *detail);

/* Categorical draw as the replay contract defines it: the first k with
 * cdf[k] > u·cdf[K−1], cdf accumulated in double over float32 probs (clamped to K−1). */
int   ts_sample_categorical (const float *probs, int K, float u);

G_END_DECLS
