// ldmatrix.sync.aligned.m8n8.{x1,x2,x4}{.trans}.shared.b16 and movmatrix.sync.aligned.m8n8.trans.b16
// (ptx-fragments.md §5; movmatrix: PTX §9.7.14.5.16, sm_75, PTX 7.8). Pure lane functions over the
// 32 lanes' row addresses (ldmatrix) or registers (movmatrix); unit-tested without the engine.
//   Matrix r's row i starts at the address given by lane 8r + i.
//   non-trans: lane L's register r = { M_r[L/4][2(L%4)] (bits 15:0), M_r[L/4][2(L%4)+1] (bits 31:16) }
//   .trans:    lane L's register r = { M_r[2(L%4)][L/4],  M_r[2(L%4)+1][L/4] }
//   movmatrix: the 8×8 b16 matrix held one row per quad (lane L: row L/4, columns 2(L%4), +1) is
//              transposed: lane L receives { M[2(L%4)][L/4], M[2(L%4)+1][L/4] }.
#pragma once
#include <cstdint>
#include <cstring>

namespace svdq::isa {

inline uint16_t load_b16(const void* row, int col) {
  uint16_t v;
  std::memcpy(&v, static_cast<const unsigned char*>(row) + 2 * col, 2);
  return v;
}

template <int N, bool TRANS>
inline void ldmatrix_lane(int lane, const void* const* row_addr, uint32_t (&d)[N]) {
  const int g = lane >> 2, t = lane & 3;
  for (int r = 0; r < N; ++r) {
    if (!TRANS) {
      const void* row = row_addr[8 * r + g];
      d[r] = static_cast<uint32_t>(load_b16(row, 2 * t)) | (static_cast<uint32_t>(load_b16(row, 2 * t + 1)) << 16);
    } else {
      d[r] = static_cast<uint32_t>(load_b16(row_addr[8 * r + 2 * t], g)) |
             (static_cast<uint32_t>(load_b16(row_addr[8 * r + 2 * t + 1], g)) << 16);
    }
  }
}

inline uint32_t movmatrix_trans_lane(int lane, const uint32_t* regs) {
  const int g = lane >> 2, t = lane & 3;
  // element M[i][j] lives in lane 4i + j/2, half j%2
  auto elem = [&](int i, int j) { return static_cast<uint32_t>((regs[4 * i + j / 2] >> (16 * (j & 1))) & 0xFFFF); };
  return elem(2 * t, g) | (elem(2 * t + 1, g) << 16);
}

}  // namespace svdq::isa
