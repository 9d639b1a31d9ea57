//! Compiles `kernels/cuda/augment.cu` and its headers for the host behind
//! `src/shim.hpp`. The header list is the one NVRTC gets
//! (`src/cuda/sources.rs`, included here).

#[allow(dead_code)]
mod sources {
    include!("../../src/cuda/sources.rs");
}

fn main() {
    let kernels = "../../kernels/cuda";
    println!("cargo:rerun-if-changed=../../src/cuda/sources.rs");
    println!("cargo:rerun-if-changed={kernels}/{}", sources::SOURCE_NAME);
    for (name, _) in sources::HEADERS {
        println!("cargo:rerun-if-changed={kernels}/{name}");
    }
    println!("cargo:rerun-if-changed=src/shim.hpp");
    println!("cargo:rerun-if-changed=src/emu.cpp");
    cc::Build::new()
        .cpp(true)
        .std("c++20")
        // The kernels' float expressions must round as written (the GPU
        // build uses --fmad=false for the same reason).
        .flag("-ffp-contract=off")
        .flag("-fno-fast-math")
        .opt_level(2)
        .warnings(true)
        .extra_warnings(true)
        .flag("-Wno-unused-parameter")
        .flag("-Wno-unknown-pragmas")
        .include(kernels)
        .include("src")
        .file("src/emu.cpp")
        .compile("augkit_cuda_emu");
}
