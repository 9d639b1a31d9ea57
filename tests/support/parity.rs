//! The parity matrix, once, for every device backend: the cases (policies,
//! shapes, batches, formats, synthetic samples), the one check of a step
//! against the CPU reference and its report. Each suite
//! (`tests/wgpu_parity.rs`, `tests/cuda-host/tests/parity.rs`,
//! `tests/cuda_backend.rs`) instantiates the matrices its backend supports
//! with [`parity_tests!`](crate::parity_tests), giving its tolerances and how
//! to build the backend for a case.
//!
//! A step is checked as: parameters (integers identical, floats within
//! `atol + rtol·|ref|`, boundary cases excused and counted), mix labels,
//! synthetic coefficients of the backend's own parameters, contrast means
//! over them, and pixels — the CPU `render_from` of the *backend's*
//! parameters, coefficients and means against the backend's pixels, within
//! the backend's pixel tolerance (nearest-tap boundary elements excused and
//! counted). Elements that are not bit-identical are counted and printed.

use std::sync::Arc;

use augkit::internals::kernel_args::StepArgs;
use augkit::internals::kernel_args::flags;
use augkit::policy::{ClassChoice, SynthMode, Synthetic};
use augkit::{
    DType, Dataset, DeviceBackend, HostImages, Layout, MixLabel, Plan, Policy, SampleParams, Step,
    SyntheticPool, cpu,
};

use super::{
    all_policy, auto_policy_matrix, compare_params, compare_pixels, policy_matrix, random_dataset,
    random_subset, with_output,
};

/// How far a backend may be from the CPU reference.
pub struct Tolerances {
    pub param_atol: f32,
    pub param_rtol: f32,
    pub coeff_atol: f32,
    pub coeff_rtol: f32,
    pub mean_atol: f32,
    /// Pixels of an output dtype: (atol, rtol).
    pub pixels: fn(DType) -> (f32, f32),
}

/// One backend built for a run, and the steps checked on it.
pub struct Case {
    pub name: String,
    /// With its output (normalisation, dtype, layout) set.
    pub policy: Policy,
    pub dataset: Arc<Dataset>,
    pub subset: Vec<u32>,
    pub seed: u64,
    pub steps: Vec<Step>,
    /// Every step with batch > 1 must make a synthetic (or pool) sample.
    pub expect_synthetic: bool,
}

impl Case {
    pub fn dtype(&self) -> DType {
        self.policy.output.dtype
    }
    pub fn layout(&self) -> Layout {
        self.policy.output.layout
    }
    fn label(&self, step: Step) -> String {
        let s = self.dataset.shape();
        format!(
            "{} {}×{}×{} B={} {:?} {:?} {step:?}",
            self.name,
            s.channels,
            s.height,
            s.width,
            step.batch_size,
            self.dtype(),
            self.layout()
        )
    }
}

/// What the checked steps observed, for the summary line.
#[derive(Debug, Default)]
pub struct Observed {
    pub steps: usize,
    pub synthetic: usize,
    pub param_error: f32,
    pub coeff_error: f32,
    pub mean_error: f32,
    pub pixel_error: f32,
    pub param_excused: usize,
    pub pixel_excused: usize,
    pub bit_mismatches: usize,
}

impl Observed {
    pub fn add(&mut self, o: &Observed) {
        self.steps += o.steps;
        self.synthetic += o.synthetic;
        self.param_error = self.param_error.max(o.param_error);
        self.coeff_error = self.coeff_error.max(o.coeff_error);
        self.mean_error = self.mean_error.max(o.mean_error);
        self.pixel_error = self.pixel_error.max(o.pixel_error);
        self.param_excused += o.param_excused;
        self.pixel_excused += o.pixel_excused;
        self.bit_mismatches += o.bit_mismatches;
    }

    pub fn print(&self, what: &str) {
        println!(
            "{what}: {} cases ({} synthetic samples); max |Δ| params {:.3e}, synthetic \
             coefficients {:.3e}, contrast means {:.3e}, pixels {:.3e}; excused: {} samples \
             (boundary), {} elements (tap boundary); {} elements not bit-identical",
            self.steps,
            self.synthetic,
            self.param_error,
            self.coeff_error,
            self.mean_error,
            self.pixel_error,
            self.param_excused,
            self.pixel_excused,
            self.bit_mismatches
        );
    }
}

/// Host buffer of a step's images in a dtype (NaN-filled).
pub enum Images {
    F32(Vec<f32>),
    F16(Vec<half::f16>),
    Bf16(Vec<half::bf16>),
}

