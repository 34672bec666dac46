// CUDA's built-in vector types (float2, int4, uint2, uint4, …) for the g++ emulator build, with the
// same size and alignment as CUDA's vector_types.h. Under nvcc CUDA's own definitions are used.
#pragma once
#if !defined(__CUDACC__) && !defined(SVDQ_VECTOR_TYPES_DEFINED)
#define SVDQ_VECTOR_TYPES_DEFINED 1

struct alignas(8) float2 { float x, y; };
struct alignas(16) float4 { float x, y, z, w; };
struct alignas(8) int2 { int x, y; };
struct alignas(16) int4 { int x, y, z, w; };
struct alignas(8) uint2 { unsigned int x, y; };
struct alignas(16) uint4 { unsigned int x, y, z, w; };
struct alignas(4) ushort2 { unsigned short x, y; };

inline float2 make_float2(float x, float y) { return {x, y}; }
inline float4 make_float4(float x, float y, float z, float w) { return {x, y, z, w}; }
inline int2 make_int2(int x, int y) { return {x, y}; }
inline int4 make_int4(int x, int y, int z, int w) { return {x, y, z, w}; }
inline uint2 make_uint2(unsigned x, unsigned y) { return {x, y}; }
inline uint4 make_uint4(unsigned x, unsigned y, unsigned z, unsigned w) { return {x, y, z, w}; }
inline ushort2 make_ushort2(unsigned short x, unsigned short y) { return {x, y}; }

#endif
