// gemm-coopmat.glsl — GEMM on NVIDIA's matrix units (VK_NV_cooperative_matrix).
//
// A workgroup computes a BM×BN tile of C = A·B with f32 accumulation, stepping through K in
// slices of BK = 16 (the K of one 16×16×16 f16 matrix operation). Each slice of A and B is
// read from global memory with consecutive invocations on consecutive addresses (as in
// gemm-shm.glsl), rounded to f16 and kept in shared memory row-major (A: m rows of BK,
// B: k rows of BN), where each subgroup loads its 16×16 fragments. The workgroup's
// subgroups form a WM×WN grid, each owning a (BM/WM)×(BN/WN) part of the tile as
// 16×16 accumulators. The accumulators go through shared memory to gemm_store, which
// adds bias and earlier K slices and checks the edges.
//
// Chosen by vk-coopmat.c only where the device reports the extension, the subgroup size is
// 32 and the shape fills whole tiles (vk-coopmat.c says which); elsewhere gemm-shm.glsl or
// gemm-reg.glsl. The host guarantees local size = 32·WM·WN, and BM, BN multiples of 16·WM,
// 16·WN. Interface: as gemm-shm.glsl.
#extension GL_NV_cooperative_matrix : require
#extension GL_KHR_memory_scope_semantics : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint BM = 64u;
layout(constant_id = 2) const uint BN = 64u;
layout(constant_id = 3) const uint BK = 16u;  // must be 16
layout(constant_id = 4) const uint WM = 2u;   // subgroups along M
layout(constant_id = 5) const uint WN = 2u;   // subgroups along N
layout(constant_id = 6) const bool A_KFAST = true;
layout(constant_id = 7) const bool B_KFAST = false;

void  gemm_begin (uint batch);
float gemm_a (uint m, uint k);
float gemm_b (uint k, uint n);
void  gemm_store (uint m, uint n, float v);

const uint NT = 32u * WM * WN;     // = local size
const uint FM = BM / WM / 16u;     // 16×16 fragments per subgroup along M
const uint FN = BN / WN / 16u;
const uint LA = BM * BK / NT;      // A elements each invocation moves per slice
const uint LB = BN * BK / NT;

shared float16_t sh_a[BM * BK];
shared float16_t sh_b[BK * BN];
shared float sh_c[BM * BN];

uint gemm_group_index ()
{
  return (gl_WorkGroupID.z * gl_NumWorkGroups.y + gl_WorkGroupID.y) * gl_NumWorkGroups.x +
         gl_WorkGroupID.x;
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
  uint sg = gl_LocalInvocationID.x / 32u, sm = sg / WN, sn = sg % WN; // subgroup size 32

  fcoopmatNV<32, gl_ScopeSubgroup, 16, 16> acc[FM * FN];
  for (uint i = 0u; i < FM * FN; i++)
    acc[i] = fcoopmatNV<32, gl_ScopeSubgroup, 16, 16> (0.0);

  for (uint k0 = 0u; k0 < GEMM_K; k0 += BK) {
    for (uint t = 0u; t < LA; t++) {
      uint e = gl_LocalInvocationID.x + t * NT;
      uvec2 s = A_KFAST ? uvec2 (e / BK, e % BK) : uvec2 (e % BM, e / BM); // (m, k)
      uint m = m0 + s.x, k = k0 + s.y;
      // Activations beyond f16's range saturate instead of turning into infinities.
      float v = m < GEMM_M && k < GEMM_K ? gemm_a (m, k) : 0.0;
      sh_a[s.x * BK + s.y] = float16_t (clamp (v, -65504.0, 65504.0));
    }
    for (uint t = 0u; t < LB; t++) {
      uint e = gl_LocalInvocationID.x + t * NT;
      uvec2 s = B_KFAST ? uvec2 (e / BK, e % BK) : uvec2 (e % BN, e / BN); // (n, k)
      uint n = n0 + s.x, k = k0 + s.y;
      sh_b[s.y * BN + s.x] = float16_t (n < GEMM_N && k < GEMM_K ? gemm_b (k, n) : 0.0);
    }
    barrier ();
    fcoopmatNV<16, gl_ScopeSubgroup, 16, 16> fa[FM];
    for (uint i = 0u; i < FM; i++)
      coopMatLoadNV (fa[i], sh_a, (sm * FM + i) * 16u * BK, BK, false);
    for (uint j = 0u; j < FN; j++) {
      fcoopmatNV<16, gl_ScopeSubgroup, 16, 16> fb;
      coopMatLoadNV (fb, sh_b, (sn * FN + j) * 16u, BN, false);
      for (uint i = 0u; i < FM; i++)
        acc[i * FN + j] = coopMatMulAddNV (fa[i], fb, acc[i * FN + j]);
    }
    barrier ();
  }

  for (uint i = 0u; i < FM; i++)
    for (uint j = 0u; j < FN; j++)
      coopMatStoreNV (acc[i * FN + j], sh_c, ((sm * FM + i) * 16u) * BN + (sn * FN + j) * 16u,
                      BN, false);
  barrier ();
  for (uint e = gl_LocalInvocationID.x; e < BM * BN; e += NT) {
    uint m = m0 + e / BN, n = n0 + e % BN;
    if (m < GEMM_M && n < GEMM_N)
      gemm_store (m, n, sh_c[e]);
  }
}