impl Images {
    pub fn new(dtype: DType, n: usize) -> Self {
        match dtype {
            DType::F32 => Images::F32(vec![f32::NAN; n]),
            DType::F16 => Images::F16(vec![half::f16::NAN; n]),
            DType::Bf16 => Images::Bf16(vec![half::bf16::NAN; n]),
        }
    }
    pub fn host(&mut self) -> HostImages<'_> {
        match self {
            Images::F32(v) => HostImages::F32(v),
            Images::F16(v) => HostImages::F16(v),
            Images::Bf16(v) => HostImages::Bf16(v),
        }
    }
    pub fn to_f32(&self) -> Vec<f32> {
        match self {
            Images::F32(v) => v.clone(),
            Images::F16(v) => v.iter().map(|x| x.to_f32()).collect(),
            Images::Bf16(v) => v.iter().map(|x| x.to_f32()).collect(),
        }
    }
    /// The elements' bit patterns (f32 bits, or the 16-bit patterns).
    pub fn bits(&self) -> Vec<u32> {
        match self {
            Images::F32(v) => v.iter().map(|x| x.to_bits()).collect(),
            Images::F16(v) => v.iter().map(|x| u32::from(x.to_bits())).collect(),
            Images::Bf16(v) => v.iter().map(|x| u32::from(x.to_bits())).collect(),
        }
    }
}

/// The CPU `render_from` of given params, coefficients and means, in the
/// plan's dtype, for the step `args` (erasing values are drawn per step).
pub fn cpu_render(
    plan: &Plan,
    args: StepArgs,
    coefficients: &[f32],
    params: &[SampleParams],
    means: &[f32],
) -> Images {
    let src = cpu::step_source(plan, args, coefficients);
    let n = params.len() * plan.dataset().shape().elements();
    let mut images = Images::new(plan.dtype(), n);
    let k = plan.kernel();
    match images.host() {
        HostImages::F32(o) => cpu::render_from(k, &src, params, means, o),
        HostImages::F16(o) => cpu::render_from(k, &src, params, means, o),
        HostImages::Bf16(o) => cpu::render_from(k, &src, params, means, o),
    }
    images
}

/// One step on `backend` against the CPU reference (panics on a fault).
pub fn check_step<B: DeviceBackend>(
    name: &str,
    backend: &mut B,
    step: Step,
    tol: &Tolerances,
) -> Observed {
    let plan = backend.plan().clone();
    let args = plan.step_args(step).unwrap();
    let mut images = Images::new(plan.dtype(), plan.image_elements(step));
    let mut labels = vec![MixLabel::default(); step.batch_size as usize];
    backend.run(step).unwrap();
    backend.read_back(&mut images.host(), &mut labels).unwrap();
    let params = backend.last_params().unwrap();
    let means = backend.last_contrast_means().unwrap();

    let reference = cpu::step_params(&plan, args);
    let report = compare_params(
        &plan,
        args,
        &reference,
        &params,
        tol.param_atol,
        tol.param_rtol,
    );
    report.assert_ok(&format!("{name}: params"));
    assert_eq!(labels, cpu::labels_of(&params), "{name}: mix labels");

    // Coefficients of the backend's own params (so a class is the same).
    let coefficients = backend.last_synth_coefficients().unwrap();
    let cpu_coefficients = cpu::step_synth_coefficients(&plan, args, &params);
    assert_eq!(
        coefficients.len(),
        cpu_coefficients.len(),
        "{name}: coefficients"
    );
    let mut coeff_error = 0.0f32;
    for (j, (&r, &o)) in cpu_coefficients.iter().zip(&coefficients).enumerate() {
        let err = (r - o).abs();
        assert!(
            err <= tol.coeff_atol + tol.coeff_rtol * r.abs(),
            "{name}: synthetic coefficient {j} (sample {}): expected {r}, got {o}",
            j / plan.kernel().synth_components as usize
        );
        coeff_error = coeff_error.max(err);
    }

    let src = cpu::plan_source(&plan, &coefficients);
    let cpu_means = cpu::step_contrast_means_from(plan.kernel(), &src, &params);
    assert_eq!(cpu_means.len(), means.len(), "{name}: contrast means");
    let mut mean_error = 0.0f32;
    for (i, (r, o)) in cpu_means.iter().zip(&means).enumerate() {
        let err = (r - o).abs();
        assert!(
            err <= tol.mean_atol,
            "{name}: contrast mean {i}: expected {r}, got {o}"
        );
        mean_error = mean_error.max(err);
    }

    let expected = cpu_render(&plan, args, &coefficients, &params, &means);
    let (atol, rtol) = (tol.pixels)(plan.dtype());
    let pixels = compare_pixels(
        plan.kernel(),
        &params,
        &expected.to_f32(),
        &images.to_f32(),
        atol,
        rtol,
    );
    pixels.assert_ok(&format!("{name}: pixels"));
    let bit_mismatches = expected
        .bits()
        .iter()
        .zip(&images.bits())
        .filter(|(a, b)| a != b)
        .count();
    Observed {
        steps: 1,
        // Generated on the device, or drawn from the pool.
        synthetic: params
            .iter()
            .filter(|p| p.flags & (flags::SYNTHETIC | flags::POOL) != 0)
            .count(),
        param_error: report.max_float_error,
        coeff_error,
        mean_error,
        pixel_error: pixels.max_abs_error,
        param_excused: report.excused,
        pixel_excused: pixels.excused,
        bit_mismatches,
    }
}

