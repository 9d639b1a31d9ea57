//! The parameters pass: (policy, seed, epoch, position) → [`SampleParams`],
//! one sample at a time. This is the definition the WGSL and CUDA parameter
//! kernels transcribe; `docs/SEMANTICS.md` §3 states it in prose.

use crate::draws::{
    self, ERASE_LEFT_SUB, ERASE_TOP_SUB, beta, bounded, coin, slot, uniform, words,
};
use crate::kernel_args::*;
use crate::shuffle::{self, ROUNDS};
use crate::synthetic::SynthTables;

/// The step-wide values every sample's parameters depend on.
pub struct StepContext<'a> {
    pub policy: &'a KernelPolicy,
    pub step: StepArgs,
    pub key: [u32; 2],
    pub shuffle_keys: [u32; ROUNDS as usize],
    /// The index list (limited training subset): epoch positions read it.
    pub subset: &'a [u32],
    pub labels: &'a [u32],
    /// The class index and PCA model when the policy makes synthetic samples.
    pub synth: Option<&'a SynthTables>,
}

impl<'a> StepContext<'a> {
    pub fn new(
        policy: &'a KernelPolicy,
        step: StepArgs,
        subset: &'a [u32],
        labels: &'a [u32],
        synth: Option<&'a SynthTables>,
    ) -> Self {
        let key = [step.seed_lo, step.seed_hi];
        Self {
            policy,
            step,
            key,
            shuffle_keys: shuffle::round_keys(key, step.epoch),
            subset,
            labels,
            synth,
        }
    }

    /// Dataset index of the sample at batch slot `i`.
    pub fn dataset_index(&self, i: u32) -> u32 {
        let position = self.step.first_position + i;
        let shuffled =
            shuffle::shuffled_position(position, self.step.subset_len, &self.shuffle_keys);
        self.subset[shuffled as usize]
    }
}

/// Where the sample at batch slot `i` comes from: its dataset index and
/// label, and whether (and how) it is synthetic.
pub struct SampleSource {
    pub dataset_index: u32,
    pub label: u32,
    /// Generated on the device (PCA, interpolation).
    pub synthetic: bool,
    /// Drawn from the synthetic pool (`dataset_index` is past the real set).
    pub pool: bool,
    pub synth_partner: u32,
    pub synth_t: f32,
}

/// The sample's source: the shuffled subset image, or a synthetic sample
/// (SEMANTICS.md §9) or a pool image (§9a) drawn in its place.
pub fn sample_source(ctx: &StepContext<'_>, i: u32) -> SampleSource {
    let k = ctx.policy;
    let dataset_index = ctx.dataset_index(i);
    let label = ctx.labels[dataset_index as usize];
    let mut source = SampleSource {
        dataset_index,
        label,
        synthetic: false,
        pool: false,
        synth_partner: dataset_index,
        synth_t: 0.0,
    };
    if k.synth_mode == SYNTH_POOL {
        if let Some(index) = pool_draw(k, ctx.key, ctx.step.first_position + i, ctx.step.epoch) {
            source.dataset_index = index;
            source.synth_partner = index;
            source.label = ctx.labels[index as usize];
            source.pool = true;
        }
        return source;
    }
    let Some(tables) = ctx.synth else {
        return source;
    };
    if k.synth_mode == SYNTH_OFF {
        return source;
    }
    let position = ctx.step.first_position + i;
    let (key, epoch) = (ctx.key, ctx.step.epoch);
    let w = words(key, position, epoch, slot::SYNTHETIC, 0);
    if !coin(k.synth_p, w[0]) {
        return source;
    }
    source.synthetic = true;
    if k.synth_mode == SYNTH_PCA {
        let class_words = words(key, position, epoch, slot::SYNTHETIC_CLASS, 0);
        source.label = if k.synth_class_choice == SYNTH_CLASS_UNIFORM {
            let n = tables.present_classes.len() as u32;
            tables.present_classes[bounded(n, class_words) as usize]
        } else {
            let at = bounded(ctx.step.subset_len, class_words);
            ctx.labels[ctx.subset[at as usize] as usize]
        };
    } else {
        let first = tables.class_offsets[label as usize];
        let count = tables.class_offsets[label as usize + 1] - first;
        let pick = bounded(
            count,
            words(key, position, epoch, slot::SYNTHETIC_PARTNER, 0),
        );
        source.synth_partner = tables.class_members[(first + pick) as usize];
        source.synth_t = draws::unit(w[2]);
    }
    source
}

