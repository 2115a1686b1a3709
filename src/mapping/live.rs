//! The mapping set in force, shared by every request, and its atomic replacement.
//!
//! Requests take the current set once and plan with it, so a reload in the middle of a
//! request never mixes two versions; a set that fails to load never replaces a working one.

use std::path::Path;
use std::sync::{Arc, RwLock};

use super::{LoadError, MappingSet, MappingSettings};

/// The current mapping set; cloning shares it.
pub type SharedMappings = Arc<RwLock<Arc<MappingSet>>>;

/// Shares a loaded set.
pub fn shared(set: MappingSet) -> SharedMappings {
    Arc::new(RwLock::new(Arc::new(set)))
}

/// The set in force now.
pub fn current(shared: &SharedMappings) -> Arc<MappingSet> {
    shared
        .read()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .clone()
}

/// What a reload did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reloaded {
    /// The files changed; `to` is in force now.
    Replaced { from: String, to: String },
    /// The files hash to the version already in force.
    Unchanged { version: String },
}

/// Loads `dir` again and puts the result in force if it is valid; on error the old set stays.
pub fn reload(
    shared: &SharedMappings,
    dir: &Path,
    settings: &MappingSettings,
) -> Result<Reloaded, LoadError> {
    let fresh = MappingSet::load_dir(dir, settings)?;
    let mut slot = shared
        .write()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let from = slot.version().to_owned();
    if from == fresh.version() {
        return Ok(Reloaded::Unchanged { version: from });
    }
    let to = fresh.version().to_owned();
    *slot = Arc::new(fresh);
    Ok(Reloaded::Replaced { from, to })
}