/// Every case of a matrix on the backend `make` builds for it. `None` from
/// `make` (no device; it printed why) ends the run as a skip.
pub fn run_matrix<B: DeviceBackend>(
    what: &str,
    cases: Vec<Case>,
    tol: &Tolerances,
    mut make: impl FnMut(&Case) -> Option<B>,
) {
    let mut total = Observed::default();
    for case in &cases {
        let Some(mut backend) = make(case) else {
            println!("{what}: skipped ({} cases not run)", cases.len());
            return;
        };
        if case.policy.synthetic.as_ref().map(|s| s.mode) == Some(SynthMode::Pca) {
            assert!(
                backend.plan().kernel().synth_components > 0,
                "{}: PCA kept no component",
                case.name
            );
        }
        for &step in &case.steps {
            let label = case.label(step);
            let seen = check_step(&label, &mut backend, step, tol);
            if case.expect_synthetic && step.batch_size > 1 {
                assert!(seen.synthetic > 0, "{label}: no synthetic sample");
            }
            total.add(&seen);
        }
    }
    total.print(what);
}

/// One `#[test]` per listed matrix, for one backend: its tolerances and a
/// `fn(&Case) -> Option<Backend>` that builds it (or prints why not).
#[macro_export]
macro_rules! parity_tests {
    ($backend:literal, $tol:expr, $make:expr; $($test:ident => $matrix:path),* $(,)?) => {
        $(
            #[test]
            fn $test() {
                $crate::support::parity::run_matrix(
                    concat!($backend, " ", stringify!($test)),
                    $matrix(),
                    &$tol,
                    $make,
                );
            }
        )*
    };
}

// ---------------------------------------------------------------- the matrices

/// Output formats, rotated over the matrices.
pub const FORMATS: [(DType, Layout); 6] = [
    (DType::F32, Layout::Nchw),
    (DType::F16, Layout::Nhwc),
    (DType::Bf16, Layout::Nchw),
    (DType::F32, Layout::Nhwc),
    (DType::F16, Layout::Nchw),
    (DType::Bf16, Layout::Nhwc),
];

/// Shapes of the per-shape matrices.
pub const SHAPES: [(u32, u32, u32); 3] = [(3, 32, 32), (1, 28, 28), (3, 24, 40)];

#[allow(clippy::too_many_arguments)]
fn case(
    name: impl Into<String>,
    policy: &Policy,
    dataset: Arc<Dataset>,
    subset: Vec<u32>,
    seed: u64,
    steps: Vec<Step>,
    dtype: DType,
    layout: Layout,
) -> Case {
    let channels = dataset.shape().channels;
    Case {
        name: name.into(),
        policy: with_output(policy.clone(), channels, dtype, layout),
        dataset,
        subset,
        seed,
        steps,
        expect_synthetic: false,
    }
}

fn step(epoch: u32, first_position: u32, batch_size: u32) -> Step {
    Step {
        epoch,
        first_position,
        batch_size,
    }
}

/// Every technique alone and all together, once each: shape, batch, dtype
/// and layout rotate over the policies (19 cases).
pub fn techniques_rotating() -> Vec<Case> {
    let shapes = [(1, 28, 28), (3, 32, 32), (3, 13, 21), (1, 13, 21)];
    let batches = [7u32, 65, 1];
    policy_matrix()
        .into_iter()
        .enumerate()
        .map(|(n, (name, policy))| {
            let (c, h, w) = shapes[n % shapes.len()];
            let (dtype, layout) = FORMATS[n % FORMATS.len()];
            let batch = batches[n % batches.len()];
            case(
                name,
                &policy,
                random_dataset(c, h, w, 150, 10, 1000 + n as u64),
                random_subset(150, 120, n as u64),
                77 + n as u64,
                vec![step(2, 3, batch)],
                dtype,
                layout,
            )
        })
        .collect()
}