/// The synthetic pool draw of the sample at epoch position `position`: the
/// resident index of its pool image, or `None` when its source stays the
/// data set's (SEMANTICS.md §9a). A coin of probability `synth_p`, then a
/// uniform index below `pool_len`.
pub fn pool_draw(k: &KernelPolicy, key: [u32; 2], position: u32, epoch: u32) -> Option<u32> {
    if k.pool_len == 0 {
        return None;
    }
    let w = words(key, position, epoch, slot::SYNTHETIC_POOL, 0);
    if !coin(k.synth_p, w[0]) {
        return None;
    }
    let pick = bounded(
        k.pool_len,
        words(key, position, epoch, slot::SYNTHETIC_POOL, 1),
    );
    Some(k.pool_first + pick)
}

/// The σ_j·z_j of a synthetic PCA sample (zeros otherwise), one per model
/// component: `out.len()` = `KernelPolicy::synth_components`.
pub fn synth_coefficients(ctx: &StepContext<'_>, p: &SampleParams, out: &mut [f32]) {
    out.fill(0.0);
    let (Some(tables), true) = (ctx.synth, p.flags & flags::SYNTHETIC != 0) else {
        return;
    };
    if ctx.policy.synth_mode != SYNTH_PCA {
        return;
    }
    let position = ctx.step.first_position + p.slot;
    let k = out.len();
    for (j, o) in out.iter_mut().enumerate() {
        let w = words(
            ctx.key,
            position,
            ctx.step.epoch,
            slot::SYNTHETIC_Z,
            j as u32 / 2,
        );
        let z = if j % 2 == 0 {
            draws::normal(w[0], w[1])
        } else {
            draws::normal(w[2], w[3])
        };
        *o = tables.sigmas[p.label_a as usize * k + j] * z;
    }
}

/// Parameters of the sample at batch slot `i` (< batch size).
pub fn sample_params(ctx: &StepContext<'_>, i: u32) -> SampleParams {
    let k = ctx.policy;
    let position = ctx.step.first_position + i;
    let epoch = ctx.step.epoch;
    let key = ctx.key;
    let source = sample_source(ctx, i);

    let mut p = SampleParams {
        dataset_index: source.dataset_index,
        label_a: source.label,
        label_b: source.label,
        partner: i,
        slot: i,
        synth_partner: source.synth_partner,
        synth_t: source.synth_t,
        lambda: 1.0,
        brightness: 1.0,
        contrast: 1.0,
        saturation: 1.0,
        hue: 0.0,
        auto_ops: u32::MAX,
        auto_affine: [1.0, 0.0, 0.0, 0.0, 1.0, 0.0],
        ..SampleParams::default()
    };
    if source.synthetic {
        p.flags |= flags::SYNTHETIC;
    }
    if source.pool {
        p.flags |= flags::POOL;
    }

    geometry(k, key, position, epoch, &mut p);
    auto_augment(k, key, position, epoch, &mut p);
    jitter(k, key, position, epoch, &mut p);
    erasing(k, key, position, epoch, &mut p);
    mix(ctx, i, &mut p);
    p
}

