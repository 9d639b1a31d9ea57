//! Every policy file shipped with the harness parses and validates for both
//! experiment data sets (1- and 3-channel).

use augkit::{ImageShape, Policy};

#[test]
fn shipped_policies_are_valid_for_both_datasets() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/harness/policies");
    let mut count = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "toml") {
            continue;
        }
        let policy = Policy::from_file(&path).unwrap();
        for shape in [
            ImageShape::new(3, 32, 32).unwrap(),
            ImageShape::new(1, 28, 28).unwrap(),
        ] {
            policy
                .compile(shape)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        }
        count += 1;
    }
    assert!(
        count >= 9,
        "expected the nine technique policies (synthetic included), found {count}"
    );
}