/// Every technique alone and together on each of [`SHAPES`]; batch 1/7/65
/// and the format rotate (57 cases).
pub fn techniques_by_shape() -> Vec<Case> {
    let mut cases = Vec::new();
    for (p, (name, policy)) in policy_matrix().into_iter().enumerate() {
        for (s, &(c, h, w)) in SHAPES.iter().enumerate() {
            let seed = 1000 + (p * 7 + s) as u64;
            let (dtype, layout) = FORMATS[(p + 2 * s) % FORMATS.len()];
            cases.push(case(
                name,
                &policy,
                random_dataset(c, h, w, 90, 10, seed),
                random_subset(90, 80, seed),
                seed * 0x9e37_79b9,
                vec![step(
                    (p % 3) as u32,
                    (s as u32 * 5) % 15,
                    [1u32, 7, 65][(p + s) % 3],
                )],
                dtype,
                layout,
            ));
        }
    }
    cases
}

/// Every technique × each of [`SHAPES`] × every format; batch 1/7/65
/// rotating (342 cases).
pub fn techniques_by_shape_and_format() -> Vec<Case> {
    let mut cases = Vec::new();
    for (p, (name, policy)) in policy_matrix().into_iter().enumerate() {
        for (s, &(c, h, w)) in SHAPES.iter().enumerate() {
            for (f, &(dtype, layout)) in FORMATS.iter().enumerate() {
                let seed = 1000 + (p * 31 + s * 7 + f) as u64;
                cases.push(case(
                    name,
                    &policy,
                    random_dataset(c, h, w, 90, 10, seed),
                    random_subset(90, 80, seed),
                    seed * 0x9e37_79b9,
                    vec![step(
                        (p % 3) as u32,
                        (s as u32 * 5) % 15,
                        [1u32, 7, 65][(p + s + f) % 3],
                    )],
                    dtype,
                    layout,
                ));
            }
        }
    }
    cases
}

/// Everything on, in every dtype and layout, 1 and 3 channels, two steps
/// each; and a 1024 batch (bigger than one workgroup row of most passes)
/// (13 cases, 25 steps).
pub fn all_every_format() -> Vec<Case> {
    let mut cases = Vec::new();
    for (n, &(dtype, layout)) in FORMATS.iter().enumerate() {
        for (c, h, w) in [(3, 32, 32), (1, 13, 21)] {
            cases.push(case(
                "all",
                &all_policy(),
                random_dataset(c, h, w, 200, 10, 7 + n as u64),
                random_subset(200, 200, 3),
                5,
                vec![step(0, 0, 65), step(1, 190, 7)],
                dtype,
                layout,
            ));
        }
    }
    cases.push(case(
        "all",
        &all_policy(),
        random_dataset(3, 32, 32, 1100, 10, 99),
        (0..1100).collect(),
        6,
        vec![step(4, 50, 1024)],
        DType::F16,
        Layout::Nchw,
    ));
    cases
}

/// Random erasing in every mode, one and three boxes, with cutmix or
/// mixup and with every technique, on 1 and 3 channels and odd sizes; every
/// format (each policy rotates over them), batches 7 and 64 (18 cases).
pub fn erasing_every_format() -> Vec<Case> {
    let policies = [
        ("erase_const_1", "[erasing]\np = 0.9\nvalue = -0.7\n"),
        (
            "erase_const_3_cutmix",
            "[erasing]\np = 0.9\ncount = 3\nvalue = 1.5\n[mix]\ncutmix_alpha = 1.0\n",
        ),
        (
            "erase_channel_1_mixup",
            "[erasing]\np = 0.9\nmode = \"channel\"\n[mix]\nmixup_alpha = 0.4\n",
        ),
        (
            "erase_channel_3_cutmix",
            "[erasing]\np = 0.9\nmode = \"channel\"\ncount = 3\nscale = [0.1, 0.5]\n[mix]\ncutmix_alpha = 1.0\nmode = \"pair\"\n",
        ),
        (
            "erase_pixel_3_mix",
            "[erasing]\np = 0.9\nmode = \"pixel\"\ncount = [1, 3]\n[mix]\nmixup_alpha = 0.4\ncutmix_alpha = 1.0\n",
        ),
    ];
    let shapes = [(3, 17, 23), (1, 13, 21), (3, 32, 32)];
    let mut cases = Vec::new();
    for (n, (name, text)) in policies.iter().enumerate() {
        for (s, &(c, h, w)) in shapes.iter().enumerate() {
            let (dtype, layout) = FORMATS[(n + 2 * s) % FORMATS.len()];
            let seed = 3000 + (n * 3 + s) as u64;
            cases.push(case(
                *name,
                &Policy::from_toml_str(text).unwrap(),
                random_dataset(c, h, w, 100, 10, seed),
                random_subset(100, 90, seed),
                seed,
                vec![step(1, 3, [7u32, 64][(n + s) % 2])],
                dtype,
                layout,
            ));
        }
    }
    let mut all = all_policy();
    all.erasing = Some(augkit::policy::Erasing {
        p: 0.8,
        mode: augkit::policy::EraseMode::Pixel,
        count: augkit::policy::EraseCount::Range([1, 2]),
        ..Default::default()
    });
    for (n, &(dtype, layout)) in FORMATS.iter().enumerate().step_by(2) {
        cases.push(case(
            "erase_pixel_all",
            &all,
            random_dataset(3, 24, 40, 100, 10, 77 + n as u64),
            random_subset(100, 100, 5),
            9,
            vec![step(0, 10, 65)],
            dtype,
            layout,
        ));
    }
    cases
}

