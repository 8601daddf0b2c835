/* ts-ops.c — the op front-end: validates arguments, brings inputs into the layout each
 * kernel expects, allocates the output, and hands the backend one TsOp. Backends only
 * compute; every check a user could trip lives here, once. */
#include "ts-backend-private.h"

#include <string.h>

#define FAIL(be, ...) \
  (ts_backend_set_error ((be), TS_ERROR, TS_ERROR_INVALID_ARGUMENT, __VA_ARGS__), NULL)

#define TS_OP_NAME_ROW(KIND, name, family, cost) [TS_OP_##KIND] = name,
static const char *const op_names[TS_OP_COUNT] = { TS_OP_LIST (TS_OP_NAME_ROW) };
#undef TS_OP_NAME_ROW
#define TS_OP_FAMILY_ROW(KIND, name, family, cost) [TS_OP_##KIND] = family,
static const TsOpFamily op_families[TS_OP_COUNT] = { TS_OP_LIST (TS_OP_FAMILY_ROW) };
#undef TS_OP_FAMILY_ROW
#define TS_OP_COST_ROW(KIND, name, family, cost) [TS_OP_##KIND] = cost,
static const TsOpCost op_costs[TS_OP_COUNT] = { TS_OP_LIST (TS_OP_COST_ROW) };
#undef TS_OP_COST_ROW

const char *
ts_op_name (TsOpKind kind)
{
  return (unsigned) kind < TS_OP_COUNT ? op_names[kind] : "invalid";
}

TsOpFamily
ts_op_family (TsOpKind kind)
{
  g_return_val_if_fail ((unsigned) kind < TS_OP_COUNT, TS_OP_FAMILY_ELEMENTWISE);
  return op_families[kind];
}

/* ---- work model (profiling, benchmarks) ---- */

double
ts_op_flops (const TsOp *op)
{
  const TsTensor *a = op->src[0], *b = op->src[1], *d = op->dst;
  switch (op_costs[op->kind]) {
  case TS_OP_COST_MATMUL: {
    double k = op->p.matmul.trans_a ? a->shape[1] : a->shape[2];
    return 2.0 * (double) ts_tensor_numel (d) * k;
  }
  case TS_OP_COST_ATTENTION: {
    double bh = (double) a->shape[0] * a->shape[2];
    double work = bh * a->shape[1] * b->shape[1] * (a->shape[3] + op->src[2]->shape[3]) * 2.0;
    return op->p.attention.causal ? work / 2 : work;
  }
  case TS_OP_COST_CONV2D: {
    const TsTensor *w = op->src[1];
    return 2.0 * (double) ts_tensor_numel (d) * w->shape[1] * w->shape[2] * w->shape[3];
  }
  case TS_OP_COST_CONV_TRANSPOSE:
    return 2.0 * (double) ts_tensor_numel (d) * a->shape[1];
  case TS_OP_COST_NEAREST:
    return 3.0 * (double) ts_tensor_numel (a) * b->shape[0];
  case TS_OP_COST_ELEMENTS:
  default:
    return (double) ts_tensor_numel (d);
  }
}

double
ts_op_bytes (const TsOp *op)
{
  double bytes = (double) ts_tensor_nbytes (op->dst);
  for (int i = 0; i < 3; i++)
    if (op->src[i])
      bytes += (double) ts_tensor_nbytes (op->src[i]);
  return bytes;
}

/* ---- helpers ---- */

/* The shared entry check: the backend has no pending error, every input is present and
 * lives on this backend. */
static gboolean
inputs_ok (TsBackend *be, int n, TsTensor *const *ts)
{
  g_return_val_if_fail (be != NULL, FALSE);
  if (be->error)
    return FALSE;
  for (int i = 0; i < n; i++) {
    if (!ts[i]) {
      ts_backend_set_error (be, TS_ERROR, TS_ERROR_INVALID_ARGUMENT, "missing input tensor");
      return FALSE;
    }
    if (ts[i]->backend != be) {
      ts_backend_set_error (be, TS_ERROR, TS_ERROR_INVALID_ARGUMENT,
                            "tensor belongs to the %s backend, not %s",
                            ts_backend_name (ts[i]->backend), ts_backend_name (be));
      return FALSE;
    }
  }
  return TRUE;
}
#define INPUTS_OK(be, ...) \
  inputs_ok ((be), G_N_ELEMENTS (((TsTensor *[]) { __VA_ARGS__ })), (TsTensor *[]) { __VA_ARGS__ })

/* Optional inputs may be NULL; when given they must be valid too. */
static gboolean
optional_ok (TsBackend *be, TsTensor *t)
{
  return !t || inputs_ok (be, 1, &t);
}

