#version 450
// nearest.comp — TS_OP_NEAREST_CODE: for each row of x[N, D], the index of the codebook
// row e[K, D] nearest in Euclidean distance, the lowest index on ties.
//
// Distances are Σ(x−e)² as written, not |x|²−2x·e+|e|², which cancels badly when x is
// close to a code. One invocation per row; the row lives in registers as D4 vec4s
// (zero-padded, which adds nothing to the distance), except for wide rows (STREAM), which
// are re-read from memory. All invocations walk the same codes: the SHM variant (the
// default) stages blocks of BC codes in shared memory, the register variant reads them
// directly. Codes are visited in increasing order and only a strictly smaller distance
// replaces the best, so ties keep the lowest index. A codebook too large for one binding
// is handled in slices: each dispatch after the first compares against the best distance
// the previous one left.

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint D4 = 16u;       // ceil(D / 4), or 1 when STREAM
layout(constant_id = 2) const uint BC = 16u;       // codes per shared block (SHM)
layout(constant_id = 3) const bool STREAM = false; // row too wide for registers (not SHM)

#define NEAREST_MERGE 1u  // start from the best index and distance of an earlier slice
#define NEAREST_KEEP 2u   // store the best distance for a later slice

// Mirrors TsVkNearestPush in vk-op-nearest.c.
layout(push_constant) uniform NearestPush {
  uint N, K, D;               // rows and codes of this dispatch
  uint x_off, e_off, d_off, best_off;
  uint k_first;               // index of this dispatch's first code
  uint flags;
} pc;

layout(std430, set = 0, binding = 0) readonly buffer XBuf { float x_data[]; };
layout(std430, set = 0, binding = 1) readonly buffer EBuf { float e_data[]; };
layout(std430, set = 0, binding = 2) buffer DBuf { int d_data[]; };
layout(std430, set = 0, binding = 3) buffer BestBuf { float best_data[]; };

#ifdef SHM
shared vec4 sh_e[BC * D4];
#endif

float code_at (uint k, uint d)
{
  return d < pc.D ? e_data[pc.e_off + k * pc.D + d] : 0.0;
}

vec4 code4 (uint k, uint c)
{
  return vec4 (code_at (k, 4u * c), code_at (k, 4u * c + 1u), code_at (k, 4u * c + 2u),
               code_at (k, 4u * c + 3u));
}

void main ()
{
  uint group = (gl_WorkGroupID.z * gl_NumWorkGroups.y + gl_WorkGroupID.y) * gl_NumWorkGroups.x +
               gl_WorkGroupID.x;
  uint row = group * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
  bool live = row < pc.N;
  uint x_base = pc.x_off + min (row, pc.N - 1u) * pc.D;

  vec4 x[D4];
  for (uint c = 0u; c < D4; c++)
    for (uint e = 0u; e < 4u; e++) {
      uint d = 4u * c + e;
      x[c][e] = d < pc.D ? x_data[x_base + d] : 0.0;
    }

  float best = 1.0 / 0.0;
  int best_k = 0;
  if (live && (pc.flags & NEAREST_MERGE) != 0u) {
    best = best_data[pc.best_off + row];
    best_k = d_data[pc.d_off + row];
  }

#ifdef SHM
  for (uint k0 = 0u; k0 < pc.K; k0 += BC) {
    for (uint e = gl_LocalInvocationID.x; e < BC * D4; e += gl_WorkGroupSize.x)
      sh_e[e] = k0 + e / D4 < pc.K ? code4 (k0 + e / D4, e % D4) : vec4 (0.0);
    barrier ();
    for (uint kk = 0u; kk < BC && k0 + kk < pc.K; kk++) {
      vec4 sum = vec4 (0.0);
      for (uint c = 0u; c < D4; c++) {
        vec4 diff = x[c] - sh_e[kk * D4 + c];
        sum += diff * diff;
      }
      float dist = (sum.x + sum.y) + (sum.z + sum.w);
      if (dist < best) {
        best = dist;
        best_k = int (pc.k_first + k0 + kk);
      }
    }
    barrier ();
  }
#else
  for (uint k = 0u; k < pc.K; k++) {
    float dist;
    if (!STREAM) {
      vec4 sum = vec4 (0.0);
      for (uint c = 0u; c < D4; c++) {
        vec4 diff = x[c] - code4 (k, c);
        sum += diff * diff;
      }
      dist = (sum.x + sum.y) + (sum.z + sum.w);
    } else {
      dist = 0.0;
      for (uint d = 0u; d < pc.D; d++) {
        float diff = x_data[x_base + d] - e_data[pc.e_off + k * pc.D + d];
        dist += diff * diff;
      }
    }
    if (dist < best) {
      best = dist;
      best_k = int (pc.k_first + k);
    }
  }
#endif

  if (!live)
    return;
  d_data[pc.d_off + row] = best_k;
  if ((pc.flags & NEAREST_KEEP) != 0u)
    best_data[pc.best_off + row] = best;
}