/// Crop, flips and affine, composed into one inverse map plus the window
/// (for a resized crop the map ends in crop space: see `SampleParams`).
fn geometry(k: &KernelPolicy, key: [u32; 2], position: u32, epoch: u32, p: &mut SampleParams) {
    let w = k.width as f32;
    let h = k.height as f32;
    let coins = words(key, position, epoch, slot::GEOMETRY_COINS, 0);

    // Crop: the window in source pixels, and for the pad crop the map from
    // crop space (continuous, W×H) to source coordinates: s = origin + c.
    let mut window = [0i32, 0, k.width as i32, k.height as i32];
    let (mut origin_x, mut origin_y) = (0.0f32, 0.0f32);
    if k.crop_mode != CROP_NONE && coin(k.crop_p, coins[0]) {
        p.flags |= flags::CROPPED;
        if k.crop_mode == CROP_PAD {
            let positions = 2 * k.crop_padding + 1;
            let ox = bounded(positions, words(key, position, epoch, slot::CROP_X, 0)) as i32;
            let oy = bounded(positions, words(key, position, epoch, slot::CROP_Y, 0)) as i32;
            let x0 = ox - k.crop_padding as i32;
            let y0 = oy - k.crop_padding as i32;
            window = [x0, y0, x0 + k.width as i32, y0 + k.height as i32];
            origin_x = x0 as f32;
            origin_y = y0 as f32;
        } else {
            // The box is resized to W×H by the pixel pass (torchvision's
            // resize, its own index rule, SEMANTICS.md §4): the map stops
            // at crop space and the window carries the box.
            let [x0, y0, cw, ch] = resized_crop_box(k, key, position, epoch);
            window = [x0, y0, x0 + cw, y0 + ch];
        }
    }

    let hflip = coin(k.hflip_p, coins[1]);
    let vflip = coin(k.vflip_p, coins[2]);
    if hflip {
        p.flags |= flags::HFLIP;
    }
    if vflip {
        p.flags |= flags::VFLIP;
    }

    // Affine (inverse): q = C + (1/s)·R(θ)·(o − C − t), R the CCW rotation
    // read in y-down pixel coordinates.
    let (mut cs, mut sn, mut tx, mut ty) = (1.0f32, 0.0f32, 0.0f32, 0.0f32);
    if k.affine_on != 0 && coin(k.affine_p, coins[3]) {
        p.flags |= flags::AFFINE;
        let a = words(key, position, epoch, slot::AFFINE, 0);
        let angle = uniform(k.degrees_lo, k.degrees_hi, a[0]);
        let max_dx = k.translate_x * w;
        let max_dy = k.translate_y * h;
        tx = uniform(-max_dx, max_dx, a[1]);
        ty = uniform(-max_dy, max_dy, a[2]);
        if k.translate_whole != 0 {
            tx = tx.round_ties_even();
            ty = ty.round_ties_even();
        }
        let scale = uniform(k.scale_lo, k.scale_hi, a[3]);
        let theta = angle * (core::f32::consts::PI / 180.0);
        cs = theta.cos() / scale;
        sn = theta.sin() / scale;
    }
    let cx = 0.5 * w;
    let cy = 0.5 * h;
    // q.x = cs·x − sn·y + qx0 ;  q.y = sn·x + cs·y + qy0
    let ux = cx + tx;
    let uy = cy + ty;
    let qx0 = cx - (cs * ux - sn * uy);
    let qy0 = cy - (sn * ux + cs * uy);
    let mut m = [cs, -sn, qx0, sn, cs, qy0];

    // Flips act on the crop-space image: x → W − x.
    if hflip {
        m = [-m[0], -m[1], w - m[2], m[3], m[4], m[5]];
    }
    if vflip {
        m = [m[0], m[1], m[2], -m[3], -m[4], h - m[5]];
    }
    // Crop space → source (the pad crop's shift; the identity otherwise).
    m = [m[0], m[1], origin_x + m[2], m[3], m[4], origin_y + m[5]];
    p.inverse_affine = m;
    p.window = window;
}

/// torchvision `RandomResizedCrop.get_params`: ten tries, then the central
/// fallback. Returns [left, top, width, height] in source pixels.
pub fn resized_crop_box(k: &KernelPolicy, key: [u32; 2], position: u32, epoch: u32) -> [i32; 4] {
    let width = k.width as i32;
    let height = k.height as i32;
    let area = (k.width * k.height) as f32;
    for t in 0..10 {
        let d = words(key, position, epoch, slot::RESIZED_CROP, t);
        let target_area = area * uniform(k.resized_area_lo, k.resized_area_hi, d[0]);
        let aspect = uniform(k.resized_log_ratio_lo, k.resized_log_ratio_hi, d[1]).exp();
        let cw = (target_area * aspect).sqrt().round_ties_even() as i32;
        let ch = (target_area / aspect).sqrt().round_ties_even() as i32;
        if 0 < cw && cw <= width && 0 < ch && ch <= height {
            let top = bounded(
                (height - ch + 1) as u32,
                words(key, position, epoch, slot::RESIZED_CROP_TOP, t),
            );
            let left = bounded(
                (width - cw + 1) as u32,
                words(key, position, epoch, slot::RESIZED_CROP_LEFT, t),
            );
            return [left as i32, top as i32, cw, ch];
        }
    }
    let in_ratio = k.width as f32 / k.height as f32;
    let (cw, ch) = if in_ratio < k.resized_ratio_lo {
        (
            width,
            ((width as f32) / k.resized_ratio_lo).round_ties_even() as i32,
        )
    } else if in_ratio > k.resized_ratio_hi {
        (
            ((height as f32) * k.resized_ratio_hi).round_ties_even() as i32,
            height,
        )
    } else {
        (width, height)
    };
    let cw = cw.clamp(1, width);
    let ch = ch.clamp(1, height);
    [(width - cw) / 2, (height - ch) / 2, cw, ch]
}