static gboolean
run (TsBackend *be, TsOp *op)
{
  gint64 start = 0;
  gboolean wall = be->profiling && !be->klass->profile;
  if (wall)
    start = g_get_monotonic_time ();

  GError *err = NULL;
  if (!ts_backend_run_op (be, op, &err)) {
    ts_backend_propagate_error (be, err);
    return FALSE;
  }
  if (wall) {
    const char *name = ts_op_name (op->kind);
    TsProfileEntry *e = g_hash_table_lookup (be->wall_profile, name);
    if (!e) {
      e = g_new0 (TsProfileEntry, 1);
      e->name = name;
      g_hash_table_insert (be->wall_profile, (gpointer) name, e);
    }
    e->count++;
    e->seconds += (g_get_monotonic_time () - start) * 1e-6;
    e->flops += ts_op_flops (op);
    e->bytes += ts_op_bytes (op);
  }
  return TRUE;
}

/* Run op into a fresh output of the given shape; returns the output or NULL. */
static TsTensor *
run_new (TsBackend *be, TsOp *op, TsDType dtype, int ndim, const int64_t *shape)
{
  op->dst = ts_tensor_new_uninit (be, dtype, ndim, shape);
  if (!op->dst)
    return NULL;
  if (!run (be, op))
    g_clear_pointer (&op->dst, ts_tensor_unref);
  return op->dst;
}

/* A new reference to t as a contiguous tensor of `dtype` (t itself when it already is). */
static TsTensor *
contiguous_as (TsBackend *be, TsTensor *t, TsDType dtype)
{
  if (!t)
    return NULL;
  if (t->dtype == dtype && ts_tensor_is_contiguous (t))
    return ts_tensor_ref (t);
  return ts_copy (be, t, dtype);
}

static TsTensor *
contiguous (TsBackend *be, TsTensor *t)
{
  return t ? contiguous_as (be, t, t->dtype) : NULL;
}

static gboolean
require_float (TsBackend *be, TsTensor *t, const char *what)
{
  if (ts_dtype_is_float (t->dtype))
    return TRUE;
  ts_backend_set_error (be, TS_ERROR, TS_ERROR_INVALID_ARGUMENT,
                        "%s must be f32, f16 or bf16, not %s", what, ts_dtype_name (t->dtype));
  return FALSE;
}

/* A small parameter vector (norm weight, bias) of exactly n elements, as contiguous f32 1-D. */
static TsTensor *
param_vector (TsBackend *be, TsTensor *t, int64_t n, const char *what)
{
  if (!t)
    return NULL;
  if (!require_float (be, t, what))
    return NULL;
  if (ts_tensor_numel (t) != n) {
    g_autofree char *d = ts_tensor_describe (t);
    return FAIL (be, "%s has shape %s, expected %" G_GINT64_FORMAT " elements", what, d, n);
  }
  g_autoptr (TsTensor) c = contiguous_as (be, t, TS_DTYPE_F32);
  return ts_tensor_reshape (c, 1, &n);
}

static gboolean
require_ndim (TsBackend *be, TsTensor *t, int lo, int hi, const char *what)
{
  if (t->ndim >= lo && t->ndim <= hi)
    return TRUE;
  g_autofree char *d = ts_tensor_describe (t);
  if (lo == hi)
    ts_backend_set_error (be, TS_ERROR, TS_ERROR_INVALID_ARGUMENT,
                          "%s must have %d dimensions, got %s", what, lo, d);
  else
    ts_backend_set_error (be, TS_ERROR, TS_ERROR_INVALID_ARGUMENT,
                          "%s must have %d to %d dimensions, got %s", what, lo, hi, d);
  return FALSE;
}

/* ---- matrix products ---- */

static int64_t
batch_of (const TsTensor *t)
{
  int64_t b = 1;
  for (int i = 0; i < t->ndim - 2; i++)
    b *= t->shape[i];
  return b;
}

