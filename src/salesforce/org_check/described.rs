//! Describe results for the objects the mappings write, from an org or from a schema file.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use super::{objects_written, parent_objects};
use crate::mapping::StepTarget;
use crate::salesforce::describe::ObjectDescription;
use crate::salesforce::{ApiError, SalesforceClient};

/// Objects by lower-case name (Salesforce object names are case-insensitive); `None` for an
/// object the org does not have or the user cannot see.
#[derive(Debug, Default)]
pub struct Described {
    objects: HashMap<String, Option<ObjectDescription>>,
}

impl Described {
    /// Describes the written objects, then the parents their relationships point to.
    pub async fn from_org(
        client: &SalesforceClient,
        targets: &[StepTarget<'_>],
    ) -> Result<Described, ApiError> {
        let mut described = Described::default();
        for object in objects_written(targets) {
            described
                .objects
                .insert(object.to_ascii_lowercase(), client.describe(&object).await?);
        }
        for object in parent_objects(targets, |name| described.lookup(name)) {
            if let Entry::Vacant(entry) = described.objects.entry(object.to_ascii_lowercase()) {
                entry.insert(client.describe(&object).await?);
            }
        }
        Ok(described)
    }

    /// Every object of a schema file, already described.
    pub fn from_descriptions(descriptions: Vec<ObjectDescription>) -> Described {
        let objects = descriptions
            .into_iter()
            .map(|object| (object.name.to_ascii_lowercase(), Some(object)))
            .collect();
        Described { objects }
    }

    pub fn lookup(&self, name: &str) -> Option<ObjectDescription> {
        self.objects
            .get(&name.to_ascii_lowercase())
            .cloned()
            .flatten()
    }

    /// How many objects were found.
    pub fn count(&self) -> usize {
        self.objects.values().flatten().count()
    }
}