/// TrivialAugment / RandAugment (SEMANTICS.md §10): each op's id, signed
/// magnitude and, for the geometry ops, their inverse maps composed into
/// `auto_affine`.
fn auto_augment(k: &KernelPolicy, key: [u32; 2], position: u32, epoch: u32, p: &mut SampleParams) {
    if k.auto_mode == AUTO_OFF {
        return;
    }
    p.flags |= flags::AUTO;
    let mut affine = AUTO_IDENTITY_MAP;
    for i in 0..k.auto_num_ops {
        let op = bounded(AUTO_OP_COUNT, words(key, position, epoch, slot::AUTO_OP, i));
        let bin = if k.auto_mode == AUTO_TRIVIAL {
            bounded(
                k.auto_num_bins,
                words(key, position, epoch, slot::AUTO_BIN, i),
            )
        } else {
            k.auto_magnitude_bin
        };
        let mut m = auto_magnitude(k, op, bin);
        if auto_op_signed(op)
            && draws::unit(words(key, position, epoch, slot::AUTO_SIGN, i)[0]) < 0.5
        {
            m = -m;
        }
        p.auto_ops = (p.auto_ops & !(0xff << (8 * i))) | (op << (8 * i));
        p.auto_magnitudes[i as usize] = m;
        if auto_op_moves_pixels(op) {
            // Op i reads the image its predecessors made: the earlier map
            // applies last.
            affine = compose_affine(affine, auto_op_map(k, op, m));
        }
    }
    p.auto_affine = affine;
}

/// The identity of `auto_affine`.
pub const AUTO_IDENTITY_MAP: [f32; 6] = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0];

/// The op of `auto_ops` at index `i` (`AUTO_OP_NONE` past the last).
pub fn auto_op_at(auto_ops: u32, i: u32) -> u32 {
    (auto_ops >> (8 * i)) & 0xff
}

/// Ops whose magnitude torchvision negates with probability ½.
pub fn auto_op_signed(op: u32) -> bool {
    (AUTO_OP_SHEAR_X..=AUTO_OP_SHARPNESS).contains(&op)
}

/// ShearX/Y, TranslateX/Y and Rotate: they move pixels (and fold into
/// `auto_affine`).
pub fn auto_op_moves_pixels(op: u32) -> bool {
    (AUTO_OP_SHEAR_X..=AUTO_OP_ROTATE).contains(&op)
}

/// `torch.linspace(start, end, steps)[i]` in float32, as ATen's
/// vectorised CPU kernel computes it: the first half counts up from
/// `start`, the second down from `end`, each a FUSED multiply-add (one
/// rounding; torch on AVX2/AVX-512 CPUs, where a separate multiply and add
/// differ from torch's tables in a few entries per table). Kernels must use
/// a correctly rounded fma here.
pub fn linspace(start: f32, end: f32, steps: u32, i: u32) -> f32 {
    let step = (end - start) / (steps - 1) as f32;
    if i < steps / 2 {
        step.mul_add(i as f32, start)
    } else {
        (-step).mul_add((steps - 1 - i) as f32, end)
    }
}

/// torchvision's posterize table at `bin`:
/// `(8 − arange(bins) / ((bins − 1) / range)).round()` in float32 (the
/// divisor is a Python float, rounded to float32 by the tensor op; round
/// is half to even).
pub fn posterize_bits(bins: u32, range: f32, bin: u32) -> f32 {
    let divisor = ((bins - 1) as f64 / f64::from(range)) as f32;
    (8.0 - bin as f32 / divisor).round_ties_even()
}

