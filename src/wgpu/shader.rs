//! The WGSL module: `kernels/wgsl/*.wgsl` joined into one source (WGSL has
//! no includes; its module-scope declarations may come in any order), and
//! the step-arguments declaration filled in per device.

use super::bindings;

/// The kernel source, embedded: `augment.wgsl` (header and entry points)
/// and, one file per Rust twin, what the entry points call.
#[doc(hidden)]
pub const SHADER_SOURCE: &str = concat!(
    include_str!("../../kernels/wgsl/augment.wgsl"),
    include_str!("../../kernels/wgsl/abi.wgsl"),
    include_str!("../../kernels/wgsl/philox.wgsl"),
    include_str!("../../kernels/wgsl/draws.wgsl"),
    include_str!("../../kernels/wgsl/shuffle.wgsl"),
    include_str!("../../kernels/wgsl/params.wgsl"),
    include_str!("../../kernels/wgsl/pixel.wgsl"),
    include_str!("../../kernels/wgsl/auto.wgsl"),
);

/// The WGSL source with the step-arguments declaration filled in.
#[doc(hidden)]
pub fn shader_source(immediates: bool) -> String {
    let decl = if immediates {
        "var<immediate> step_args: StepArgs;".to_string()
    } else {
        format!(
            "@group(0) @binding({}) var<uniform> step_args: StepArgs;",
            bindings::STEP_ARGS.binding
        )
    };
    SHADER_SOURCE.replace("//@STEP_ARGS", &decl)
}