/// Five policies on two shapes in every dtype and layout (60 cases).
pub fn dtypes_and_layouts() -> Vec<Case> {
    let mut cases = Vec::new();
    for name in [
        "all",
        "affine_bilinear_continuous",
        "jitter",
        "crop_resized_bilinear",
        "crop_resized_affine",
    ] {
        let policy = policy_matrix()
            .into_iter()
            .find(|(n, _)| *n == name)
            .unwrap()
            .1;
        for &(c, h, w) in &SHAPES[..2] {
            for &(dtype, layout) in &FORMATS {
                cases.push(case(
                    name,
                    &policy,
                    random_dataset(c, h, w, 30, 5, 77 + u64::from(c)),
                    (0..30).collect(),
                    0xdead_beef_0000_0001,
                    vec![step(3, 4, 7)],
                    dtype,
                    layout,
                ));
            }
        }
    }
    cases
}

/// The all policy on degenerate and odd image sizes, batch 1/7/65 (15 cases).
pub fn odd_sizes() -> Vec<Case> {
    let mut cases = Vec::new();
    for (c, h, w) in [(3, 1, 1), (1, 1, 5), (3, 17, 23), (1, 31, 9), (3, 33, 16)] {
        for batch in [1u32, 7, 65] {
            cases.push(case(
                "all",
                &all_policy(),
                random_dataset(c, h, w, 70, 3, u64::from(h * 100 + w)),
                random_subset(70, 66, 5),
                u64::from(batch) << 40 | 12345,
                vec![step(batch, 66 - batch, batch)],
                DType::F32,
                if batch == 7 {
                    Layout::Nhwc
                } else {
                    Layout::Nchw
                },
            ));
        }
    }
    cases
}

/// The all policy over seeds (0, 1, u64::MAX, …), epochs and positions
/// (36 cases).
pub fn many_steps_and_seeds() -> Vec<Case> {
    let mut cases = Vec::new();
    let data = random_dataset(3, 32, 32, 200, 10, 4242);
    for seed in [0u64, 1, u64::MAX, 0x0123_4567_89ab_cdef] {
        for epoch in 0..3 {
            for first in [0u32, 64, 128] {
                cases.push(case(
                    "all",
                    &all_policy(),
                    data.clone(),
                    random_subset(200, 192, seed),
                    seed,
                    vec![step(epoch, first, 64)],
                    DType::F32,
                    Layout::Nchw,
                ));
            }
        }
    }
    cases
}

// ---------------------------------------------------------------- auto ops (host emulation, GPU)

/// The auto ops' policies ([`auto_policy_matrix`]) and RandAugment with
/// bilinear geometry at a high magnitude, alone and with every other
/// technique (8 policies).
pub fn auto_policies() -> Vec<(String, Policy)> {
    let mut out: Vec<(String, Policy)> = auto_policy_matrix()
        .into_iter()
        .map(|(name, policy)| (name.to_string(), policy))
        .collect();
    let bilinear = Policy::from_toml_str(
        "[rand_augment]\nnum_ops = 2\nmagnitude = 25\ninterpolation = \"bilinear\"\nfill = 0.5\n",
    )
    .unwrap();
    let mut with_all = all_policy();
    with_all.rand_augment = bilinear.rand_augment.clone();
    out.push(("rand_augment_bilinear".into(), bilinear));
    out.push(("rand_augment_bilinear+all".into(), with_all));
    out
}

