//! The manifest of a compacted store (`compact/MANIFEST`): which
//! generation files are published, and which segments each one replaces.
//! It changes only by an atomic rename, so a reader sees either the old
//! list or the new one (FORMAT.md, "Manifest").

use std::collections::HashSet;
use std::io;
use std::path::Path;

use crate::error::{Damage, StorageError, StorageResult};
pub use crate::format::GenerationEntry;
use crate::format::{
    decode_manifest, encode_manifest, DecodeError, STORE_VERSION_MODELS, STORE_VERSION_PLAIN,
};
use crate::fs_util::write_atomic;
use crate::layout::{generation_files, generation_path, manifest_path};
use crate::log::generation::Generation;

/// The published generations, oldest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Manifest {
    /// Generations in the order they were published.
    pub generations: Vec<GenerationEntry>,
    /// Set when the manifest file was damaged or missing and this list was
    /// rebuilt from the generation files: what was wrong with the file.
    /// Readers report it; the next compaction publishes the list again.
    pub rebuilt: Option<String>,
}

impl Manifest {
    /// Reads a store's manifest; a store never compacted has an empty one.
    ///
    /// A manifest that fails its checks, or is missing from a store whose
    /// marker says it was compacted, is damage: the list is then rebuilt
    /// from the generation files' Replaces entries, and
    /// [`rebuilt`](Manifest::rebuilt) says what was wrong. When a
    /// generation file cannot tell what it replaces (written by version 2,
    /// or that entry damaged too), the damage is [`StorageError::Corrupt`].
    pub fn load(store: &Path) -> StorageResult<Manifest> {
        let path = manifest_path(store);
        let reason = match std::fs::read(&path) {
            Ok(bytes) => match Manifest::decode(&bytes) {
                Ok(manifest) => return Ok(manifest),
                Err(reason) => reason.to_string(),
            },
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                if !marked_compacted(store)? {
                    return Ok(Manifest::default());
                }
                "missing, but the store marker says the store was compacted".to_owned()
            }
            Err(e) => return Err(StorageError::io("read", path, e)),
        };
        match Manifest::rebuild(store)? {
            Some(mut manifest) => {
                manifest.rebuilt = Some(format!(
                    "{}: {reason}; rebuilt from the generation files",
                    path.display()
                ));
                Ok(manifest)
            }
            None => Err(manifest_damage(
                &path,
                format!(
                    "{reason}, and the generation files cannot tell which segments they \
                     replace: the compacted data cannot be read until it is mended"
                ),
            )),
        }
    }

    /// The list of generations as their files tell it (every `.gen` file,
    /// in number order, with the segments its Replaces entries list);
    /// `None` when a file cannot tell. A generation written but never
    /// published (a compaction killed just before publishing) is listed
    /// too: it holds exactly what the segments it replaces hold, and those
    /// are still there, so readers read the same either way.
    fn rebuild(store: &Path) -> StorageResult<Option<Manifest>> {
        let mut generations = Vec::new();
        for number in generation_files(store)? {
            let Ok(generation) = Generation::open(&generation_path(store, number), number) else {
                return Ok(None);
            };
            let Some(segments) = generation.replaced_segments() else {
                return Ok(None);
            };
            generations.push(GenerationEntry { number, segments });
        }
        Ok(Some(Manifest {
            generations,
            rebuilt: None,
        }))
    }

    /// The damage of the manifest file, when the list was rebuilt (lane
    /// 0, segment 0).
    pub fn damage(&self) -> Option<Damage> {
        let reason = self.rebuilt.as_ref()?;
        Some(Damage {
            lane: 0,
            segment: 0,
            offset: 0,
            len: 0,
            reason: reason.clone(),
        })
    }

    /// The greatest sequence number of lane `lane` that a generation
    /// replaced: the lane's next segment must be numbered after it.
    pub fn last_sequence(&self, lane: u64) -> Option<u64> {
        self.generations
            .iter()
            .flat_map(|g| g.segments.iter())
            .filter(|(l, _)| *l == lane)
            .map(|(_, s)| *s)
            .max()
    }

    /// Publishes this manifest atomically (temporary file, fsync, rename,
    /// directory fsync).
    pub(crate) fn publish(&self, store: &Path) -> StorageResult<()> {
        write_atomic(&manifest_path(store), &self.encode())
    }

    /// Every segment some generation replaced.
    pub fn replaced(&self) -> HashSet<(u64, u64)> {
        self.generations
            .iter()
            .flat_map(|g| g.segments.iter().copied())
            .collect()
    }

    /// The number the next generation gets.
    pub fn next_number(&self) -> u64 {
        self.generations.last().map_or(1, |g| g.number + 1)
    }

    /// The bytes (FORMAT.md, "Manifest").
    pub fn encode(&self) -> Vec<u8> {
        encode_manifest(&self.generations)
    }

    /// Decodes and checks manifest bytes.
    pub fn decode(bytes: &[u8]) -> std::result::Result<Manifest, DecodeError> {
        Ok(Manifest {
            generations: decode_manifest(bytes)?,
            rebuilt: None,
        })
    }
}

/// The error of a damaged or missing manifest.
fn manifest_damage(path: &Path, reason: String) -> StorageError {
    StorageError::Corrupt(Damage {
        lane: 0,
        segment: 0,
        offset: 0,
        len: std::fs::metadata(path).map_or(0, |m| m.len()),
        reason: format!("{}: {reason}", path.display()),
    })
}

/// Whether the store was compacted, so that it must have a manifest: its
/// marker says 2 to 4, or it says 5 or more (which a store gets without
/// being compacted) and a generation file exists. A marker that cannot be
/// read is the store check's business, not the manifest's.
fn marked_compacted(store: &Path) -> StorageResult<bool> {
    let path = store.join(crate::layout::MARKER_FILE);
    let version = match std::fs::read(&path) {
        Ok(bytes) => match crate::log::marker::check_marker(&path, &bytes) {
            Ok(marker) => marker.version,
            Err(_) => return Ok(false),
        },
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(StorageError::io("read", path, e)),
    };
    Ok(match version {
        STORE_VERSION_PLAIN => false,
        // Only a compaction raised a marker to 2, 3 or 4.
        v if v < STORE_VERSION_MODELS => true,
        _ => !generation_files(store)?.is_empty(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifests_round_trip_and_refuse_damage() {
        let m = Manifest {
            generations: vec![
                GenerationEntry {
                    number: 1,
                    segments: vec![(1, 1), (1, 2), (3, 7)],
                },
                GenerationEntry {
                    number: 2,
                    segments: vec![],
                },
            ],
            rebuilt: None,
        };
        let bytes = m.encode();
        assert_eq!(Manifest::decode(&bytes).unwrap(), m);
        assert_eq!(m.next_number(), 3);
        assert_eq!(m.replaced().len(), 3);
        for i in 0..bytes.len() {
            let mut bad = bytes.clone();
            bad[i] ^= 0x04;
            assert!(Manifest::decode(&bad).is_err(), "flip at {i} accepted");
        }
        for cut in 0..bytes.len() {
            assert!(Manifest::decode(&bytes[..cut]).is_err());
        }
        assert_eq!(Manifest::default().next_number(), 1);
    }
}