TsTensor *
ts_matmul (TsBackend *be, TsTensor *a, TsTensor *b, TsTensor *bias, TsMatmulFlags flags)
{
  if (!INPUTS_OK (be, a, b) || !optional_ok (be, bias))
    return NULL;
  if (!require_ndim (be, a, 2, 4, "matmul a") || !require_ndim (be, b, 2, 4, "matmul b") ||
      !require_float (be, a, "matmul a") || !require_float (be, b, "matmul b"))
    return NULL;

  gboolean ta = (flags & TS_MATMUL_TRANS_A) != 0, tb = (flags & TS_MATMUL_TRANS_B) != 0;
  int64_t m = a->shape[a->ndim - (ta ? 1 : 2)], k = a->shape[a->ndim - (ta ? 2 : 1)];
  int64_t kb = b->shape[b->ndim - (tb ? 1 : 2)], n = b->shape[b->ndim - (tb ? 2 : 1)];
  gboolean shared_b = b->ndim == 2;
  gboolean batch_ok = shared_b || b->ndim == a->ndim;
  for (int i = 0; batch_ok && !shared_b && i < a->ndim - 2; i++)
    batch_ok = a->shape[i] == b->shape[i];
  if (k != kb || !batch_ok) {
    g_autofree char *da = ts_tensor_describe (a);
    g_autofree char *db = ts_tensor_describe (b);
    return FAIL (be, "matmul shapes do not match: a %s%s, b %s%s", da, ta ? "ᵀ" : "", db,
                 tb ? "ᵀ" : "");
  }

  g_autoptr (TsTensor) bias_c = bias ? param_vector (be, bias, n, "matmul bias") : NULL;
  g_autoptr (TsTensor) ac = contiguous_as (be, a, TS_DTYPE_F32);
  g_autoptr (TsTensor) bc = contiguous (be, b);
  if (!ac || !bc || (bias && !bias_c))
    return NULL;

  int64_t batch = batch_of (a);
  int64_t a3[3] = { batch, a->shape[a->ndim - 2], a->shape[a->ndim - 1] };
  int64_t b3[3] = { shared_b ? 1 : batch, b->shape[b->ndim - 2], b->shape[b->ndim - 1] };
  g_autoptr (TsTensor) a_view = ts_tensor_reshape (ac, 3, a3);
  g_autoptr (TsTensor) b_view = ts_tensor_reshape (bc, 3, b3);
  if (!a_view || !b_view)
    return NULL;

  TsOp op = { .kind = TS_OP_MATMUL, .src = { a_view, b_view, bias_c } };
  op.p.matmul.trans_a = ta;
  op.p.matmul.trans_b = tb;
  int64_t out3[3] = { batch, m, n };
  g_autoptr (TsTensor) out = run_new (be, &op, TS_DTYPE_F32, 3, out3);
  if (!out)
    return NULL;

  int64_t shape[TS_MAX_DIMS];
  memcpy (shape, a->shape, sizeof shape);
  shape[a->ndim - 2] = m;
  shape[a->ndim - 1] = n;
  return ts_tensor_reshape (out, a->ndim, shape);
}

TsTensor *
ts_linear (TsBackend *be, TsTensor *x, TsTensor *weight, TsTensor *bias)
{
  if (!INPUTS_OK (be, x, weight))
    return NULL;
  if (!require_ndim (be, weight, 2, 2, "linear weight"))
    return NULL;
  if (x->shape[x->ndim - 1] != weight->shape[1]) {
    g_autofree char *dx = ts_tensor_describe (x);
    g_autofree char *dw = ts_tensor_describe (weight);
    return FAIL (be, "linear input %s does not match weight %s", dx, dw);
  }
  g_autoptr (TsTensor) xc = contiguous_as (be, x, TS_DTYPE_F32);
  if (!xc)
    return NULL;
  int64_t flat[2] = { ts_tensor_rows (x), x->shape[x->ndim - 1] };
  g_autoptr (TsTensor) x2 = ts_tensor_reshape (xc, 2, flat);
  g_autoptr (TsTensor) y2 = ts_matmul (be, x2, weight, bias, TS_MATMUL_TRANS_B);
  if (!y2)
    return NULL;
  int64_t shape[TS_MAX_DIMS];
  memcpy (shape, x->shape, sizeof shape);
  shape[x->ndim - 1] = weight->shape[0];
  return ts_tensor_reshape (y2, x->ndim, shape);
}

/* A weight the backend may prepare: on this backend, contiguous (the products read it so;
 * any other weight is left to its first product). */
static gboolean
preparable (TsBackend *be, const TsTensor *w, int ndim)
{
  return be && w && w->backend == be && w->ndim == ndim && be->klass->prepare_weight &&
         ts_tensor_is_contiguous (w);
}

gboolean
ts_prepare_linear_weight (TsBackend *be, const TsTensor *weight, GError **error)
{
  if (!preparable (be, weight, 2))
    return TRUE;
  return be->klass->prepare_weight (be, weight, weight->shape[0], weight->shape[1], 1, 1, error);
}

gboolean
ts_prepare_conv2d_weight (TsBackend *be, const TsTensor *weight, int groups, GError **error)
{
  if (!preparable (be, weight, 4) || groups < 1 || weight->shape[0] % groups)
    return TRUE;
  int64_t area = weight->shape[2] * weight->shape[3];
  return be->klass->prepare_weight (be, weight, weight->shape[0], weight->shape[1] * area, area,
                                    groups, error);
}

/* ---- elementwise ---- */