/// Each auto policy on 1- and 3-channel, odd and degenerate shapes (sides
/// ≤ 2 leave Sharpness out), batch 65/7/33 and the format rotating (48
/// cases).
pub fn auto_ops_by_shape() -> Vec<Case> {
    let shapes = [
        (3, 32, 32),
        (1, 28, 28),
        (3, 17, 23),
        (1, 31, 9),
        (3, 2, 5),
        (1, 3, 3),
    ];
    let mut cases = Vec::new();
    for (p, (name, policy)) in auto_policies().into_iter().enumerate() {
        for (s, &(c, h, w)) in shapes.iter().enumerate() {
            let seed = 5000 + (p * 11 + s) as u64;
            let (dtype, layout) = FORMATS[(p + s) % FORMATS.len()];
            cases.push(case(
                name.clone(),
                &policy,
                random_dataset(c, h, w, 90, 10, seed),
                random_subset(90, 80, seed),
                seed * 0x9e37_79b9,
                vec![step(
                    (p % 3) as u32,
                    (s as u32 * 3) % 10,
                    [65u32, 7, 33][(p + s) % 3],
                )],
                dtype,
                layout,
            ));
        }
    }
    cases
}

/// Each auto policy in every dtype and layout, 1 and 3 channels
/// alternating, batch 33 (48 cases).
pub fn auto_ops_every_format() -> Vec<Case> {
    let mut cases = Vec::new();
    for (p, (name, policy)) in auto_policies().into_iter().enumerate() {
        for (f, &(dtype, layout)) in FORMATS.iter().enumerate() {
            let c = if (p + f) % 2 == 0 { 3 } else { 1 };
            let seed = 7000 + (p * 13 + f) as u64;
            cases.push(case(
                name.clone(),
                &policy,
                random_dataset(c, 13, 21, 60, 5, seed),
                random_subset(60, 50, seed),
                seed,
                vec![step(1, 9, 33)],
                dtype,
                layout,
            ));
        }
    }
    cases
}

// ---------------------------------------------------------------- synthetic samples

/// A synthetic section: 60 % of samples synthetic, at most 5 components.
pub fn synthetic(mode: SynthMode, class_choice: ClassChoice) -> Synthetic {
    Synthetic {
        mode,
        fraction: 0.6,
        components: 5,
        variance_kept: 0.95,
        class_choice,
        source: None,
        path: None,
        size: None,
    }
}

/// Random images of 5 classes; the subset leaves class 2 out, so "present
/// classes" differs from "all classes" (uniform class choice must skip it).
pub fn synthetic_data(c: u32, h: u32, w: u32, seed: u64) -> (Arc<Dataset>, Vec<u32>) {
    let dataset = random_dataset(c, h, w, 120, 5, seed);
    let subset = random_subset(120, 120, seed)
        .into_iter()
        .filter(|&i| dataset.labels()[i as usize] != 2)
        .collect();
    (dataset, subset)
}

/// Synthetic PCA (training and uniform class choice) and interpolation,
/// each alone, with every technique, and with a bilinear crop and the
/// `source` contrast mean: (mode name, mode, class choice, base name, base).
fn synthetic_variants() -> Vec<(&'static str, SynthMode, ClassChoice, &'static str, Policy)> {
    let modes = [
        ("pca", SynthMode::Pca, ClassChoice::Training),
        ("pca_uniform", SynthMode::Pca, ClassChoice::Uniform),
        ("interpolate", SynthMode::Interpolate, ClassChoice::Training),
    ];
    let bilinear_source = Policy::from_toml_str(
        "horizontal_flip = 0.5\n\
         [crop]\nkind = \"resized\"\ninterpolation = \"bilinear\"\n\
         [color_jitter]\nbrightness = 0.4\ncontrast = 0.4\nsaturation = 0.3\n\
         contrast_mean = \"source\"\n\
         [mix]\nmixup_alpha = 0.4\ncutmix_alpha = 1.0\nprob = 0.9\n",
    )
    .unwrap();
    // The suites used both spellings of "no technique".
    assert_eq!(Policy::identity(), Policy::from_toml_str("").unwrap());
    let bases = [
        ("alone", Policy::identity()),
        ("all", all_policy()),
        ("bilinear+source", bilinear_source),
    ];
    let mut out = Vec::new();
    for (mode_name, mode, class_choice) in modes {
        for (base_name, base) in &bases {
            out.push((mode_name, mode, class_choice, *base_name, base.clone()));
        }
    }
    out
}

fn synthetic_case(
    name: String,
    base: &Policy,
    synth: Synthetic,
    (dataset, subset): (Arc<Dataset>, Vec<u32>),
    seed: u64,
    steps: Vec<Step>,
    (dtype, layout): (DType, Layout),
) -> Case {
    let mut c = case(name, base, dataset, subset, seed, steps, dtype, layout);
    c.policy.synthetic = Some(synth);
    c.expect_synthetic = true;
    c
}

