//! Cell ids: `<dataset>-<technique>-s<seed>-<hash>`, `<hash>` the first 12
//! hex digits of the SHA-256 of the canonical JSON (keys sorted, no spaces)
//! of the cell's configuration with its paths left out. Changing anything
//! that changes the training gives a new id; nothing else does.

use std::path::PathBuf;

use sha2::{Digest, Sha256};

use super::schema::CellConfig;
use crate::config::TrainConfig;

/// JSON with object keys sorted at every level and no whitespace.
pub fn canonical_json(value: &serde_json::Value) -> String {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let body: Vec<String> = keys
                .into_iter()
                .map(|k| {
                    format!(
                        "{}:{}",
                        serde_json::to_string(k).expect("a string"),
                        canonical_json(&map[k])
                    )
                })
                .collect();
            format!("{{{}}}", body.join(","))
        }
        Value::Array(items) => {
            let body: Vec<String> = items.iter().map(canonical_json).collect();
            format!("[{}]", body.join(","))
        }
        other => serde_json::to_string(other).expect("a JSON scalar"),
    }
}

/// Lower-case letters, digits and `-` only (other characters become `-`).
pub fn slug(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect()
}

/// The cell's configuration as hashed (paths, threads, quiet removed).
pub fn hashed_config(config: &TrainConfig) -> TrainConfig {
    TrainConfig {
        data_dir: PathBuf::new(),
        policy_file: None,
        out: None,
        threads: None,
        quiet: false,
        ..config.clone()
    }
}

/// `<dataset>-<technique>-s<seed>-<first 12 hex of sha256(canonical config)>`.
pub fn cell_id(technique: &str, config: &TrainConfig) -> String {
    let cell = CellConfig {
        id: String::new(),
        dataset: config.dataset.clone(),
        technique: technique.to_string(),
        seed: config.seed,
        config: hashed_config(config),
    };
    let mut value = serde_json::to_value(&cell).expect("a serialisable config");
    // A learned generator's configuration lives in the harness, not in the
    // policy: it enters the id too, so that changing it gives new cells.
    if let Some(generator) = crate::generate::cas::generator_of(&config.policy) {
        value["generator"] = serde_json::to_value(generator).expect("a serialisable config");
    }
    let digest = Sha256::digest(canonical_json(&value).as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-s{}-{}",
        slug(&config.dataset),
        slug(technique),
        config.seed,
        &hex[..12]
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::ModelKind;

    #[test]
    fn canonical_json_sorts_keys() {
        let v: serde_json::Value =
            serde_json::from_str(r#"{"b":[1,{"d":2,"c":1.5}],"a":"x"}"#).unwrap();
        assert_eq!(canonical_json(&v), r#"{"a":"x","b":[1,{"c":1.5,"d":2}]}"#);
    }

    #[test]
    fn cell_id_ignores_paths_and_follows_the_training() {
        let base = TrainConfig::new("fashion-mnist", ModelKind::SimpleCnn);
        let id = cell_id("crop", &base);
        assert!(id.starts_with("fashion-mnist-crop-s0-"), "{id}");
        assert_eq!(id.len(), "fashion-mnist-crop-s0-".len() + 12);
        let moved = TrainConfig {
            data_dir: "/elsewhere".into(),
            threads: Some(3),
            quiet: true,
            ..base.clone()
        };
        assert_eq!(cell_id("crop", &moved), id);
        let longer = TrainConfig {
            epochs: 51,
            ..base.clone()
        };
        assert_ne!(cell_id("crop", &longer), id);
        assert_ne!(
            cell_id("flips", &base),
            cell_id("crop", &base).replace("crop", "flips")
        );
    }
}
