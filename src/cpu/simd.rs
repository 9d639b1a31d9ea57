//! Which vector instructions the CPU pixel pass is compiled for, chosen once
//! at run time. The pass is written as plain per-pixel loops without
//! branches (`colour.rs`, `scratch.rs`, `pairs.rs`); on x86-64 with AVX2 the
//! same source is compiled a second time with AVX2 enabled (8 pixels per
//! instruction) and picked by runtime detection, everywhere else it runs as
//! compiled (SSE2 on x86-64: the scalar fallback). Both do the same IEEE f32
//! operations per pixel in the same order (Rust never fuses a multiply and
//! an add), so they give the same bits; a test renders every policy with
//! each level and compares (`cargo test -p augkit --lib cpu::fused_tests`).

/// An instruction-set level the pixel pass can run at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Isa {
    /// The crate's baseline target features.
    Baseline,
    /// x86-64 AVX2 (detected at run time).
    Avx2,
}

impl Isa {
    /// The best level this CPU offers.
    pub fn detect() -> Self {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            return Isa::Avx2;
        }
        Isa::Baseline
    }

    /// The levels this CPU can run (for tests).
    pub fn available() -> Vec<Self> {
        let mut all = vec![Isa::Baseline];
        if Self::detect() == Isa::Avx2 {
            all.push(Isa::Avx2);
        }
        all
    }
}

/// Defines `$name(isa, args…)`, which runs `$body(args…)` (an
/// `#[inline(always)]` function) compiled for the given level.
macro_rules! dispatch {
    (
        $(#[$doc:meta])*
        $vis:vis fn $name:ident<$($g:ident: $bound:path),*>($($arg:ident: $ty:ty),* $(,)?) => $body:path
    ) => {
        $(#[$doc])*
        #[allow(clippy::too_many_arguments)]
        $vis fn $name<$($g: $bound),*>(isa: $crate::cpu::simd::Isa, $($arg: $ty),*) {
            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx2")]
            #[allow(clippy::too_many_arguments)]
            fn avx2<$($g: $bound),*>($($arg: $ty),*) {
                $body($($arg),*)
            }
            match isa {
                #[cfg(target_arch = "x86_64")]
                $crate::cpu::simd::Isa::Avx2 => {
                    assert!(std::arch::is_x86_feature_detected!("avx2"));
                    // SAFETY: AVX2 is present (checked just above).
                    unsafe { avx2($($arg),*) }
                }
                _ => $body($($arg),*),
            }
        }
    };
}
pub(crate) use dispatch;
