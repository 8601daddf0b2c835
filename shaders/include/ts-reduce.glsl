// ts-reduce.glsl — workgroup-wide sum and max. The including shader declares
//   layout(local_size_x_id = 0) in;
//   layout(constant_id = 0) const uint WG = 64;   // a power of two
// and, for the SUBGROUP variant, enables GL_KHR_shader_subgroup_arithmetic. The subgroup
// size is never assumed: partial results are indexed by gl_SubgroupID and summed over
// gl_NumSubgroups. Every invocation of the workgroup must call these (they contain
// barriers) and gets the same result.
#ifndef TS_REDUCE_GLSL
#define TS_REDUCE_GLSL

shared float ts_red[WG];

#ifdef SUBGROUP

float ts_wg_sum (float v)
{
  v = subgroupAdd (v);
  if (subgroupElect ())
    ts_red[gl_SubgroupID] = v;
  barrier ();
  float s = 0.0;
  for (uint i = 0u; i < gl_NumSubgroups; i++)
    s += ts_red[i];
  barrier ();
  return s;
}

float ts_wg_max (float v)
{
  v = subgroupMax (v);
  if (subgroupElect ())
    ts_red[gl_SubgroupID] = v;
  barrier ();
  float m = ts_red[0];
  for (uint i = 1u; i < gl_NumSubgroups; i++)
    m = max (m, ts_red[i]);
  barrier ();
  return m;
}

#else

float ts_wg_sum (float v)
{
  uint l = gl_LocalInvocationID.x;
  ts_red[l] = v;
  barrier ();
  for (uint s = WG / 2u; s > 0u; s >>= 1) {
    if (l < s)
      ts_red[l] += ts_red[l + s];
    barrier ();
  }
  float r = ts_red[0];
  barrier ();
  return r;
}

float ts_wg_max (float v)
{
  uint l = gl_LocalInvocationID.x;
  ts_red[l] = v;
  barrier ();
  for (uint s = WG / 2u; s > 0u; s >>= 1) {
    if (l < s)
      ts_red[l] = max (ts_red[l], ts_red[l + s]);
    barrier ();
  }
  float r = ts_red[0];
  barrier ();
  return r;
}

#endif
#endif
