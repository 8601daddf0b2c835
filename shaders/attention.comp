#version 450
// attention.comp — TS_OP_ATTENTION, fused: out = softmax(q·kᵀ·scale [causal]) · v.
//
// One invocation owns one query row of one (batch, head): q and the output accumulator
// live in registers (as vec4s, zero-padded past D), the keys are walked in blocks of BC
// with an online softmax (running maximum and sum, rescaled once per block), so the
// score matrix never reaches memory. Every invocation of a workgroup walks the same keys:
// the SHM variant stages each block of k and v in shared memory with coalesced loads (the
// default everywhere, lavapipe included), the register variant reads them from the
// buffers, where identical addresses across invocations are broadcasts on a GPU (for
// devices without the shared memory, or when forced). No subgroup operations.

layout(local_size_x_id = 0) in;              // query rows per workgroup
layout(constant_id = 1) const uint D4 = 16u; // ceil(D / 4)
layout(constant_id = 2) const uint DV4 = 16u;
layout(constant_id = 3) const uint BC = 16u; // keys per block

#define ATTN_CAUSAL 1u

// Mirrors TsVkAttentionPush in vk-op-attention.c. Strides in elements; the last dimension
// of q, k and v is dense and out is [B, Nq, H, DV] contiguous.
layout(push_constant) uniform AttentionPush {
  uint Nq, Nk, H, D, DV;
  uint q_tiles;               // workgroups per (batch, head)
  uint heads;                 // (batch, head) pairs in this dispatch: batches · H
  uint q_first;               // index of this dispatch's first query row (causal mask)
  uint q_off, q_sb, q_sn, q_sh;
  uint k_off, k_sb, k_sn, k_sh;
  uint v_off, v_sb, v_sn, v_sh;
  uint o_off, o_sb;
  float scale;
  uint flags;
} pc;

layout(std430, set = 0, binding = 0) readonly buffer QBuf { float q_data[]; };
layout(std430, set = 0, binding = 1) readonly buffer KBuf { float k_data[]; };
layout(std430, set = 0, binding = 2) readonly buffer VBuf { float v_data[]; };
layout(std430, set = 0, binding = 3) writeonly buffer OBuf { float o_data[]; };

const float NEG_INF = -1.0 / 0.0;

#ifdef SHM
shared vec4 sh_k[BC * D4];
shared vec4 sh_v[BC * DV4];
#endif

uint k_base, v_base;

// Element d of key (or value) row j, zero past the row's end.
float key_at (uint j, uint d)
{
  return d < pc.D ? k_data[k_base + j * pc.k_sn + d] : 0.0;
}

float value_at (uint j, uint d)
{
  return d < pc.DV ? v_data[v_base + j * pc.v_sn + d] : 0.0;
}

// Components 4c .. 4c+3 of key j0 + jj (or of its value), from the staged block or memory.
vec4 key4 (uint j0, uint jj, uint c)
{
#ifdef SHM
  return sh_k[jj * D4 + c];
#else
  uint j = j0 + jj;
  return vec4 (key_at (j, 4u * c), key_at (j, 4u * c + 1u), key_at (j, 4u * c + 2u),
               key_at (j, 4u * c + 3u));
#endif
}

vec4 value4 (uint j0, uint jj, uint c)
{
#ifdef SHM
  return sh_v[jj * DV4 + c];
#else
  uint j = j0 + jj;
  return vec4 (value_at (j, 4u * c), value_at (j, 4u * c + 1u), value_at (j, 4u * c + 2u),
               value_at (j, 4u * c + 3u));
#endif
}

#ifdef SHM
// Keys j0 .. j0+BC-1 (zeros past the end) into shared memory, all invocations helping.
void stage_block (uint j0, uint n_keys)
{
  for (uint e = gl_LocalInvocationID.x; e < BC * D4 * 4u; e += gl_WorkGroupSize.x) {
    uint j = e / (D4 * 4u), d = e % (D4 * 4u);
    sh_k[j * D4 + d / 4u][d % 4u] = j0 + j < n_keys ? key_at (j0 + j, d) : 0.0;
  }
  for (uint e = gl_LocalInvocationID.x; e < BC * DV4 * 4u; e += gl_WorkGroupSize.x) {
    uint j = e / (DV4 * 4u), d = e % (DV4 * 4u);
    sh_v[j * DV4 + d / 4u][d % 4u] = j0 + j < n_keys ? value_at (j0 + j, d) : 0.0;
  }
}
#endif