/// The unsigned magnitude of op `op` at bin `bin`: torchvision's
/// `_AUGMENTATION_SPACE` tables (0 for ops without one).
pub fn auto_magnitude(k: &KernelPolicy, op: u32, bin: u32) -> f32 {
    let bins = k.auto_num_bins;
    match op {
        AUTO_OP_SHEAR_X | AUTO_OP_SHEAR_Y => linspace(0.0, k.auto_shear_max, bins, bin),
        AUTO_OP_TRANSLATE_X => linspace(0.0, k.auto_translate_max_x, bins, bin),
        AUTO_OP_TRANSLATE_Y => linspace(0.0, k.auto_translate_max_y, bins, bin),
        AUTO_OP_ROTATE => linspace(0.0, k.auto_rotate_max, bins, bin),
        AUTO_OP_BRIGHTNESS | AUTO_OP_COLOR | AUTO_OP_CONTRAST | AUTO_OP_SHARPNESS => {
            linspace(0.0, k.auto_enhance_max, bins, bin)
        }
        AUTO_OP_POSTERIZE => posterize_bits(bins, k.auto_posterize_range, bin),
        AUTO_OP_SOLARIZE => linspace(1.0, 0.0, bins, bin),
        _ => 0.0,
    }
}

/// The inverse map (output pixel-corner coordinates → the op's input) of a
/// geometry op with signed magnitude `m`, torchvision's centres: shears
/// about the top-left corner (`center=[0, 0]`), translation by `int(m)`
/// whole pixels, rotation by m degrees counter-clockwise about the image
/// centre (the convention of `inverse_affine`). Identity for other ops.
pub fn auto_op_map(k: &KernelPolicy, op: u32, m: f32) -> [f32; 6] {
    match op {
        AUTO_OP_SHEAR_X => [1.0, m, 0.0, 0.0, 1.0, 0.0],
        AUTO_OP_SHEAR_Y => [1.0, 0.0, 0.0, m, 1.0, 0.0],
        // `int(m)`: truncation toward zero.
        AUTO_OP_TRANSLATE_X => [1.0, 0.0, -m.trunc(), 0.0, 1.0, 0.0],
        AUTO_OP_TRANSLATE_Y => [1.0, 0.0, 0.0, 0.0, 1.0, -m.trunc()],
        AUTO_OP_ROTATE => {
            let theta = m * (core::f32::consts::PI / 180.0);
            let (cs, sn) = (theta.cos(), theta.sin());
            let cx = 0.5 * k.width as f32;
            let cy = 0.5 * k.height as f32;
            [
                cs,
                -sn,
                cx - (cs * cx - sn * cy),
                sn,
                cs,
                cy - (sn * cx + cs * cy),
            ]
        }
        _ => AUTO_IDENTITY_MAP,
    }
}

/// `a ∘ b`: the map that applies `b`, then `a` (2×3, row-major).
pub fn compose_affine(a: [f32; 6], b: [f32; 6]) -> [f32; 6] {
    [
        a[0] * b[0] + a[1] * b[3],
        a[0] * b[1] + a[1] * b[4],
        a[0] * b[2] + a[1] * b[5] + a[2],
        a[3] * b[0] + a[4] * b[3],
        a[3] * b[1] + a[4] * b[4],
        a[3] * b[2] + a[4] * b[5] + a[5],
    ]
}

/// Colour jitter: the coin, the factors of the ops that are on, the order.
fn jitter(k: &KernelPolicy, key: [u32; 2], position: u32, epoch: u32, p: &mut SampleParams) {
    if k.jitter_ops == 0 {
        return;
    }
    let j = words(key, position, epoch, slot::JITTER, 0);
    if !coin(k.jitter_p, j[0]) {
        return;
    }
    p.flags |= flags::JITTER;
    if k.jitter_ops & (1 << OP_BRIGHTNESS) != 0 {
        p.brightness = uniform(k.brightness_lo, k.brightness_hi, j[1]);
    }
    if k.jitter_ops & (1 << OP_CONTRAST) != 0 {
        p.contrast = uniform(k.contrast_lo, k.contrast_hi, j[2]);
    }
    if k.jitter_ops & (1 << OP_SATURATION) != 0 {
        p.saturation = uniform(k.saturation_lo, k.saturation_hi, j[3]);
    }
    if k.jitter_ops & (1 << OP_HUE) != 0 {
        let hw = words(key, position, epoch, slot::JITTER_HUE, 0);
        p.hue = uniform(k.hue_lo, k.hue_hi, hw[0]);
    }
    let order = bounded(24, words(key, position, epoch, slot::JITTER_ORDER, 0));
    p.colour_order = permutation_of_four(order);
}