static TsTensor *
binary (TsBackend *be, TsOpKind kind, TsTensor *a, TsTensor *b)
{
  if (!INPUTS_OK (be, a, b))
    return NULL;
  if (!require_float (be, a, ts_op_name (kind)) || !require_float (be, b, ts_op_name (kind)))
    return NULL;

  int ndim = MAX (a->ndim, b->ndim);
  int64_t shape[TS_MAX_DIMS] = { 1, 1, 1, 1 };
  for (int i = 0; i < ndim; i++) {
    int ia = i - (ndim - a->ndim), ib = i - (ndim - b->ndim);
    int64_t sa = ia >= 0 ? a->shape[ia] : 1, sb = ib >= 0 ? b->shape[ib] : 1;
    if (sa != sb && sa != 1 && sb != 1) {
      g_autofree char *da = ts_tensor_describe (a);
      g_autofree char *db = ts_tensor_describe (b);
      return FAIL (be, "%s: shapes %s and %s do not broadcast", ts_op_name (kind), da, db);
    }
    shape[i] = MAX (sa, sb);
  }
  /* Kernels read f32 through broadcast (stride 0) views of the output's shape. */
  g_autoptr (TsTensor) af = a->dtype == TS_DTYPE_F32 ? ts_tensor_ref (a) : ts_copy (be, a, TS_DTYPE_F32);
  g_autoptr (TsTensor) bf = b->dtype == TS_DTYPE_F32 ? ts_tensor_ref (b) : ts_copy (be, b, TS_DTYPE_F32);
  g_autoptr (TsTensor) av = ts_tensor_broadcast_to (af, ndim, shape);
  g_autoptr (TsTensor) bv = ts_tensor_broadcast_to (bf, ndim, shape);
  if (!av || !bv)
    return NULL;
  TsOp op = { .kind = kind, .src = { av, bv } };
  return run_new (be, &op, TS_DTYPE_F32, ndim, shape);
}

TsTensor *
ts_add (TsBackend *be, TsTensor *a, TsTensor *b)
{
  return binary (be, TS_OP_ADD, a, b);
}

TsTensor *
ts_mul (TsBackend *be, TsTensor *a, TsTensor *b)
{
  return binary (be, TS_OP_MUL, a, b);
}

/* Unary ops and everything else that maps a contiguous f32 input to an output. */
static TsTensor *
unary_like (TsBackend *be, TsOp *op, TsTensor *x, int ndim, const int64_t *shape)
{
  if (!require_float (be, x, ts_op_name (op->kind)))
    return NULL;
  g_autoptr (TsTensor) xc = contiguous_as (be, x, TS_DTYPE_F32);
  if (!xc)
    return NULL;
  op->src[0] = xc;
  return run_new (be, op, TS_DTYPE_F32, ndim, shape);
}

static TsTensor *
unary (TsBackend *be, TsOpKind kind, TsTensor *x)
{
  if (!INPUTS_OK (be, x))
    return NULL;
  TsOp op = { .kind = kind };
  return unary_like (be, &op, x, x->ndim, x->shape);
}

TsTensor *
ts_scale (TsBackend *be, TsTensor *x, float scale, float offset)
{
  if (!INPUTS_OK (be, x))
    return NULL;
  TsOp op = { .kind = TS_OP_SCALE };
  op.p.scale.scale = scale;
  op.p.scale.offset = offset;
  return unary_like (be, &op, x, x->ndim, x->shape);
}

TsTensor *ts_silu (TsBackend *be, TsTensor *x) { return unary (be, TS_OP_SILU, x); }
TsTensor *ts_gelu (TsBackend *be, TsTensor *x) { return unary (be, TS_OP_GELU, x); }
TsTensor *ts_quick_gelu (TsBackend *be, TsTensor *x) { return unary (be, TS_OP_QUICK_GELU, x); }
TsTensor *ts_softmax (TsBackend *be, TsTensor *x) { return unary (be, TS_OP_SOFTMAX, x); }

TsTensor *
ts_geglu (TsBackend *be, TsTensor *x)
{
  if (!INPUTS_OK (be, x))
    return NULL;
  if (x->shape[x->ndim - 1] % 2) {
    g_autofree char *d = ts_tensor_describe (x);
    return FAIL (be, "geglu needs an even last dimension, got %s", d);
  }
  int64_t shape[TS_MAX_DIMS];
  memcpy (shape, x->shape, sizeof shape);
  shape[x->ndim - 1] /= 2;
  TsOp op = { .kind = TS_OP_GEGLU };
  return unary_like (be, &op, x, x->ndim, shape);
}

/* ---- normalisations ---- */

static TsTensor *
norm_last_dim (TsBackend *be, TsOpKind kind, TsTensor *x, TsTensor *weight, TsTensor *bias,
               float eps)
{
  if (!INPUTS_OK (be, x) || !optional_ok (be, weight) || !optional_ok (be, bias))
    return NULL;
  int64_t d = x->shape[x->ndim - 1];
  g_autoptr (TsTensor) w = weight ? param_vector (be, weight, d, "norm weight") : NULL;
  g_autoptr (TsTensor) b = bias ? param_vector (be, bias, d, "norm bias") : NULL;
  if ((weight && !w) || (bias && !b))
    return NULL;
  TsOp op = { .kind = kind, .src = { NULL, w, b } };
  op.p.norm.eps = eps;
  return unary_like (be, &op, x, x->ndim, x->shape);
}

