#version 450
// Copy bandwidth: vec4 loads and stores, a grid-stride loop so any grid covers any size.
layout(local_size_x_id = 0) in;

layout(std430, binding = 0) readonly buffer Src { vec4 src[]; };
layout(std430, binding = 1) writeonly buffer Dst { vec4 dst[]; };
layout(push_constant) uniform Params { uint n_vec4; } p;

void main()
{
  uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  for (uint i = gl_GlobalInvocationID.x; i < p.n_vec4; i += stride)
    dst[i] = src[i];
}