/// Random erasing (timm `RandomErasing._erase`): the coin, the box count,
/// then per box up to 10 attempts at a box of area `U(scale)·H·W / count`
/// and log-uniform aspect h/w; a box with no fitting attempt is dropped.
/// Placed boxes are stored in order (a later one wins where they overlap).
fn erasing(k: &KernelPolicy, key: [u32; 2], position: u32, epoch: u32, p: &mut SampleParams) {
    if k.erase_mode == ERASE_OFF {
        return;
    }
    let e = words(key, position, epoch, slot::ERASE, 0);
    if !coin(k.erase_p, e[0]) {
        return;
    }
    let (lo, hi) = (k.erase_count_lo, k.erase_count_hi);
    let count = if lo == hi {
        lo
    } else {
        lo + bounded(hi - lo + 1, words(key, position, epoch, slot::ERASE, 1))
    };
    let (w, h) = (k.width as i32, k.height as i32);
    let area = (k.width * k.height) as f32;
    let mut placed = 0;
    for b in 0..count {
        for t in 0..10 {
            let sub = b * 16 + t;
            let d = words(key, position, epoch, slot::ERASE_BOX, sub);
            let target = uniform(k.erase_area_lo, k.erase_area_hi, d[0]) * area / count as f32;
            let aspect = uniform(k.erase_log_ratio_lo, k.erase_log_ratio_hi, d[1]).exp();
            let bh = (target * aspect).sqrt().round_ties_even() as i32;
            let bw = (target / aspect).sqrt().round_ties_even() as i32;
            if bw < w && bh < h {
                let top = bounded(
                    (h - bh + 1) as u32,
                    words(key, position, epoch, slot::ERASE_BOX, ERASE_TOP_SUB + sub),
                );
                let left = bounded(
                    (w - bw + 1) as u32,
                    words(key, position, epoch, slot::ERASE_BOX, ERASE_LEFT_SUB + sub),
                );
                p.erase_boxes[placed] = [left, top, left + bw as u32, top + bh as u32];
                placed += 1;
                break;
            }
        }
    }
    p.erase_count = placed as u32;
    if placed > 0 {
        p.flags |= flags::ERASED;
    }
}

/// The erased value (output units) of channel `c` at output pixel (x, y) of
/// the sample at epoch position `position`, or `None` where no box covers
/// it. The last box containing the pixel wins. Channel mode: box b's normal
/// for channel c from `ERASE_VALUE` sub `2b + c/2`; pixel mode: sub
/// `2·(y·W + x) + c/2`; words (w0, w1) for even c, (w2, w3) for odd c.
#[inline(always)]
pub fn erased_value(
    k: &KernelPolicy,
    step: &StepArgs,
    p: &SampleParams,
    c: u32,
    x: u32,
    y: u32,
) -> Option<f32> {
    let n = p.erase_count.min(MAX_ERASE_BOXES) as usize;
    let b = (0..n).rev().find(|&b| {
        let [x0, y0, x1, y1] = p.erase_boxes[b];
        x >= x0 && x < x1 && y >= y0 && y < y1
    })? as u32;
    let sub = match k.erase_mode {
        ERASE_CHANNEL => 2 * b + c / 2,
        ERASE_PIXEL => 2 * (y * k.width + x) + c / 2,
        _ => return Some(k.erase_value),
    };
    let key = [step.seed_lo, step.seed_hi];
    let position = step.first_position + p.slot;
    let w = words(key, position, step.epoch, slot::ERASE_VALUE, sub);
    Some(if c.is_multiple_of(2) {
        draws::normal(w[0], w[1])
    } else {
        draws::normal(w[2], w[3])
    })
}