TsTensor *
ts_layer_norm (TsBackend *be, TsTensor *x, TsTensor *weight, TsTensor *bias, float eps)
{
  return norm_last_dim (be, TS_OP_LAYER_NORM, x, weight, bias, eps);
}

TsTensor *
ts_rms_norm (TsBackend *be, TsTensor *x, TsTensor *weight, float eps)
{
  return norm_last_dim (be, TS_OP_RMS_NORM, x, weight, NULL, eps);
}

/* Run a norm on a 3-D view of x and give the result x's shape. */
static TsTensor *
norm_3d (TsBackend *be, TsOp *op, TsTensor *x, const int64_t view[3])
{
  g_autoptr (TsTensor) xc = contiguous_as (be, x, TS_DTYPE_F32);
  g_autoptr (TsTensor) x3 = ts_tensor_reshape (xc, 3, view);
  if (!x3)
    return NULL;
  op->src[0] = x3;
  g_autoptr (TsTensor) out = run_new (be, op, TS_DTYPE_F32, 3, view);
  return out ? ts_tensor_reshape (out, x->ndim, x->shape) : NULL;
}

/* TRUE when the caller's reference to t is the only way to reach its memory, which the
 * backend owns (not a mapped file) and which holds contiguous f32: an op may then write
 * its result over it. */
static gboolean
reusable (TsTensor *t)
{
  return g_atomic_int_get (&t->ref_count) == 1 &&
         g_atomic_int_get (&t->storage->ref_count) == 1 && t->storage->charged > 0 &&
         t->dtype == TS_DTYPE_F32 && ts_tensor_is_contiguous (t);
}

/* A norm over a 3-D view of x, written over x (the caller checked that it may be). */
static TsTensor *
norm_3d_in_place (TsBackend *be, TsOp *op, TsTensor *x, const int64_t view[3])
{
  g_autoptr (TsTensor) x3 = ts_tensor_reshape (x, 3, view);
  if (!x3)
    return NULL;
  op->src[0] = op->dst = x3;
  return run (be, op) ? ts_tensor_ref (x) : NULL;
}

static TsTensor *
group_norm (TsBackend *be, TsTensor *x, int groups, TsTensor *weight, TsTensor *bias, float eps,
            gboolean silu, gboolean in_place)
{
  if (!INPUTS_OK (be, x) || !optional_ok (be, weight) || !optional_ok (be, bias))
    return NULL;
  if (!require_ndim (be, x, 2, 4, "group_norm input") || !require_float (be, x, "group_norm input"))
    return NULL;
  int64_t c = x->shape[1];
  if (groups < 1 || c % groups)
    return FAIL (be, "group_norm: %" G_GINT64_FORMAT " channels do not split into %d groups",
                 c, groups);
  g_autoptr (TsTensor) w = weight ? param_vector (be, weight, c, "group_norm weight") : NULL;
  g_autoptr (TsTensor) b = bias ? param_vector (be, bias, c, "group_norm bias") : NULL;
  if ((weight && !w) || (bias && !b))
    return NULL;
  TsOp op = { .kind = TS_OP_GROUP_NORM, .src = { NULL, w, b } };
  op.p.norm.eps = eps;
  op.p.norm.groups = groups;
  op.p.norm.silu = silu;
  int64_t view[3] = { x->shape[0], c, ts_tensor_numel (x) / (x->shape[0] * c) };
  if (in_place && reusable (x))
    return norm_3d_in_place (be, &op, x, view);
  return norm_3d (be, &op, x, view);
}

TsTensor *
ts_group_norm (TsBackend *be, TsTensor *x, int groups, TsTensor *weight, TsTensor *bias,
               float eps)
{
  return group_norm (be, x, groups, weight, bias, eps, FALSE, FALSE);
}

TsTensor *
ts_group_norm_silu (TsBackend *be, TsTensor *x, int groups, TsTensor *weight, TsTensor *bias,
                    float eps)
{
  return group_norm (be, x, groups, weight, bias, eps, TRUE, FALSE);
}

TsTensor *
ts_group_norm_silu_consume (TsBackend *be, TsTensor *x, int groups, TsTensor *weight,
                            TsTensor *bias, float eps)
{
  TsTensor *y = group_norm (be, x, groups, weight, bias, eps, TRUE, TRUE);
  ts_tensor_unref (x);
  return y;
}

TsTensor *
ts_global_response_norm (TsBackend *be, TsTensor *x, TsTensor *gamma, TsTensor *beta, float eps)
{
  if (!INPUTS_OK (be, x, gamma, beta))
    return NULL;
  if (!require_ndim (be, x, 4, 4, "global_response_norm input") ||
      !require_float (be, x, "global_response_norm input"))
    return NULL;
  int64_t c = x->shape[3];
  g_autoptr (TsTensor) g = param_vector (be, gamma, c, "global_response_norm gamma");
  g_autoptr (TsTensor) b = param_vector (be, beta, c, "global_response_norm beta");
  if (!g || !b)
    return NULL;
  TsOp op = { .kind = TS_OP_GRN, .src = { NULL, g, b } };
  op.p.norm.eps = eps;
  int64_t view[3] = { x->shape[0], x->shape[1] * x->shape[2], c };
  return norm_3d (be, &op, x, view);
}

