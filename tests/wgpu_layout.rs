//! The WGSL mirrors of the `#[repr(C)]` kernel structs have the Rust layout,
//! member by member (naga's reflection of the joined `kernels/wgsl/*.wgsl`), and
//! the shader parses and validates in both step-argument variants, and its
//! shared constants equal Rust's. Needs no adapter. Run: `cargo test --test wgpu_layout`.

#[path = "support/constants.rs"]
mod constants;

use core::mem::offset_of;

use augkit::internals::kernel_args::{KernelPolicy, StepArgs};
use augkit::wgpu::{Resident, shader_source};
use augkit::{MixLabel, SampleParams};
use wgpu::naga;

fn module(immediates: bool) -> naga::Module {
    let source = shader_source(immediates);
    naga::front::wgsl::parse_str(&source)
        .unwrap_or_else(|e| panic!("augment.wgsl: {}", e.emit_to_string(&source)))
}

/// (member name, offset) of the WGSL struct `name`, and its size.
fn reflect(module: &naga::Module, name: &str) -> (Vec<(String, u32)>, u32) {
    let ty = module
        .types
        .iter()
        .find(|(_, t)| t.name.as_deref() == Some(name))
        .unwrap_or_else(|| panic!("no struct {name} in augment.wgsl"))
        .1;
    match &ty.inner {
        naga::TypeInner::Struct { members, span } => (
            members
                .iter()
                .map(|m| (m.name.clone().unwrap_or_default(), m.offset))
                .collect(),
            *span,
        ),
        other => panic!("{name} is not a struct: {other:?}"),
    }
}

/// `(wgsl name, rust offset)` for each listed field; a Rust array split into
/// scalars in WGSL is listed once per element.
macro_rules! layout {
    ($ty:ty; $($field:ident $(as $wgsl:literal)? $([$n:literal])?),* $(,)?) => {{
        let mut v: Vec<(String, u32)> = Vec::new();
        $(
            layout!(@one v, $ty, $field $(as $wgsl)? $([$n])?);
        )*
        v
    }};
    (@one $v:ident, $ty:ty, $field:ident) => {
        $v.push((stringify!($field).to_string(), offset_of!($ty, $field) as u32));
    };
    (@one $v:ident, $ty:ty, $field:ident as $wgsl:literal) => {
        $v.push(($wgsl.to_string(), offset_of!($ty, $field) as u32));
    };
    (@one $v:ident, $ty:ty, $field:ident [$n:literal]) => {
        for k in 0..$n {
            $v.push((format!("{}{k}", stringify!($field)), (offset_of!($ty, $field) + 4 * k) as u32));
        }
    };
}

fn check(module: &naga::Module, name: &str, expected: Vec<(String, u32)>, size: usize) {
    let (members, span) = reflect(module, name);
    assert_eq!(
        members, expected,
        "{name}: WGSL members (name, offset) differ from Rust"
    );
    assert_eq!(span as usize, size, "{name}: WGSL size {span}, Rust {size}");
    println!("{name}: {} members, {span} bytes: match", members.len());
}

#[test]
fn wgsl_structs_match_rust_layouts() {
    for immediates in [false, true] {
        let m = module(immediates);
        check(
            &m,
            "KernelPolicy",
            layout!(KernelPolicy;
                mean, std as "std_dev", channels, height, width, crop_mode, crop_p, crop_padding,
                resized_area_lo, resized_area_hi, resized_log_ratio_lo, resized_log_ratio_hi,
                resized_ratio_lo, resized_ratio_hi, hflip_p, vflip_p, affine_on, affine_p,
                degrees_lo, translate_x, translate_y, translate_whole, scale_lo, scale_hi,
                interpolation, fill, jitter_ops, jitter_p, brightness_lo, brightness_hi,
                contrast_lo, contrast_hi, saturation_lo, saturation_hi, hue_lo, hue_hi,
                contrast_mean, mix_mode, mix_ops, mix_p, switch_p, mixup_alpha, cutmix_alpha,
                correct_lambda, out_dtype, out_layout, degrees_hi, synth_mode, synth_p,
                synth_class_choice, synth_components, num_classes,
                crop_interpolation, auto_mode, auto_num_ops, auto_num_bins, auto_magnitude_bin, auto_interpolation, auto_fill,
                auto_shear_max, auto_translate_max_x, auto_translate_max_y, auto_rotate_max, auto_enhance_max, auto_posterize_range, erase_p, erase_area_lo, erase_area_hi, erase_log_ratio_lo, erase_log_ratio_hi, erase_mode, erase_value, erase_count_lo, erase_count_hi,
                pool_first, pool_len, _pad_pool[2],
            ),
            size_of::<KernelPolicy>(),
        );
        check(
            &m,
            "StepArgs",
            layout!(StepArgs;
                seed_lo, seed_hi, epoch, first_position, batch_size, subset_len, out_first,
                out_base,
            ),
            size_of::<StepArgs>(),
        );
        check(
            &m,
            "SampleParams",
            layout!(SampleParams;
                dataset_index, label_a, label_b, partner, flags, colour_order, lambda, hue,
                brightness, contrast, saturation, synth_partner, inverse_affine, synth_t, slot,
                window, cut_box, auto_ops, erase_count, _pad0, auto_magnitudes, auto_affine, _pad1, erase_boxes,
            ),
            size_of::<SampleParams>(),
        );
        check(
            &m,
            "MixLabel",
            layout!(MixLabel; label_a, label_b, lambda),
            size_of::<MixLabel>(),
        );
        check(
            &m,
            "Resident",
            layout!(Resident;
                images, image_elems, labels_at, means_at, chunk_words, chunks, synth_present,
                synth_present_at, synth_offsets_at, synth_members_at, synth_means_at,
                synth_basis_at, synth_sigmas_at, synth_gray_at, _pad[2],
            ),
            size_of::<Resident>(),
        );
    }
}