/// The `index`-th (0..24) permutation of the four colour ops in
/// lexicographic order, packed 8 bits per op, first op in the low byte.
pub fn permutation_of_four(index: u32) -> u32 {
    let mut remaining = [0u32, 1, 2, 3];
    let mut len = 4usize;
    let mut rest = index;
    let mut packed = 0;
    let mut radix = 6; // (len − 1)!
    for out in 0..4 {
        let pick = (rest / radix) as usize;
        rest %= radix;
        packed |= remaining[pick] << (8 * out);
        remaining.copy_within(pick + 1..len, pick);
        len -= 1;
        if len > 0 {
            radix /= len as u32;
        }
    }
    packed
}

/// Mixup / cutmix (timm `Mixup`): partner B−1−i, λ ~ Beta(α, α), the box.
fn mix(ctx: &StepContext<'_>, i: u32, p: &mut SampleParams) {
    let k = ctx.policy;
    if k.mix_ops == 0 {
        return;
    }
    let batch = ctx.step.batch_size;
    let partner = batch - 1 - i;
    let owner = ctx.step.first_position
        + match k.mix_mode {
            MIX_MODE_BATCH => 0,
            MIX_MODE_PAIR => i.min(partner),
            _ => i,
        };
    let epoch = ctx.step.epoch;
    let key = ctx.key;
    let c = words(key, owner, epoch, slot::MIX, 0);
    if !coin(k.mix_p, c[0]) {
        return;
    }
    let cutmix = match k.mix_ops {
        MIX_CUTMIX => true,
        MIX_MIXUP => false,
        _ => coin(k.switch_p, c[1]),
    };
    p.flags |= flags::MIXED;
    p.partner = partner;
    p.label_b = sample_source(ctx, partner).label;
    if cutmix {
        p.flags |= flags::CUTMIX;
        let lambda = beta(k.cutmix_alpha, key, owner, epoch, slot::BETA_CUTMIX);
        let (cut_box, corrected) = cutmix_box(k, key, owner, epoch, lambda);
        p.cut_box = cut_box;
        p.lambda = if k.correct_lambda != 0 {
            corrected
        } else {
            lambda
        };
    } else {
        p.lambda = beta(k.mixup_alpha, key, owner, epoch, slot::BETA_MIXUP);
    }
}

/// timm `rand_bbox` + `cutmix_bbox_and_lam`: a box of side ratio √(1−λ)
/// (truncated to whole pixels), centre uniform, clipped; and λ corrected to
/// 1 − box area / image area. Returns ([x0, y0, x1, y1], corrected λ).
pub fn cutmix_box(
    k: &KernelPolicy,
    key: [u32; 2],
    owner: u32,
    epoch: u32,
    lambda: f32,
) -> ([u32; 4], f32) {
    let h = k.height as i32;
    let w = k.width as i32;
    let ratio = (1.0 - lambda).sqrt();
    let cut_h = (k.height as f32 * ratio) as i32;
    let cut_w = (k.width as f32 * ratio) as i32;
    let cy = bounded(k.height, words(key, owner, epoch, slot::CUTMIX_CENTRE_Y, 0)) as i32;
    let cx = bounded(k.width, words(key, owner, epoch, slot::CUTMIX_CENTRE_X, 0)) as i32;
    let y0 = (cy - cut_h / 2).clamp(0, h);
    let y1 = (cy + cut_h / 2).clamp(0, h);
    let x0 = (cx - cut_w / 2).clamp(0, w);
    let x1 = (cx + cut_w / 2).clamp(0, w);
    let area = ((y1 - y0) * (x1 - x0)) as f32;
    let corrected = 1.0 - area / (k.height * k.width) as f32;
    ([x0 as u32, y0 as u32, x1 as u32, y1 as u32], corrected)
}

/// Re-exported for kernels' tests: the uniform the affine angle uses etc.
pub use draws::unit;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permutations_of_four_are_all_distinct_and_valid() {
        let mut seen = std::collections::HashSet::new();
        for i in 0..24 {
            let packed = permutation_of_four(i);
            let mut ops: Vec<u32> = (0..4).map(|b| (packed >> (8 * b)) & 0xff).collect();
            assert!(seen.insert(packed));
            ops.sort();
            assert_eq!(ops, vec![0, 1, 2, 3]);
        }
        assert_eq!(permutation_of_four(0), 0x0302_0100);
        assert_eq!(permutation_of_four(23), 0x0001_0203);
    }
}