/// Each synthetic variant once, the format rotating; a step of batch
/// 33/65/7 and one of batch 1 each (9 cases, 18 steps).
pub fn synthetic_rotating() -> Vec<Case> {
    let shapes = [(1, 13, 21), (3, 9, 11), (3, 12, 12), (1, 7, 5)];
    let batches = [33u32, 65, 7];
    synthetic_variants()
        .into_iter()
        .enumerate()
        .map(|(n, (mode_name, mode, class_choice, base_name, base))| {
            let (c, h, w) = shapes[n % shapes.len()];
            synthetic_case(
                format!("{mode_name} {base_name}"),
                &base,
                synthetic(mode, class_choice),
                synthetic_data(c, h, w, 300 + n as u64),
                11 + n as u64,
                vec![step(0, 5, batches[n % batches.len()]), step(3, 60, 1)],
                FORMATS[n % FORMATS.len()],
            )
        })
        .collect()
}

/// Each synthetic variant in every format; a step of batch 33/65/7 and one
/// of batch 1 each (54 cases, 108 steps).
pub fn synthetic_every_format() -> Vec<Case> {
    let shapes = [(1, 13, 21), (3, 9, 11), (3, 12, 12), (1, 7, 5)];
    let batches = [33u32, 65, 7];
    let mut cases = Vec::new();
    let mut n = 0;
    for (mode_name, mode, class_choice, base_name, base) in synthetic_variants() {
        for format in FORMATS {
            let (c, h, w) = shapes[n % shapes.len()];
            cases.push(synthetic_case(
                format!("{mode_name} {base_name}"),
                &base,
                synthetic(mode, class_choice),
                synthetic_data(c, h, w, 300 + n as u64),
                11 + n as u64,
                vec![step(0, 5, batches[n % batches.len()]), step(3, 60, 1)],
                format,
            ));
            n += 1;
        }
    }
    cases
}

/// Each synthetic variant in every format on larger shapes, one step each,
/// epoch rotating (54 cases).
pub fn synthetic_every_format_larger() -> Vec<Case> {
    let shapes = [(1, 13, 21), (3, 9, 11), (3, 24, 40), (1, 28, 28)];
    let mut cases = Vec::new();
    let mut n = 0;
    for (mode_name, mode, class_choice, base_name, base) in synthetic_variants() {
        for format in FORMATS {
            let (c, h, w) = shapes[n % shapes.len()];
            cases.push(synthetic_case(
                format!("{mode_name} {base_name}"),
                &base,
                synthetic(mode, class_choice),
                synthetic_data(c, h, w, 300 + n as u64),
                11 + n as u64,
                vec![step((n % 4) as u32, 5, [33u32, 65, 7][n % 3])],
                format,
            ));
            n += 1;
        }
    }
    cases
}

// ---------------------------------------------------------------- synthetic pool

/// A pool section: 60 % of sources drawn from the pool.
pub fn pool_synthetic(fraction: f32) -> Synthetic {
    Synthetic {
        mode: SynthMode::Pool,
        fraction,
        ..Synthetic::default()
    }
}

/// `real` random images of 5 classes with a pool of `pool` more random
/// images appended (their own labels), and a subset of 4/5 of the real ones.
pub fn pool_data(
    c: u32,
    h: u32,
    w: u32,
    real: usize,
    pool: usize,
    seed: u64,
) -> (Arc<Dataset>, Vec<u32>) {
    let base = random_dataset(c, h, w, real, 5, seed);
    let extra = random_dataset(c, h, w, pool, 5, seed ^ 0x9001);
    let pool = SyntheticPool::new(
        extra.shape(),
        extra.pixels().to_vec(),
        extra.labels().to_vec(),
        5,
    )
    .unwrap();
    let data = (*base).clone().with_pool(pool).unwrap();
    (Arc::new(data), random_subset(real, real * 4 / 5, seed))
}

/// The pool alone, with every technique, with mixing and the `source`
/// contrast mean (a pool image as a mix partner, its own gray mean), and a
/// one-image pool drawn always: (name, fraction, pool size, base).
fn pool_variants() -> Vec<(&'static str, f32, usize, Policy)> {
    let mix_source = Policy::from_toml_str(
        "horizontal_flip = 0.5\n\
         [crop]\nkind = \"resized\"\ninterpolation = \"bilinear\"\n\
         [color_jitter]\nbrightness = 0.4\ncontrast = 0.4\nsaturation = 0.3\n\
         contrast_mean = \"source\"\n\
         [mix]\nmixup_alpha = 0.4\ncutmix_alpha = 1.0\nprob = 0.9\n",
    )
    .unwrap();
    vec![
        ("pool alone", 0.6, 23, Policy::identity()),
        ("pool all", 0.6, 23, all_policy()),
        ("pool mix+source", 0.6, 17, mix_source),
        ("pool of one, always", 1.0, 1, all_policy()),
    ]
}

