//! Identities as MLflow makes them: run ids (uuid4 as 32 lowercase hex
//! digits), experiment ids (decimal strings; `"0"` is the default
//! experiment, `Default`), and run names of the form `adjective-animal-N`.

use crate::error::{Error, Result};

/// Id of the default experiment.
pub const DEFAULT_EXPERIMENT_ID: &str = "0";
/// Name of the default experiment.
pub const DEFAULT_EXPERIMENT_NAME: &str = "Default";

/// Longest generated run name.
pub const MAX_GENERATED_RUN_NAME_LENGTH: usize = 20;

fn random_bytes<const N: usize>() -> Result<[u8; N]> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|e| {
        Error::io(
            "read random bytes",
            "getrandom",
            std::io::Error::other(e.to_string()),
        )
    })?;
    Ok(bytes)
}

/// A new run id: a random (version 4) UUID as 32 lowercase hex digits.
///
/// ```
/// let id = runlog::identity::new_run_id()?;
/// assert_eq!(id.len(), 32);
/// assert!(id.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
/// # Ok::<(), runlog::Error>(())
/// ```
pub fn new_run_id() -> Result<String> {
    let mut b: [u8; 16] = random_bytes()?;
    b[6] = (b[6] & 0x0f) | 0x40; // version 4
    b[8] = (b[8] & 0x3f) | 0x80; // RFC 4122 variant
    Ok(b.iter().map(|x| format!("{x:02x}")).collect())
}

/// A new experiment id: 18 random decimal digits, never starting with 0
/// (so it can never be the default experiment's `"0"`).
pub fn new_experiment_id() -> Result<String> {
    let bytes: [u8; 8] = random_bytes()?;
    let n = u64::from_le_bytes(bytes);
    // 10^17 ..= 10^18 - 1: exactly 18 digits.
    let id = 100_000_000_000_000_000 + n % 900_000_000_000_000_000;
    Ok(id.to_string())
}

const ADJECTIVES: &[&str] = &[
    "able", "agile", "amber", "bold", "brave", "bright", "brisk", "calm", "clever", "cool",
    "crisp", "daring", "deft", "eager", "fair", "fancy", "fleet", "fond", "gentle", "glad",
    "golden", "grand", "happy", "hardy", "honest", "jolly", "keen", "kind", "lively", "loyal",
    "lucky", "merry", "mighty", "neat", "nimble", "noble", "polite", "proud", "quick", "quiet",
    "rapid", "rare", "sharp", "shiny", "silent", "smart", "snappy", "solid", "steady", "sunny",
    "swift", "tidy", "tough", "vivid", "warm", "wise", "witty", "young", "zesty", "zippy",
];

const ANIMALS: &[&str] = &[
    "ant", "bat", "bear", "bee", "bison", "boar", "cat", "crab", "crane", "crow", "deer", "dove",
    "duck", "eagle", "eel", "elk", "finch", "fox", "frog", "gnu", "goat", "hare", "hawk", "heron",
    "horse", "ibis", "koala", "lark", "lemur", "lion", "lynx", "mole", "moose", "moth", "mule",
    "newt", "okapi", "orca", "otter", "owl", "panda", "pike", "puma", "quail", "ram", "raven",
    "seal", "shark", "sloth", "snail", "squid", "stork", "swan", "tiger", "toad", "trout", "vole",
    "wasp", "whale", "wolf", "wren", "yak", "zebra",
];

/// A random run name, `adjective-animal-N` with N from 0 to 999, at most
/// [`MAX_GENERATED_RUN_NAME_LENGTH`] characters (MLflow's form).
///
/// ```
/// let name = runlog::identity::random_run_name()?;
/// assert_eq!(name.split('-').count(), 3);
/// assert!(name.len() <= runlog::identity::MAX_GENERATED_RUN_NAME_LENGTH);
/// # Ok::<(), runlog::Error>(())
/// ```
pub fn random_run_name() -> Result<String> {
    let b: [u8; 6] = random_bytes()?;
    let adjective = ADJECTIVES[usize::from(b[0]) % ADJECTIVES.len()];
    let animal = ANIMALS[usize::from(b[1]) % ANIMALS.len()];
    let n = u32::from_le_bytes([b[2], b[3], b[4], b[5]]) % 1000;
    Ok(format!("{adjective}-{animal}-{n}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn run_ids_are_uuid4_hex_and_unique() {
        let ids: HashSet<String> = (0..10_000).map(|_| new_run_id().unwrap()).collect();
        assert_eq!(ids.len(), 10_000);
        for id in ids.iter().take(100) {
            assert_eq!(id.len(), 32);
            assert_eq!(&id[12..13], "4", "version nibble of {id}");
            assert!(
                matches!(&id[16..17], "8" | "9" | "a" | "b"),
                "variant of {id}"
            );
            assert!(crate::validation::validate_run_id(id).is_ok());
        }
    }

    #[test]
    fn experiment_ids_have_18_digits_and_are_never_the_default() {
        for _ in 0..1000 {
            let id = new_experiment_id().unwrap();
            assert_eq!(id.len(), 18, "{id}");
            assert!(id.bytes().all(|b| b.is_ascii_digit()));
            assert_ne!(id, DEFAULT_EXPERIMENT_ID);
        }
    }

    #[test]
    fn run_names_fit_mlflow_form() {
        let longest_adjective = ADJECTIVES.iter().map(|a| a.len()).max().unwrap();
        let longest_animal = ANIMALS.iter().map(|a| a.len()).max().unwrap();
        assert!(longest_adjective + longest_animal + 5 <= MAX_GENERATED_RUN_NAME_LENGTH);
        let names: HashSet<String> = (0..2000).map(|_| random_run_name().unwrap()).collect();
        assert!(
            names.len() > 1900,
            "names repeat too often: {}",
            names.len()
        );
        for name in &names {
            let parts: Vec<&str> = name.split('-').collect();
            assert_eq!(parts.len(), 3, "{name}");
            assert!(ADJECTIVES.contains(&parts[0]) && ANIMALS.contains(&parts[1]));
            assert!(parts[2].parse::<u32>().unwrap() < 1000);
        }
    }
}
