// Host shim for kernels/cuda/augment.cu: just enough CUDA for g++ (C++20,
// -ffp-contract=off) to compile the kernels unchanged and run them on the CPU.
// Launchers (emu.cpp) loop over the grid and set the thread-local indices;
// kernels that use __syncthreads run each block's threads as std::threads
// meeting at a std::barrier, with __shared__ arrays as function statics
// (blocks run one at a time).
#pragma once

#include <atomic>
#include <barrier>
#include <bit>
#include <cmath>
#include <cstdint>

#define __global__
#define __device__
#define __forceinline__ inline
#define __restrict__ __restrict
#define __launch_bounds__(...)
#define __shared__ static

struct dim3 {
    unsigned int x, y, z;
};

inline thread_local dim3 threadIdx;
inline thread_local dim3 blockIdx;
inline thread_local dim3 blockDim;
inline thread_local dim3 gridDim;

/// The barrier of the block being run (set by the launcher).
inline std::barrier<>* emu_block_barrier = nullptr;

inline void __syncthreads() { emu_block_barrier->arrive_and_wait(); }

/// Shared-memory atomics: the block's threads are real threads here.
inline unsigned int atomicAdd(unsigned int* at, unsigned int v) {
    return std::atomic_ref<unsigned int>(*at).fetch_add(v);
}

inline unsigned int __umulhi(unsigned int a, unsigned int b) {
    return (unsigned int)(((unsigned long long)a * b) >> 32);
}
inline unsigned int __float_as_uint(float f) { return std::bit_cast<unsigned int>(f); }
inline float __uint_as_float(unsigned int u) { return std::bit_cast<float>(u); }
inline float __fdividef(float a, float b) { return a / b; }

using std::ceil;
