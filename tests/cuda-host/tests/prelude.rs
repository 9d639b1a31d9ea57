//! The CUDA prelude's conversions and small-argument sin/cos, host-emulated.
//!
//! Run: `cargo test -p augkit-cuda-host --test prelude -- --nocapture`.

use augkit_cuda_host as emu;

/// SplitMix64 bit patterns: every exponent, random mantissas.
fn random_bits(n: usize) -> impl Iterator<Item = u32> {
    let mut state = 0x1234_5678_9abc_def0u64;
    (0..n).map(move |_| {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        (z ^ (z >> 31)) as u32
    })
}

fn edge_cases() -> Vec<f32> {
    let mut v = vec![
        0.0,
        -0.0,
        1.0,
        -1.0,
        65504.0,
        65519.99,
        65520.0,
        65536.0,
        1e-8,
        -1e-8,
        5.96e-8,
        2.98e-8,
        2.9802322e-8,
        6.1035156e-5,
        6.1e-5,
        f32::MAX,
        f32::MIN_POSITIVE,
        f32::INFINITY,
        f32::NEG_INFINITY,
        3.0e38,
        1.0 + f32::EPSILON,
    ];
    // Halfway cases of the f16 grid around 1 and of the subnormal grid.
    for k in 0..64 {
        v.push(1.0 + (2 * k + 1) as f32 * 2f32.powi(-11));
        v.push((2 * k + 1) as f32 * 2f32.powi(-25));
    }
    v
}

#[test]
fn half_conversions_equal_the_half_crate() {
    let mut checked = 0;
    for f in edge_cases()
        .into_iter()
        .chain(random_bits(2_000_000).map(f32::from_bits))
    {
        let h = emu::float2half_rn(f);
        let b = emu::float2bfloat16_rn(f);
        if f.is_nan() {
            assert!(half::f16::from_bits(h).is_nan(), "{:08x}", f.to_bits());
            assert!(half::bf16::from_bits(b).is_nan(), "{:08x}", f.to_bits());
        } else {
            assert_eq!(
                h,
                half::f16::from_f32(f).to_bits(),
                "f16 of {f:e} ({:08x})",
                f.to_bits()
            );
            assert_eq!(
                b,
                half::bf16::from_f32(f).to_bits(),
                "bf16 of {f:e} ({:08x})",
                f.to_bits()
            );
        }
        checked += 1;
    }
    println!("{checked} f32 values: f16 and bf16 conversions identical to the half crate");
}

#[test]
fn small_sincos_is_within_two_ulp() {
    let mut max_ulp = 0.0f64;
    let mut max_abs = 0.0f64;
    let n = 400_000;
    for i in 0..=n {
        // [−2π, 2π] and the Box–Muller range [0, 2π).
        let x = (-2.0 * std::f64::consts::TAU
            + 4.0 * std::f64::consts::TAU * f64::from(i) / f64::from(n)) as f32;
        let (s, c) = emu::sincosf_small(x);
        for (got, exact) in [(s, f64::from(x).sin()), (c, f64::from(x).cos())] {
            let ulp = f64::from((exact as f32).abs().max(f32::MIN_POSITIVE)).max(1e-30);
            let ulp = f64::from(f32::from_bits((ulp as f32).to_bits() + 1)) - ulp;
            let err = (f64::from(got) - exact).abs();
            max_abs = max_abs.max(err);
            // Near zeros of sin/cos the absolute error is what matters.
            if exact.abs() > 1e-3 {
                max_ulp = max_ulp.max(err / ulp);
            }
        }
    }
    println!("sincosf_small on [-2τ, 2τ]: max {max_ulp:.2} ulp, max |Δ| {max_abs:.3e}");
    assert!(max_ulp <= 2.0, "{max_ulp} ulp");
    assert!(max_abs <= 2e-7, "{max_abs}");
}
