// A small kernel in the portable subset, compiled unchanged by nvcc (sm_80, sm_89, sm_120a) and by g++
// against the emulator: cp.async global -> shared, ldmatrix into MMA fragments, INT4 mma.sync
// m16n8k64 over K, an int -> float epilogue with a quad butterfly (shfl_xor), and (sm_120 family or the
// emulator) an NVFP4 block-scaled MMA. The host part checks the result against a plain triple loop.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <vector>

#include "svdq/portable.h"

constexpr int kK = 128;  // two m16n8k64 steps

// A: 16 rows × kK nibbles, row-major (kK/2 bytes per row); B: 8 columns × kK nibbles, column-major.
// One warp computes D = A·B (16×8) and each quad's row sum.
template <bool kFp4>
__global__ void tile_kernel(const uint8_t* a, const uint8_t* b, const uint32_t* sfa, const uint32_t* sfb, float* d,
                            float* row_sum) {
  __shared__ __align__(16) uint8_t sa[16 * kK / 2];
  __shared__ __align__(16) uint8_t sb[8 * kK / 2];
  const int lane = threadIdx.x;
  // 1 KiB of A and 512 B of B in 16-byte cp.async chunks
  for (int c = lane; c < 16 * kK / 32; c += 32) svdq::arch::cp_async_cg16(sa + 16 * c, a + 16 * c, 16);
  for (int c = lane; c < 8 * kK / 32; c += 32) svdq::arch::cp_async_cg16(sb + 16 * c, b + 16 * c, 16);
  svdq::arch::cp_async_commit();
  svdq::arch::cp_async_wait<0>();
  __syncthreads();

  int acc_i[4] = {0, 0, 0, 0};
  float acc_f[4] = {0.0f, 0.0f, 0.0f, 0.0f};
  for (int kt = 0; kt < kK / 64; ++kt) {
    // A fragment: matrices (rows 0-7, k lo), (rows 8-15, k lo), (rows 0-7, k hi), (rows 8-15, k hi) (§5)
    const int arow = lane % 8 + 8 * ((lane / 8) % 2), ahalf = lane / 16;
    uint32_t af[4];
    svdq::arch::ldmatrix_x4(af, sa + arow * (kK / 2) + kt * 32 + ahalf * 16);
    // B fragment: column-major columns are the 8×(16-byte) rows of two matrices (k lo, k hi)
    const int bcol = lane % 8, bhalf = (lane / 8) % 2;
    uint32_t bf[2];
    svdq::arch::ldmatrix_x2(bf, sb + bcol * (kK / 2) + kt * 32 + bhalf * 16);
    if constexpr (!kFp4) {
      svdq::arch::mma_m16n8k64<svdq::arch::S4, svdq::arch::S4>(acc_i, af, bf, acc_i);
    } else {
#if defined(SVDQ_EMU) || defined(SVDQ_HAS_MMA_FP4)
      // §4.4 with thread-id 0: lane 4(m%8) + (m>=8) supplies row m's four ue4m3 scales (one per 16 k)
      const int g = lane / 4, t = lane % 4;
      const uint32_t sa_reg = t < 2 ? svdq::ldg(sfa + (g + 8 * t) * (kK / 64) + kt) : 0u;
      const uint32_t sb_reg = t == 0 ? svdq::ldg(sfb + g * (kK / 64) + kt) : 0u;
      svdq::arch::mma_m16n8k64_nvf4(acc_f, af, bf, acc_f, sa_reg, 0, 0, sb_reg, 0, 0);
#endif
    }
  }
  float v[4];
  for (int i = 0; i < 4; ++i) v[i] = kFp4 ? acc_f[i] : __int2float_rn(acc_i[i]);
  const int g = lane / 4, t = lane % 4;
  for (int i = 0; i < 4; ++i) svdq::stg(d + (g + 8 * (i / 2)) * 8 + 2 * t + (i % 2), v[i]);
  // row sums of rows g and g+8 across the quad (4 lanes × 2 columns)
  float s0 = __fadd_rn(v[0], v[1]), s1 = __fadd_rn(v[2], v[3]);
  for (int m = 1; m <= 2; m *= 2) {
    s0 = __fadd_rn(s0, __shfl_xor_sync(0xffffffffu, s0, m));
    s1 = __fadd_rn(s1, __shfl_xor_sync(0xffffffffu, s1, m));
  }
  if (t == 0) {
    svdq::stg(row_sum + g, s0);
    svdq::stg(row_sum + g + 8, s1);
  }
}