/* ---- attention ---- */

/* q/k/v may be strided views, but their last dimension must be dense. */
static TsTensor *
attention_operand (TsBackend *be, TsTensor *t)
{
  if (t->dtype == TS_DTYPE_F32 && t->stride[3] == 1)
    return ts_tensor_ref (t);
  return ts_copy (be, t, TS_DTYPE_F32);
}

TsTensor *
ts_attention (TsBackend *be, TsTensor *q, TsTensor *k, TsTensor *v, float scale, gboolean causal)
{
  return ts_attention_at (be, q, k, v, scale, causal, TS_PRECISION_F32);
}

TsTensor *
ts_attention_at (TsBackend *be, TsTensor *q, TsTensor *k, TsTensor *v, float scale,
                 gboolean causal, TsPrecision precision)
{
  if (!INPUTS_OK (be, q, k, v))
    return NULL;
  if (!require_ndim (be, q, 4, 4, "attention q") || !require_ndim (be, k, 4, 4, "attention k") ||
      !require_ndim (be, v, 4, 4, "attention v") || !require_float (be, q, "attention q") ||
      !require_float (be, k, "attention k") || !require_float (be, v, "attention v"))
    return NULL;
  if (k->shape[0] != q->shape[0] || v->shape[0] != q->shape[0] || k->shape[2] != q->shape[2] ||
      v->shape[2] != q->shape[2] || k->shape[3] != q->shape[3] || v->shape[1] != k->shape[1]) {
    g_autofree char *dq = ts_tensor_describe (q);
    g_autofree char *dk = ts_tensor_describe (k);
    g_autofree char *dv = ts_tensor_describe (v);
    return FAIL (be, "attention shapes do not match: q %s, k %s, v %s (want [B,N,H,D])", dq, dk, dv);
  }
  g_autoptr (TsTensor) qc = attention_operand (be, q);
  g_autoptr (TsTensor) kc = attention_operand (be, k);
  g_autoptr (TsTensor) vc = attention_operand (be, v);
  if (!qc || !kc || !vc)
    return NULL;
  TsOp op = { .kind = TS_OP_ATTENTION, .src = { qc, kc, vc } };
  op.p.attention.scale = scale;
  op.p.attention.causal = causal;
  op.p.attention.precision = precision;
  int64_t shape[4] = { q->shape[0], q->shape[1], q->shape[2], v->shape[3] };
  return run_new (be, &op, TS_DTYPE_F32, 4, shape);
}

/* ---- convolutions and resampling ---- */

TsTensor *
ts_conv2d (TsBackend *be, TsTensor *x, TsTensor *weight, TsTensor *bias,
           const TsConv2dParams *p)
{
  if (!INPUTS_OK (be, x, weight) || !optional_ok (be, bias))
    return NULL;
  g_return_val_if_fail (p != NULL, NULL);
  if (!require_ndim (be, x, 4, 4, "conv2d input") || !require_ndim (be, weight, 4, 4, "conv2d weight") ||
      !require_float (be, x, "conv2d input") || !require_float (be, weight, "conv2d weight"))
    return NULL;
  int64_t c = x->shape[1], o = weight->shape[0], kh = weight->shape[2], kw = weight->shape[3];
  int g = p->groups;
  if (g < 1 || c % g || o % g || weight->shape[1] != c / g) {
    g_autofree char *dx = ts_tensor_describe (x);
    g_autofree char *dw = ts_tensor_describe (weight);
    return FAIL (be, "conv2d: input %s, weight %s and %d groups do not fit", dx, dw, g);
  }
  if (p->stride_y < 1 || p->stride_x < 1 || p->pad_top < 0 || p->pad_left < 0 ||
      p->pad_bottom < 0 || p->pad_right < 0 || kh > 16 || kw > 16)
    return FAIL (be, "conv2d: invalid stride, padding or kernel size");
  int64_t ih = x->shape[2] + p->pad_top + p->pad_bottom, iw = x->shape[3] + p->pad_left + p->pad_right;
  if (ih < kh || iw < kw) {
    g_autofree char *dx = ts_tensor_describe (x);
    return FAIL (be, "conv2d: input %s is smaller than the %" G_GINT64_FORMAT "×%" G_GINT64_FORMAT
                 " kernel", dx, kh, kw);
  }
  g_autoptr (TsTensor) b = bias ? param_vector (be, bias, o, "conv2d bias") : NULL;
  g_autoptr (TsTensor) wc = contiguous (be, weight);
  g_autoptr (TsTensor) xc = contiguous_as (be, x, TS_DTYPE_F32);
  if ((bias && !b) || !wc || !xc)
    return NULL;
  TsOp op = { .kind = TS_OP_CONV2D, .src = { xc, wc, b } };
  op.p.conv = *p;
  int64_t shape[4] = { x->shape[0], o, (ih - kh) / p->stride_y + 1, (iw - kw) / p->stride_x + 1 };
  return run_new (be, &op, TS_DTYPE_F32, 4, shape);
}