fn pool_case(
    name: &str,
    base: &Policy,
    fraction: f32,
    data: (Arc<Dataset>, Vec<u32>),
    seed: u64,
    steps: Vec<Step>,
    (dtype, layout): (DType, Layout),
) -> Case {
    let (dataset, subset) = data;
    let mut c = case(name, base, dataset, subset, seed, steps, dtype, layout);
    c.policy.synthetic = Some(pool_synthetic(fraction));
    c.expect_synthetic = true;
    c
}

/// Each pool variant once, the format rotating; a step of batch 33/65/7/20
/// and one of batch 1 each (4 cases, 8 steps).
pub fn pool_rotating() -> Vec<Case> {
    let shapes = [(3, 9, 11), (1, 13, 21), (3, 12, 12), (1, 7, 5)];
    let batches = [33u32, 65, 7, 20];
    pool_variants()
        .into_iter()
        .enumerate()
        .map(|(n, (name, fraction, pool, base))| {
            let (c, h, w) = shapes[n % shapes.len()];
            pool_case(
                name,
                &base,
                fraction,
                pool_data(c, h, w, 90, pool, 900 + n as u64),
                31 + n as u64,
                vec![step(0, 5, batches[n]), step(3, 40, 1)],
                FORMATS[n % FORMATS.len()],
            )
        })
        .collect()
}

/// Each pool variant in every format; a step of batch 33/65/7 and one of
/// batch 1 each (24 cases, 48 steps).
pub fn pool_every_format() -> Vec<Case> {
    let shapes = [(3, 9, 11), (1, 13, 21), (3, 24, 40), (1, 28, 28)];
    let mut cases = Vec::new();
    let mut n = 0;
    for (name, fraction, pool, base) in pool_variants() {
        for format in FORMATS {
            let (c, h, w) = shapes[n % shapes.len()];
            cases.push(pool_case(
                name,
                &base,
                fraction,
                pool_data(c, h, w, 90, pool, 900 + n as u64),
                31 + n as u64,
                vec![
                    step((n % 4) as u32, 5, [33u32, 65, 7][n % 3]),
                    step(3, 40, 1),
                ],
                format,
            ));
            n += 1;
        }
    }
    cases
}

// ---------------------------------------------------------------- auto ops

/// The auto ops' policies ([`auto_policy_matrix`]), once each, on 1- and
/// 3-channel images of odd sizes, each format once; three steps each,
/// batch 7, 33 and 1; then RandAugment with everything on images too small
/// for Sharpness (2×5, 1×1) (8 cases, 24 steps: the auto chain makes the
/// shader large, and each case compiles its pipelines once).
pub fn auto_ops() -> Vec<Case> {
    let shapes = [(3, 13, 21), (1, 17, 9), (3, 24, 40)];
    let matrix = auto_policy_matrix();
    let tiny = matrix
        .iter()
        .find(|(n, _)| *n == "rand_augment+all")
        .unwrap()
        .1
        .clone();
    let tiny_cases = [(1u32, 2u32, 5u32, 0usize), (3, 1, 1, 3)].map(|(c, h, w, f)| {
        let (dtype, layout) = FORMATS[f];
        case(
            "rand_augment+all",
            &tiny,
            random_dataset(c, h, w, 60, 10, 4100 + u64::from(h)),
            random_subset(60, 50, 9),
            4242,
            vec![step(0, 2, 7), step(1, 10, 33), step(2, 49, 1)],
            dtype,
            layout,
        )
    });
    matrix
        .into_iter()
        .enumerate()
        .map(|(n, (name, policy))| {
            let (c, h, w) = shapes[n % shapes.len()];
            let seed = 4000 + n as u64;
            let (dtype, layout) = FORMATS[n % FORMATS.len()];
            case(
                name,
                &policy,
                random_dataset(c, h, w, 60, 10, seed),
                random_subset(60, 50, seed),
                seed * 0x9e37_79b9,
                vec![step(n as u32 % 3, 2, 7), step(1, 10, 33), step(2, 49, 1)],
                dtype,
                layout,
            )
        })
        .chain(tiny_cases)
        .collect()
}