static uint32_t rnd(uint64_t& s) { s = s * 6364136223846793005ull + 1442695040888963407ull; return static_cast<uint32_t>(s >> 32); }

static int run(bool fp4) {
  uint64_t seed = fp4 ? 7 : 3;
  std::vector<uint8_t> a(16 * kK / 2), b(8 * kK / 2);
  for (auto& x : a) x = static_cast<uint8_t>(rnd(seed));
  for (auto& x : b) x = static_cast<uint8_t>(rnd(seed));
  // ue4m3 scales in [0.5, 4] (codes 0x30..0x48): every sum stays exact in float, so results are bit-exact
  std::vector<uint32_t> sfa(16 * kK / 64), sfb(8 * kK / 64);
  for (auto& x : sfa) for (int j = 0; j < 4; ++j) x |= (0x30u + rnd(seed) % 0x19u) << (8 * j);
  for (auto& x : sfb) for (int j = 0; j < 4; ++j) x |= (0x30u + rnd(seed) % 0x19u) << (8 * j);
  svdq::DeviceBuffer<uint8_t> da(a.size()), db(b.size());
  svdq::DeviceBuffer<uint32_t> dsa(sfa.size()), dsb(sfb.size());
  svdq::DeviceBuffer<float> dd(16 * 8), drs(16);
  da.upload(a); db.upload(b); dsa.upload(sfa); dsb.upload(sfb);
  if (fp4) {
    auto* k = &tile_kernel<true>;
    SVDQ_LAUNCH(k, dim3(1), dim3(32), 0, nullptr)(da.data(), db.data(), dsa.data(), dsb.data(), dd.data(), drs.data());
  } else {
    auto* k = &tile_kernel<false>;
    SVDQ_LAUNCH(k, dim3(1), dim3(32), 0, nullptr)(da.data(), db.data(), dsa.data(), dsb.data(), dd.data(), drs.data());
  }
  if (cudaGetLastError() != cudaSuccess) { std::printf("FAIL launch\n"); return 1; }
  std::vector<float> d = dd.download(), rs = drs.download();
  auto nib = [](const std::vector<uint8_t>& v, int idx) { return (v[idx / 2] >> (4 * (idx % 2))) & 0xF; };
  static const double kE2M1[16] = {0, 0.5, 1, 1.5, 2, 3, 4, 6, -0.0, -0.5, -1, -1.5, -2, -3, -4, -6};
  auto ue4m3 = [](uint32_t c) { int e = c >> 3, m = c & 7; return e == 0 ? std::ldexp(m / 8.0, -6) : std::ldexp(1 + m / 8.0, e - 7); };
  int bad = 0;
  for (int m = 0; m < 16; ++m) {
    double row = 0;
    for (int n = 0; n < 8; ++n) {
      double s = 0;
      for (int k = 0; k < kK; ++k) {
        const int x = nib(a, m * kK + k), y = nib(b, n * kK + k);
        if (!fp4) {
          s += static_cast<double>((x ^ 8) - 8) * ((y ^ 8) - 8);  // s4: two's complement nibble
        } else {
          const uint32_t ca = (sfa[m * (kK / 64) + k / 64] >> (8 * ((k % 64) / 16))) & 0xFF;
          const uint32_t cb = (sfb[n * (kK / 64) + k / 64] >> (8 * ((k % 64) / 16))) & 0xFF;
          s += kE2M1[x] * kE2M1[y] * ue4m3(ca) * ue4m3(cb);
        }
      }
      if (d[m * 8 + n] != static_cast<float>(s)) ++bad;
      row += static_cast<float>(s);
    }
    if (std::fabs(rs[m] - row) > 1e-3 * (1 + std::fabs(row))) ++bad;
  }
  std::printf("%s %s portable tile kernel (%d mismatches)\n", bad ? "FAIL" : "PASS", fp4 ? "nvfp4" : "int4", bad);
  return bad ? 1 : 0;
}

int main() {
  int f = run(false);
  f += run(true);
  return f;
}
