#version 450
// Peak FMA throughput: 8 independent vec4 FMA chains per invocation, so the ALUs never wait
// on a dependency. Only for tessera-bench's "% of peak" figures.
layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint ITERATIONS = 256;

layout(std430, binding = 0) writeonly buffer Out { vec4 result[]; };
layout(push_constant) uniform Params { float seed; } p;

void main()
{
  vec4 a = vec4(p.seed, p.seed * 0.5, p.seed * 0.25, float(gl_GlobalInvocationID.x) * 1e-9);
  vec4 c0 = a, c1 = a + 1.0, c2 = a + 2.0, c3 = a + 3.0;
  vec4 c4 = a + 4.0, c5 = a + 5.0, c6 = a + 6.0, c7 = a + 7.0;
  const vec4 m = vec4(0.9999);
  for (uint i = 0; i < ITERATIONS; i++) {
    c0 = fma(c0, m, a); c1 = fma(c1, m, a); c2 = fma(c2, m, a); c3 = fma(c3, m, a);
    c4 = fma(c4, m, a); c5 = fma(c5, m, a); c6 = fma(c6, m, a); c7 = fma(c7, m, a);
  }
  result[gl_GlobalInvocationID.x] = c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7;
}