TsTensor *
ts_conv_transpose_2x2 (TsBackend *be, TsTensor *x, TsTensor *weight, TsTensor *bias)
{
  if (!INPUTS_OK (be, x, weight) || !optional_ok (be, bias))
    return NULL;
  if (!require_ndim (be, x, 4, 4, "conv_transpose input") ||
      !require_ndim (be, weight, 4, 4, "conv_transpose weight") ||
      !require_float (be, x, "conv_transpose input") ||
      !require_float (be, weight, "conv_transpose weight"))
    return NULL;
  if (weight->shape[0] != x->shape[1] || weight->shape[2] != 2 || weight->shape[3] != 2) {
    g_autofree char *dx = ts_tensor_describe (x);
    g_autofree char *dw = ts_tensor_describe (weight);
    return FAIL (be, "conv_transpose_2x2: input %s does not fit weight %s (want [C,O,2,2])", dx, dw);
  }
  int64_t o = weight->shape[1];
  g_autoptr (TsTensor) b = bias ? param_vector (be, bias, o, "conv_transpose bias") : NULL;
  g_autoptr (TsTensor) wc = contiguous (be, weight);
  g_autoptr (TsTensor) xc = contiguous_as (be, x, TS_DTYPE_F32);
  if ((bias && !b) || !wc || !xc)
    return NULL;
  TsOp op = { .kind = TS_OP_CONV_TRANSPOSE_2X2, .src = { xc, wc, b } };
  int64_t shape[4] = { x->shape[0], o, x->shape[2] * 2, x->shape[3] * 2 };
  return run_new (be, &op, TS_DTYPE_F32, 4, shape);
}

TsTensor *
ts_upsample_nearest_2x (TsBackend *be, TsTensor *x)
{
  if (!INPUTS_OK (be, x))
    return NULL;
  if (!require_ndim (be, x, 2, 4, "upsample input") || !require_float (be, x, "upsample input"))
    return NULL;
  int64_t h = x->shape[x->ndim - 2], w = x->shape[x->ndim - 1];
  int64_t planes = ts_tensor_numel (x) / (h * w);
  int64_t in4[4] = { 1, planes, h, w }, out4[4] = { 1, planes, 2 * h, 2 * w };
  g_autoptr (TsTensor) xc = contiguous_as (be, x, TS_DTYPE_F32);
  g_autoptr (TsTensor) x4 = ts_tensor_reshape (xc, 4, in4);
  if (!x4)
    return NULL;
  TsOp op = { .kind = TS_OP_UPSAMPLE_NEAREST_2X, .src = { x4 } };
  g_autoptr (TsTensor) out = run_new (be, &op, TS_DTYPE_F32, 4, out4);
  int64_t shape[TS_MAX_DIMS];
  memcpy (shape, x->shape, sizeof shape);
  shape[x->ndim - 2] *= 2;
  shape[x->ndim - 1] *= 2;
  return out ? ts_tensor_reshape (out, x->ndim, shape) : NULL;
}

/* dst (any strides, shares storage with a fresh output) ← src, converting dtype. */
static gboolean
copy_into (TsBackend *be, TsTensor *dst, TsTensor *src)
{
  TsOp op = { .kind = TS_OP_COPY, .src = { src }, .dst = dst };
  return run (be, &op);
}

TsTensor *
ts_pad (TsBackend *be, TsTensor *x, const int64_t *before, const int64_t *after, float value)
{
  if (!INPUTS_OK (be, x))
    return NULL;
  int64_t shape[TS_MAX_DIMS];
  for (int i = 0; i < x->ndim; i++) {
    if (before[i] < 0 || after[i] < 0 || before[i] > (1 << 24) || after[i] > (1 << 24))
      return FAIL (be, "pad: invalid padding in dimension %d", i);
    shape[i] = x->shape[i] + before[i] + after[i];
  }
  g_autoptr (TsTensor) out = ts_tensor_new_uninit (be, x->dtype, x->ndim, shape);
  if (!out)
    return NULL;
  TsOp fill = { .kind = TS_OP_FILL, .dst = out };
  fill.p.fill_value = value;
  if (!run (be, &fill))
    return NULL;
  g_autoptr (TsTensor) inner = ts_tensor_ref (out);
  for (int i = 0; i < x->ndim && inner; i++) {
    TsTensor *s = ts_tensor_slice (inner, i, before[i], x->shape[i]);
    ts_tensor_unref (inner);
    inner = s;
  }
  if (!inner || !copy_into (be, inner, x))
    return NULL;
  return g_steal_pointer (&out);
}