void main ()
{
  uint group = (gl_WorkGroupID.z * gl_NumWorkGroups.y + gl_WorkGroupID.y) * gl_NumWorkGroups.x +
               gl_WorkGroupID.x;
  if (group >= pc.q_tiles * pc.heads)
    return; // the whole workgroup leaves together
  uint tile = group % pc.q_tiles, bh = group / pc.q_tiles;
  uint h = bh % pc.H, b = bh / pc.H;
  uint row0 = tile * gl_WorkGroupSize.x;
  uint row = row0 + gl_LocalInvocationID.x;
  bool live = row < pc.Nq;
  uint qrow = min (row, pc.Nq - 1u);
  k_base = pc.k_off + b * pc.k_sb + h * pc.k_sh;
  v_base = pc.v_off + b * pc.v_sb + h * pc.v_sh;

  vec4 q[D4];
  uint q_base = pc.q_off + b * pc.q_sb + qrow * pc.q_sn + h * pc.q_sh;
  for (uint c = 0u; c < D4; c++)
    for (uint e = 0u; e < 4u; e++) {
      uint d = 4u * c + e;
      q[c][e] = d < pc.D ? q_data[q_base + d] * pc.scale : 0.0;
    }

  // Keys that any row of this workgroup may see (the same bound for all invocations).
  uint n_keys = pc.Nk;
  uint last = pc.q_first + min (row0 + gl_WorkGroupSize.x, pc.Nq) - 1u;
  if ((pc.flags & ATTN_CAUSAL) != 0u)
    n_keys = min (n_keys, last + 1u);
  uint my_keys = (pc.flags & ATTN_CAUSAL) != 0u ? min (n_keys, pc.q_first + qrow + 1u) : n_keys;

  vec4 acc[DV4];
  for (uint c = 0u; c < DV4; c++)
    acc[c] = vec4 (0.0);
  float m = NEG_INF, l = 0.0;

  for (uint j0 = 0u; j0 < n_keys; j0 += BC) {
#ifdef SHM
    stage_block (j0, n_keys);
    barrier ();
#endif
    float s[BC];
    float block_max = NEG_INF;
    for (uint jj = 0u; jj < BC; jj++) {
      s[jj] = NEG_INF;
      if (j0 + jj < my_keys) {
        vec4 dot4 = vec4 (0.0);
        for (uint c = 0u; c < D4; c++)
          dot4 += q[c] * key4 (j0, jj, c);
        s[jj] = dot4.x + dot4.y + dot4.z + dot4.w;
        block_max = max (block_max, s[jj]);
      }
    }
    // Rows with no visible key in this block skip it (their maximum stays as it was).
    if (block_max > NEG_INF) {
      float m_new = max (m, block_max);
      float correction = exp (m - m_new); // 0 for the first block: m = -inf
      l *= correction;
      for (uint c = 0u; c < DV4; c++)
        acc[c] *= correction;
      for (uint jj = 0u; jj < BC; jj++) {
        if (s[jj] > NEG_INF) {
          float p = exp (s[jj] - m_new);
          l += p;
          for (uint c = 0u; c < DV4; c++)
            acc[c] += p * value4 (j0, jj, c);
        }
      }
      m = m_new;
    }
#ifdef SHM
    barrier ();
#endif
  }

  if (!live)
    return;
  float inv = 1.0 / l;
  uint o_base = pc.o_off + b * pc.o_sb + row * pc.H * pc.DV + h * pc.DV;
  for (uint c = 0u; c < DV4; c++)
    for (uint e = 0u; e < 4u; e++) {
      uint d = 4u * c + e;
      if (d < pc.DV)
        o_data[o_base + d] = acc[c][e] * inv;
    }
}
