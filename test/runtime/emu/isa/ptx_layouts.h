// The PTX fragment formulas (element index i of lane → matrix row/col), written out once for the tests
// straight from ptx-fragments.md §1–§3 (not from the implementation). g = lane >> 2, t = lane & 3.
#pragma once

namespace isa_test {

struct Pos { int row, col; };

// §1 m16n8k64 (4-bit): A a0..a31 (reg i/8, nibble i%8), B b0..b15 (reg i/8), C/D c0..c3.
inline Pos a_k64(int lane, int i) {
  int g = lane >> 2, t = lane & 3;
  return {(i < 8 || (i >= 16 && i < 24)) ? g : g + 8, t * 8 + (i & 7) + (i >= 16 ? 32 : 0)};
}
inline Pos b_k64(int lane, int i) { return {(lane & 3) * 8 + (i & 7) + (i >= 8 ? 32 : 0), lane >> 2}; }
inline Pos cd_16x8(int lane, int i) { return {(lane >> 2) + (i >= 2 ? 8 : 0), (lane & 3) * 2 + (i & 1)}; }

// §3 m16n8k16 (16-bit): A a0..a7 (reg i/2, half i%2), B b0..b3 (reg i/2, half i%2).
inline Pos a_k16(int lane, int i) {
  int g = lane >> 2, t = lane & 3;
  return {(i < 2 || (i >= 4 && i < 6)) ? g : g + 8, t * 2 + (i & 1) + (i >= 4 ? 8 : 0)};
}
inline Pos b_k16(int lane, int i) { return {(lane & 3) * 2 + (i & 1) + (i >= 2 ? 8 : 0), lane >> 2}; }

// §4.4 scale suppliers: SF_A[m][b] in lane 4(m%8) + 2·tid_a + (m>=8), byte bid_a + b;
// SF_B[b][n] in lane 4n + tid_b, byte bid_b + b.
inline int sfa_lane(int m, int tid_a) { return 4 * (m % 8) + 2 * tid_a + (m >= 8 ? 1 : 0); }
inline int sfb_lane(int n, int tid_b) { return 4 * n + tid_b; }

}  // namespace isa_test