/* ---- lookups ---- */

TsTensor *
ts_embedding (TsBackend *be, TsTensor *table, TsTensor *ids)
{
  if (!INPUTS_OK (be, table, ids))
    return NULL;
  if (!require_ndim (be, table, 2, 2, "embedding table") ||
      !require_float (be, table, "embedding table") ||
      !require_ndim (be, ids, 1, TS_MAX_DIMS - 1, "embedding ids"))
    return NULL;
  if (ids->dtype != TS_DTYPE_I32 && ids->dtype != TS_DTYPE_I64)
    return FAIL (be, "embedding ids must be i32 or i64, not %s", ts_dtype_name (ids->dtype));
  g_autoptr (TsTensor) tc = contiguous (be, table);
  g_autoptr (TsTensor) ic = contiguous (be, ids);
  if (!tc || !ic)
    return NULL;
  TsOp op = { .kind = TS_OP_EMBEDDING, .src = { tc, ic } };
  int64_t shape[TS_MAX_DIMS];
  memcpy (shape, ids->shape, sizeof (int64_t) * ids->ndim);
  shape[ids->ndim] = table->shape[1];
  return run_new (be, &op, TS_DTYPE_F32, ids->ndim + 1, shape);
}

TsTensor *
ts_nearest_code (TsBackend *be, TsTensor *x, TsTensor *codebook)
{
  if (!INPUTS_OK (be, x, codebook))
    return NULL;
  if (!require_ndim (be, x, 2, 2, "nearest_code input") ||
      !require_ndim (be, codebook, 2, 2, "codebook") || !require_float (be, x, "nearest_code input") ||
      !require_float (be, codebook, "codebook"))
    return NULL;
  if (x->shape[1] != codebook->shape[1]) {
    g_autofree char *dx = ts_tensor_describe (x);
    g_autofree char *dc = ts_tensor_describe (codebook);
    return FAIL (be, "nearest_code: vectors %s and codebook %s differ in width", dx, dc);
  }
  g_autoptr (TsTensor) xc = contiguous_as (be, x, TS_DTYPE_F32);
  g_autoptr (TsTensor) cc = contiguous_as (be, codebook, TS_DTYPE_F32);
  if (!xc || !cc)
    return NULL;
  TsOp op = { .kind = TS_OP_NEAREST_CODE, .src = { xc, cc } };
  int64_t n = x->shape[0];
  return run_new (be, &op, TS_DTYPE_I32, 1, &n);
}

/* ---- layout ---- */

TsTensor *
ts_copy (TsBackend *be, TsTensor *x, TsDType dtype)
{
  if (!INPUTS_OK (be, x))
    return NULL;
  if ((unsigned) dtype >= TS_DTYPE_COUNT)
    return FAIL (be, "copy: unknown dtype %d", dtype);
  TsOp op = { .kind = TS_OP_COPY, .src = { x } };
  return run_new (be, &op, dtype, x->ndim, x->shape);
}

TsTensor *
ts_permute (TsBackend *be, TsTensor *x, const int *perm)
{
  if (!INPUTS_OK (be, x))
    return NULL;
  g_autoptr (TsTensor) view = ts_tensor_permute (x, perm);
  return view ? ts_copy (be, view, x->dtype) : NULL;
}

TsTensor *
ts_concat (TsBackend *be, TsTensor *const *xs, int n, int axis)
{
  if (n < 1 || !inputs_ok (be, n, xs))
    return n < 1 ? FAIL (be, "concat of no tensors") : NULL;
  TsTensor *first = xs[0];
  if (axis < 0 || axis >= first->ndim)
    return FAIL (be, "concat: axis %d outside a %d-D tensor", axis, first->ndim);
  int64_t shape[TS_MAX_DIMS];
  memcpy (shape, first->shape, sizeof shape);
  shape[axis] = 0;
  for (int i = 0; i < n; i++) {
    gboolean fits = xs[i]->ndim == first->ndim && xs[i]->dtype == first->dtype;
    for (int d = 0; fits && d < first->ndim; d++)
      fits = d == axis || xs[i]->shape[d] == first->shape[d];
    if (!fits) {
      g_autofree char *d0 = ts_tensor_describe (first);
      g_autofree char *di = ts_tensor_describe (xs[i]);
      return FAIL (be, "concat: %s does not fit %s along axis %d", di, d0, axis);
    }
    shape[axis] += xs[i]->shape[axis];
  }
  g_autoptr (TsTensor) out = ts_tensor_new_uninit (be, first->dtype, first->ndim, shape);
  if (!out)
    return NULL;
  int64_t at = 0;
  for (int i = 0; i < n; i++) {
    g_autoptr (TsTensor) part = ts_tensor_slice (out, axis, at, xs[i]->shape[axis]);
    if (!part || !copy_into (be, part, xs[i]))
      return NULL;
    at += xs[i]->shape[axis];
  }
  return g_steal_pointer (&out);
}