/// The shader validates (uniform address-space layout rules included) in
/// both variants, with the capabilities the backend needs.
#[test]
fn wgsl_validates() {
    for immediates in [false, true] {
        let m = module(immediates);
        let caps = if immediates {
            naga::valid::Capabilities::IMMEDIATES
        } else {
            naga::valid::Capabilities::empty()
        };
        naga::valid::Validator::new(naga::valid::ValidationFlags::all(), caps)
            .validate(&m)
            .unwrap_or_else(|e| {
                panic!(
                    "augment.wgsl (immediates = {immediates}) does not validate: {}",
                    e.emit_to_string(&shader_source(immediates))
                )
            });
        let entries: Vec<&str> = m.entry_points.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(entries, augkit::internals::kernel_args::entry::ALL);
    }
}

/// Every enum, flag and draw-slot `const` of the WGSL equals its Rust twin
/// (`tests/support/constants.rs`; the CUDA side is checked by the host
/// emulation's layout test).
#[test]
fn wgsl_constants_match_rust() {
    let m = module(false);
    let mut found = Vec::new();
    for (_, c) in m.constants.iter() {
        let Some(name) = &c.name else { continue };
        if let naga::Expression::Literal(lit) = m.global_expressions[c.init] {
            let value = match lit {
                naga::Literal::U32(v) => u64::from(v),
                naga::Literal::I32(v) => v as u64,
                naga::Literal::AbstractInt(v) => v as u64,
                _ => continue,
            };
            found.push((name.clone(), value));
        }
    }
    // The auto-op reductions' stride in `means`, which the host sizes.
    let stats = found.iter().find(|(n, _)| n == "STATS_PER_OP");
    assert_eq!(
        stats.map(|s| s.1),
        Some(u64::from(augkit::wgpu::STATS_PER_OP)),
        "STATS_PER_OP"
    );
    let compared = constants::check_kernel_constants("augment.wgsl", &found);
    assert!(compared >= 40, "only {compared} WGSL constants compared");
}

/// The shader's pipeline-overridable feature switches are the ones the host
/// sets (`augkit::wgpu::pipeline_constants`), each a bool defaulting to
/// true, so a name mismatch cannot silently leave a feature compiled in or
/// out.
#[test]
fn wgsl_overrides_are_the_hosts_feature_switches() {
    let m = module(false);
    let mut declared = Vec::new();
    for (_, o) in m.overrides.iter() {
        let name = o.name.clone().expect("overrides are named");
        assert_eq!(
            m.types[o.ty].inner,
            naga::TypeInner::Scalar(naga::Scalar::BOOL),
            "{name} is not a bool"
        );
        let init = o.init.unwrap_or_else(|| panic!("{name} has no default"));
        assert!(
            matches!(
                m.global_expressions[init],
                naga::Expression::Literal(naga::Literal::Bool(true))
            ),
            "{name} does not default to true"
        );
        declared.push(name);
    }
    // A policy with every feature off switches every feature off.
    let off = augkit::wgpu::pipeline_constants(&KernelPolicy::default());
    assert!(off.iter().all(|&(_, v)| v == 0.0), "{off:?}");
    let host: Vec<String> = off.iter().map(|(n, _)| n.to_string()).collect();
    declared.sort();
    let mut sorted = host.clone();
    sorted.sort();
    assert_eq!(declared, sorted);
    assert!(host.len() >= 5, "{host:?}");
}

/// The backend's one binding table (`augkit::wgpu::SLOTS`, from which the
/// layout and every bind group are built) is the WGSL's: each `@binding` of
/// group 0 has the table's name, number and kind, and every slot is declared.
#[test]
fn wgsl_bindings_match_the_slot_table() {
    use augkit::wgpu::{SLOTS, SlotKind};
    let m = module(false);
    let mut seen = 0;
    for (_, var) in m.global_variables.iter() {
        let Some(binding) = &var.binding else {
            continue;
        };
        let name = var.name.as_deref().unwrap_or_default();
        assert_eq!(binding.group, 0, "{name}");
        let slot = SLOTS
            .iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("WGSL binding {name} is not in SLOTS"));
        assert_eq!(slot.binding, binding.binding, "{name}: binding number");
        let kind = match var.space {
            naga::AddressSpace::Uniform => "uniform",
            naga::AddressSpace::Storage { access }
                if access.contains(naga::StorageAccess::STORE) =>
            {
                "read_write"
            }
            naga::AddressSpace::Storage { .. } => "read",
            other => panic!("{name}: address space {other:?}"),
        };
        let expected = match slot.kind {
            SlotKind::Uniform | SlotKind::DynamicUniform => "uniform",
            SlotKind::StorageRead => "read",
            SlotKind::StorageReadWrite => "read_write",
        };
        assert_eq!(kind, expected, "{name}: kind");
        seen += 1;
    }
    assert_eq!(seen, SLOTS.len(), "slots declared by the WGSL");
    println!("{seen} bindings match SLOTS");
}
