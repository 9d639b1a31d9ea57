// augkit CUDA prelude: fixed-width integer names and our own half / bfloat16
// storage types with round-to-nearest-even conversions.
//
// NVRTC 13 ships no cuda_fp16.h / cuda_bf16.h and the kernels must compile
// with no CUDA headers at all, on a GPU (NVRTC) and on the host (g++ behind
// tests/cuda-host/src/shim.hpp). Only CUDA built-ins are used here:
// __float_as_uint / __uint_as_float (the shim defines them with bit_cast).
// The conversions equal the `half` crate's f16/bf16 `from_f32` for every
// non-NaN f32 (NaN becomes a quiet NaN of the same sign).
#pragma once

typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef int i32;
typedef unsigned long long u64;

#define AK_FN static __device__ __forceinline__
#define AK_FN_MEMBER __device__ __forceinline__

/// IEEE binary16, stored as its bits.
struct ak_half {
    u16 bits;
};

/// bfloat16, stored as its bits.
struct ak_bfloat16 {
    u16 bits;
};

/// f32 → binary16, round to nearest even, overflow to ±inf (F. Giesen's
/// float_to_half_fast3_rtne). Subnormals are rounded by one f32 addition,
/// which is exact-RNE as long as denormals are not flushed (NVRTC's default
/// -ftz=false; g++ without -ffast-math).
AK_FN ak_half ak_float2half_rn(float f) {
    const u32 f32_infinity = 255u << 23;
    const u32 f16_overflow = (127u + 16u) << 23;  // 65536.0f
    const u32 denorm_magic = ((127u - 15u) + (23u - 10u) + 1u) << 23;
    u32 u = __float_as_uint(f);
    const u32 sign = u & 0x80000000u;
    u ^= sign;
    u32 out;
    if (u >= f16_overflow) {
        out = u > f32_infinity ? 0x7e00u : 0x7c00u;
    } else if (u < (113u << 23)) {
        // Below 2^-14: the f16 subnormal grid, aligned by adding 0.5.
        const float t = __uint_as_float(u) + __uint_as_float(denorm_magic);
        out = __float_as_uint(t) - denorm_magic;
    } else {
        const u32 mantissa_odd = (u >> 13) & 1u;
        u += (u32)(15 - 127) << 23;  // rebias the exponent (wraps, as intended)
        u += 0xfffu + mantissa_odd;
        out = u >> 13;
    }
    ak_half h;
    h.bits = (u16)(out | (sign >> 16));
    return h;
}

/// f32 → bfloat16, round to nearest even; NaN stays a (quiet) NaN.
AK_FN ak_bfloat16 ak_float2bfloat16_rn(float f) {
    const u32 u = __float_as_uint(f);
    ak_bfloat16 b;
    if ((u & 0x7fffffffu) > 0x7f800000u) {
        b.bits = (u16)((u >> 16) | 0x40u);
    } else {
        b.bits = (u16)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
    }
    return b;
}

/// f32 → i32 as Rust's `as` casts: truncation, saturation, NaN → 0.
AK_FN i32 ak_f2i(float f) {
    if (!(f == f)) return 0;
    if (f >= 2147483648.0f) return 2147483647;
    if (f <= -2147483648.0f) return (-2147483647 - 1);
    return (i32)f;
}

/// sin and cos of a small argument (|x| ≤ 2^12; augkit passes |x| ≤ 2π):
/// Cody–Waite reduction by π/2 with exact fmaf steps, then minimax
/// polynomials on [−π/4, π/4] (Cephes sinf/cosf coefficients). Within ~1 ulp
/// of the correctly rounded result. Used instead of sinf/cosf because their
/// Payne–Hanek path for huge arguments costs a local-memory stack frame in
/// every kernel that calls them; the host emulation runs this same code.
AK_FN void ak_sincosf_small(float x, float* sin_out, float* cos_out) {
    const float q = rintf(x * 0.636619772367581343076f);
    float r = fmaf(q, -1.57079601287841796875f, x);
    r = fmaf(q, -3.13916473e-07f, r);
    r = fmaf(q, -5.39030253e-15f, r);
    const float r2 = r * r;
    const float s = r + r * r2 * (-1.6666654611e-1f + r2 * (8.3321608736e-3f + r2 * -1.9515295891e-4f));
    const float c = 1.0f - 0.5f * r2 +
                    r2 * r2 * (4.166664568298827e-2f + r2 * (-1.388731625493765e-3f + r2 * 2.443315711809948e-5f));
    const i32 quadrant = ak_f2i(q) & 3;
    if (quadrant == 0) {
        *sin_out = s;
        *cos_out = c;
    } else if (quadrant == 1) {
        *sin_out = c;
        *cos_out = -s;
    } else if (quadrant == 2) {
        *sin_out = -s;
        *cos_out = -c;
    } else {
        *sin_out = -c;
        *cos_out = s;
    }
}
