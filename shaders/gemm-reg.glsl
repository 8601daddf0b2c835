// gemm-reg.glsl — register-blocked GEMM without shared memory or barriers.
//
// For CPU Vulkan devices (lavapipe turns every barrier() into a coroutine switch) and for
// shapes too small to fill shared-memory tiles. Each invocation computes a TM×TN block of
// C = A·B straight from the storage buffers. Its rows and columns are strided by the
// workgroup's width so that neighbouring invocations touch neighbouring addresses.
//
// The including shader defines GEMM_M, GEMM_N, GEMM_K, GEMM_BATCHES (uint expressions: the
// problem of this dispatch) before including this file, and after it (they may use the
// spec constants declared here) the functions declared below.
// Workgroups are numbered linearly (the host folds large grids into y and z): the tile
// along N varies fastest, then the tile along M, then the batch.

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint WN = 16u;   // invocations along N; WG / WN along M
layout(constant_id = 2) const uint TM = 4u;    // rows per invocation
layout(constant_id = 3) const uint TN = 4u;    // columns per invocation
layout(constant_id = 6) const bool A_KFAST = true;  // A's k index is its contiguous one
layout(constant_id = 7) const bool B_KFAST = false; // B's k index is its contiguous one

void  gemm_begin (uint batch);                // select one problem of the batch
float gemm_a (uint m, uint k);                // A[m][k], called with m < M, k < K
float gemm_b (uint k, uint n);                // B[k][n], called with k < K, n < N
void  gemm_store (uint m, uint n, float v);   // called with m < M, n < N

const uint WM = gl_WorkGroupSize.x / WN;

uint gemm_group_index ()
{
  return (gl_WorkGroupID.z * gl_NumWorkGroups.y + gl_WorkGroupID.y) * gl_NumWorkGroups.x +
         gl_WorkGroupID.x;
}

void main ()
{
  const uint tile_m = WM * TM, tile_n = WN * TN;
  uint tiles_n = (GEMM_N + tile_n - 1u) / tile_n;
  uint tiles_m = (GEMM_M + tile_m - 1u) / tile_m;
  uint gid = gemm_group_index ();
  if (gid >= tiles_m * tiles_n * GEMM_BATCHES)
    return;
  uint tn = gid % tiles_n, rest = gid / tiles_n;
  uint tm = rest % tiles_m, batch = rest / tiles_m;
  gemm_begin (batch);

  uint m0 = tm * tile_m + gl_LocalInvocationID.x / WN;
  uint n0 = tn * tile_n + gl_LocalInvocationID.x % WN;
  // Rows and columns past the edge read the last valid one and are never stored, which
  // keeps the k loop free of bounds checks.
  uint rows[TM], cols[TN];
  for (uint i = 0u; i < TM; i++)
    rows[i] = min (m0 + i * WM, GEMM_M - 1u);
  for (uint j = 0u; j < TN; j++)
    cols[j] = min (n0 + j * WN, GEMM_N - 1u);

  float acc[TM * TN];
  for (uint i = 0u; i < TM * TN; i++)
    acc[i] = 0.0;

  for (uint k = 0u; k < GEMM_K; k++) {
    float av[TM], bv[TN];
    for (uint i = 0u; i < TM; i++)
      av[i] = gemm_a (rows[i], k);
    for (uint j = 0u; j < TN; j++)
      bv[j] = gemm_b (k, cols[j]);
    for (uint i = 0u; i < TM; i++)
      for (uint j = 0u; j < TN; j++)
        acc[i * TN + j] += av[i] * bv[j];
  }

  for (uint i = 0u; i < TM; i++) {
    uint m = m0 + i * WM;
    if (m >= GEMM_M)
      break;
    for (uint j = 0u; j < TN; j++) {
      uint n = n0 + j * WN;
      if (n < GEMM_N)
        gemm_store (m, n, acc[i * TN + j]);
    }
  }
}
