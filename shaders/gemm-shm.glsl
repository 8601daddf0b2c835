// gemm-shm.glsl — shared-memory tiled GEMM for GPUs.
//
// A workgroup computes a BM×BN tile of C = A·B, stepping through K in slices of BK. Each
// slice of A and B is read from global memory once, with consecutive invocations on
// consecutive addresses (along k when the operand is k-contiguous, else along m or n),
// and kept in shared memory k-major as vec4 rows, so the inner loop reads whole vec4s:
// a broadcast for A, conflict-free consecutive vec4s for B. Every invocation accumulates
// a TM×TN register tile (TM and TN multiples of 4). The next slice is fetched into
// registers while the current one is being multiplied. Rows are padded by 4 floats,
// which keeps vec4 alignment and makes transposing stores at most 2-way bank conflicts.
//
// Interface: as gemm-reg.glsl. The host guarantees local size = (BM/TM)·(BN/TN) and that it divides
// BM·BK and BN·BK.

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint BM = 64u;
layout(constant_id = 2) const uint BN = 64u;
layout(constant_id = 3) const uint BK = 16u;
layout(constant_id = 4) const uint TM = 4u;
layout(constant_id = 5) const uint TN = 4u;
layout(constant_id = 6) const bool A_KFAST = true;
layout(constant_id = 7) const bool B_KFAST = false;

void  gemm_begin (uint batch);                // select one problem of the batch
float gemm_a (uint m, uint k);                // A[m][k], called with m < M, k < K
float gemm_b (uint k, uint n);                // B[k][n], called with k < K, n < N
void  gemm_store (uint m, uint n, float v);   // called with m < M, n < N

const uint TX = BN / TN;           // invocations along N
const uint TY = BM / TM;           // invocations along M
const uint NT = TX * TY;           // = local size
const uint SA4 = (BM + 4u) / 4u;   // vec4s per k-row of the A slice
const uint SB4 = (BN + 4u) / 4u;
const uint LA = BM * BK / NT;      // A elements each invocation fetches per slice
const uint LB = BN * BK / NT;

shared vec4 sh_a[BK * SA4];
shared vec4 sh_b[BK * SB4];

float reg_a[LA];
float reg_b[LB];

uint gemm_group_index ()
{
  return (gl_WorkGroupID.z * gl_NumWorkGroups.y + gl_WorkGroupID.y) * gl_NumWorkGroups.x +
         gl_WorkGroupID.x;
}

// Position within the slice of the t-th element this invocation moves: (row, k).
uvec2 gemm_slot_a (uint t)
{
  uint e = gl_LocalInvocationID.x + t * NT;
  return A_KFAST ? uvec2 (e / BK, e % BK) : uvec2 (e % BM, e / BM);
}

uvec2 gemm_slot_b (uint t)
{
  uint e = gl_LocalInvocationID.x + t * NT;
  return B_KFAST ? uvec2 (e / BK, e % BK) : uvec2 (e % BN, e / BN);
}

void gemm_fetch (uint m0, uint n0, uint k0)
{
  for (uint t = 0u; t < LA; t++) {
    uvec2 s = gemm_slot_a (t);
    uint k = k0 + s.y;
    reg_a[t] = k < GEMM_K ? gemm_a (min (m0 + s.x, GEMM_M - 1u), k) : 0.0;
  }
  for (uint t = 0u; t < LB; t++) {
    uvec2 s = gemm_slot_b (t);
    uint k = k0 + s.y;
    reg_b[t] = k < GEMM_K ? gemm_b (k, min (n0 + s.x, GEMM_N - 1u)) : 0.0;
  }
}

void gemm_stash ()
{
  for (uint t = 0u; t < LA; t++) {
    uvec2 s = gemm_slot_a (t);
    sh_a[s.y * SA4 + s.x / 4u][s.x % 4u] = reg_a[t];
  }
  for (uint t = 0u; t < LB; t++) {
    uvec2 s = gemm_slot_b (t);
    sh_b[s.y * SB4 + s.x / 4u][s.x % 4u] = reg_b[t];
  }
}

void main ()
{
  uint tiles_n = (GEMM_N + BN - 1u) / BN;
  uint tiles_m = (GEMM_M + BM - 1u) / BM;
  uint gid = gemm_group_index ();
  if (gid >= tiles_m * tiles_n * GEMM_BATCHES)
    return; // the whole workgroup leaves: no barrier is left waiting
  uint tn = gid % tiles_n, rest = gid / tiles_n;
  uint tm = rest % tiles_m, batch = rest / tiles_m;
  gemm_begin (batch);

  uint m0 = tm * BM, n0 = tn * BN;
  uint tx = gl_LocalInvocationID.x % TX, ty = gl_LocalInvocationID.x / TX;

  vec4 acc[TM * TN / 4u];
  for (uint i = 0u; i < TM * TN / 4u; i++)
    acc[i] = vec4 (0.0);

  uint slices = (GEMM_K + BK - 1u) / BK;
  gemm_fetch (m0, n0, 0u);
  for (uint s = 0u; s < slices; s++) {
    gemm_stash ();
    barrier ();
    if (s + 1u < slices)
      gemm_fetch (m0, n0, (s + 1u) * BK);
    for (uint k = 0u; k < BK; k++) {
      vec4 av[TM / 4u], bv[TN / 4u];
      for (uint i = 0u; i < TM / 4u; i++)
        av[i] = sh_a[k * SA4 + ty + i * TY];
      for (uint j = 0u; j < TN / 4u; j++)
        bv[j] = sh_b[k * SB4 + tx + j * TX];
      for (uint i = 0u; i < TM / 4u; i++)
        for (uint r = 0u; r < 4u; r++)
          for (uint j = 0u; j < TN / 4u; j++)
            acc[(i * 4u + r) * (TN / 4u) + j] += av[i][r] * bv[j];
    }
    barrier ();
  }

  for (uint i = 0u; i < TM / 4u; i++)
    for (uint r = 0u; r < 4u; r++) {
      uint m = m0 + (ty + i * TY) * 4u + r;
      if (m >= GEMM_M)
        continue;
      for (uint j = 0u; j < TN / 4u; j++)
        for (uint c = 0u; c < 4u; c++) {
          uint n = n0 + (tx + j * TX) * 4u + c;
          if (n < GEMM_N)
            gemm_store (m, n, acc[(i * 4u + r) * (TN / 4u) + j][c]);
        }
    }
}
