/* ts-sampler.c — AmusedScheduler.step and add_noise.
 *
 * Every intermediate that upstream keeps as a float32 tensor is a float here, and operations
 * happen in upstream's order; the cosine schedule in particular depends on it (step 7 of 12
 * gives 0.49999997, so floor(256·r) = 127, not 128). Built without FP contraction (C11). */
#include "ts-sampler.h"

#include <float.h>
#include <math.h>
#include <string.h>

TsSchedule *
ts_schedule_new (int n_steps, float t0, float t1, TsMaskingSchedule schedule, int mask_id,
                 int codebook_size)
{
  g_return_val_if_fail (n_steps >= 1, NULL);
  TsSchedule *s = g_new0 (TsSchedule, 1);
  s->n_steps = n_steps;
  s->temperatures = g_new (float, n_steps);
  ts_linspace_f32 (t0, t1, n_steps, s->temperatures);
  s->schedule = schedule;
  s->mask_id = mask_id;
  s->codebook_size = codebook_size;
  return s;
}

void
ts_schedule_free (TsSchedule *s)
{
  if (!s)
    return;
  g_free (s->temperatures);
  g_free (s);
}

/* torch's CPU kernel: step = (end − start)/(n − 1); the first half counts up from start, the
 * second half down from end, all in the output type. */
void
ts_linspace_f32 (float start, float end, int n, float *out)
{
  if (n == 1) {
    out[0] = start;
    return;
  }
  float step = (end - start) / (float) (n - 1);
  int halfway = n / 2;
  for (int i = 0; i < n; i++)
    out[i] = i < halfway ? start + step * (float) i : end - step * (float) (n - i - 1);
}

float
ts_schedule_mask_ratio (const TsSchedule *s, int step_index)
{
  /* (step_idx + 1) / len(timesteps): an integer tensor true-divided → float32. */
  float ratio = (float) (step_index + 1) / (float) s->n_steps;
  if (s->schedule == TS_MASKING_COSINE) {
    float a = ratio * (float) G_PI;
    a = a / 2.0f;
    return cosf (a);
  }
  return 1.0f - ratio;
}

void
ts_schedule_add_noise (const TsSchedule *s, int step_index, int32_t *tokens,
                       const float *uniform, int64_t n)
{
  float r = ts_schedule_mask_ratio (s, step_index);
  for (int64_t i = 0; i < n; i++)
    if (uniform[i] < r)
      tokens[i] = s->mask_id;
}

/* The draw, given total = Σ probs in double, summed in index order. */
static int
categorical_with_total (const float *probs, int K, float u, double total)
{
  double target = (double) u * total, cdf = 0;
  for (int k = 0; k < K; k++) {
    cdf += probs[k];
    if (cdf > target)
      return k;
  }
  return K - 1;
}

int
ts_sample_categorical (const float *probs, int K, float u)
{
  double total = 0;
  for (int k = 0; k < K; k++)
    total += probs[k];
  return categorical_with_total (probs, K, u, total);
}

/* softmax in float32: max, exp(x − max), sum, divide (torch's order); returns Σ p in double
 * in index order, what the categorical draw needs (one pass fewer over the codebook). */
static double
softmax_row (const float *x, int K, float *p)
{
  float m = -INFINITY;
  for (int k = 0; k < K; k++)
    m = x[k] > m ? x[k] : m;
  float sum = 0;
  for (int k = 0; k < K; k++) {
    p[k] = expf (x[k] - m);
    sum += p[k];
  }
  double total = 0;
  for (int k = 0; k < K; k++) {
    p[k] = p[k] / sum;
    total += p[k];
  }
  return total;
}

static int
compare_float (const void *a, const void *b)
{
  float x = *(const float *) a, y = *(const float *) b;
  return (x > y) - (x < y);
}

/* The mask length of a row: max(1, min(unknown − 1, floor(L·ratio))), float32 like upstream. */
static float
row_mask_len (const TsSchedule *s, int step_index, int64_t L, int64_t n_unknown,
              float starting_mask_ratio)
{
  float ratio = starting_mask_ratio * ts_schedule_mask_ratio (s, step_index);
  float len = floorf ((float) L * ratio);
  float cap = (float) (n_unknown - 1);
  len = cap < len ? cap : len;
  return len > 1.0f ? len : 1.0f;
}

void
ts_schedule_step_row (const TsSchedule *s, int step_index, const float *logits,
                      const int32_t *sample_in, int64_t L, float starting_mask_ratio,
                      const float *multinomial, const float *gumbel, int32_t *prev,
                      TsStepDetail *detail)
{
  const int K = s->codebook_size;
  g_autofree float *conf = g_new (float, L);
  g_autofree float *sorted = g_new (float, L);
  gboolean last = ts_schedule_timestep (s, step_index) == 0;
  float temperature = s->temperatures[step_index];
  int64_t n_unknown = 0;

  /* Positions are independent (a softmax over the codebook and one draw each), so they are
   * shared between threads with the same arithmetic per position: the result does not depend
   * on the thread count. One row at 256² is 256 softmaxes over 8,192 codes. */
#pragma omp parallel reduction(+ : n_unknown) if (L * (int64_t) K >= (1 << 18))
  {
    float *probs = g_new (float, K);
#pragma omp for schedule(static)
    for (int64_t i = 0; i < L; i++) {
      gboolean unknown = sample_in[i] == s->mask_id;
      n_unknown += unknown;
      float selected = FLT_MAX;
      int32_t pred = sample_in[i];
      if (unknown) {
        double total = softmax_row (logits + i * K, K, probs);
        pred = categorical_with_total (probs, K, multinomial[i], total);
        selected = probs[pred];
      }
      prev[i] = pred;
      if (detail && detail->pred)
        detail->pred[i] = pred;
      if (detail && detail->probs)
        detail->probs[i] = selected;
      if (!last) {
        float u = gumbel[i] > 1e-20f ? gumbel[i] : 1e-20f;
        float e = -logf (u);
        e = e > 1e-20f ? e : 1e-20f;
        float g = -logf (e);
        float p = selected > 1e-20f ? selected : 1e-20f;
        conf[i] = logf (p) + temperature * g;
      }
    }
    g_free (probs);
  }
  if (last)
    return;

  float mask_len = row_mask_len (s, step_index, L, n_unknown, starting_mask_ratio);
  int64_t cut_index = (int64_t) mask_len;
  if (cut_index > L - 1)
    cut_index = L - 1;
  memcpy (sorted, conf, L * sizeof (float));
  qsort (sorted, L, sizeof (float), compare_float);
  float cut_off = sorted[cut_index];
  for (int64_t i = 0; i < L; i++) {
    gboolean masked = conf[i] < cut_off;
    if (masked)
      prev[i] = s->mask_id;
    if (detail && detail->masking)
      detail->masking[i] = masked;
    if (detail && detail->confidence)
      detail->confidence[i] = conf[i];
  }
  if (detail && detail->mask_len)
    *detail->mask_len = mask_len;
}
