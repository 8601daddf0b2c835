#version 450
// embedding.comp — EMBEDDING: y[r, :] = table[ids[r], :] as f32. The table may be larger
// than one binding: each dispatch binds the rows [row_lo, row_hi) and writes only the
// outputs whose id falls there; the dispatch with zero_invalid set also writes zero rows
// for ids outside [0, vocab). Push constants are mirrored in compute/vulkan/vk-op-layout.c.
#extension GL_GOOGLE_include_directive : require

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 256;
layout(constant_id = 1) const uint TABLE_T = 0;
layout(constant_id = 2) const uint IDS_T = 3;   // i32 or i64

#include "ts-common.glsl"

layout(push_constant) uniform Push {
  uint n, d, ids_off, table_off, y_off, row_lo, row_hi, vocab, zero_invalid;
} p;

layout(binding = 0) readonly buffer Ids { uint ids[]; };
layout(binding = 1) readonly buffer Table { uint table[]; };
layout(binding = 2) writeonly buffer Y { float y[]; };

void main ()
{
  uint i = ts_group_index () * WG + gl_LocalInvocationID.x;
  if (i >= p.n)
    return;
  uint r = i / p.d, col = i % p.d;
  uint k = p.ids_off + r;
  uint id;
  bool valid;
  if (IDS_T == TS_DT_I64) {
    id = ids[2u * k];
    valid = ids[2u * k + 1u] == 0u && id < p.vocab; // negative ids have a non-zero high word
  } else {
    id = ids[k];
    valid = int (id) >= 0 && id < p.vocab;
  }
  if (valid && id >= p.row_lo && id < p.row_hi) {
    uint t = p.table_off + (id - p.row_lo) * p.d + col;
    y[p.y_off + i] = TS_LOAD_FLOAT (table, TABLE_T, t);
  } else if (!valid && p.zero_invalid != 0u) {
    y[p.y_off + i] = 0.0;
  }
}
