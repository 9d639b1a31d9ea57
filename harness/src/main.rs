//! `augkit`: see `docs/HARNESS.md`.

fn main() -> std::process::ExitCode {
    augkit_harness::cli::main()
}
