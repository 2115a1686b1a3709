//! What a check finds: a problem, how bad it is, and where in which mapping file.

use std::fmt;
use std::path::PathBuf;

use crate::mapping::Position;

/// How bad a finding is; only errors make a check fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Error,
    Warning,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        })
    }
}

/// One kind of problem, with what is needed to explain it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    UnknownObject,
    ObjectNotCreateable,
    ObjectNotUpdateable,
    UnknownField { suggestion: Option<String> },
    FieldNotCreateable,
    FieldNotUpdateable,
    SetOnlyOnCreate,
    CreateOnlyNotUpdateable,
    NotExternalId,
    PicklistValueNotAllowed { value: String, restricted: bool },
    TooLong { length: usize, max: u32 },
    CannotBeCleared,
    UnknownRelationship { suggestion: Option<String> },
    ParentObjectUnknown { objects: Vec<String> },
    ParentKeyNotExternalId { key: String, objects: Vec<String> },
    RequiredOnCreate,
}

impl Problem {
    pub fn severity(&self) -> Severity {
        match self {
            Problem::PicklistValueNotAllowed {
                restricted: false, ..
            }
            | Problem::RequiredOnCreate
            | Problem::SetOnlyOnCreate => Severity::Warning,
            _ => Severity::Error,
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::UnknownField { .. }
            | Problem::UnknownRelationship { .. }
            | Problem::ParentObjectUnknown { .. }
            | Problem::ParentKeyNotExternalId { .. } => self.fmt_name(f),
            Problem::PicklistValueNotAllowed { .. }
            | Problem::TooLong { .. }
            | Problem::CannotBeCleared => self.fmt_value(f),
            _ => f.write_str(self.plain_text()),
        }
    }
}

impl Problem {
    /// The problems whose explanation has no data in it.
    fn plain_text(&self) -> &'static str {
        match self {
            Problem::UnknownObject => "the org has no such object, or the user cannot see it",
            Problem::ObjectNotCreateable => "the user cannot create records of this object",
            Problem::ObjectNotUpdateable => "the user cannot update records of this object",
            Problem::FieldNotCreateable => "the field cannot be set when a record is created",
            Problem::FieldNotUpdateable => {
                "an update-only step sets this field, but it cannot be set when a record is \
                 updated (give the user edit access, or leave it out)"
            }
            Problem::SetOnlyOnCreate => {
                "the field can be set only when a record is created; on an existing record \
                 Salesforce refuses it and the record is sent again without it"
            }
            Problem::CreateOnlyNotUpdateable => {
                "create_only values are written right after the record is created, by an \
                 update this field does not allow; write it as an ordinary field instead"
            }
            Problem::NotExternalId => {
                "the upsert key is not an External ID field (nor an id lookup)"
            }
            Problem::RequiredOnCreate => {
                "required when a record is created, and no step writing this record sets it"
            }
            _ => "",
        }
    }

    fn fmt_value(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::PicklistValueNotAllowed { value, restricted } => {
                write!(f, "{value:?} is not an active value of this picklist")?;
                if !restricted {
                    f.write_str(" (unrestricted, so Salesforce stores it as an inactive value)")?;
                }
                Ok(())
            }
            Problem::TooLong { length, max } => {
                write!(
                    f,
                    "the value is {length} UTF-16 units long; the field holds {max}"
                )
            }
            Problem::CannotBeCleared => f.write_str("null clears the field, but it is required"),
            _ => Ok(()),
        }
    }

    /// Problems with a name: a field, a relationship, or what it points to.
    fn fmt_name(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::UnknownField { suggestion } => {
                f.write_str("no such field, or the user cannot see it (field-level security)")?;
                did_you_mean(f, suggestion)
            }
            Problem::UnknownRelationship { suggestion } => {
                f.write_str("no lookup or master-detail relationship has this name")?;
                did_you_mean(f, suggestion)
            }
            Problem::ParentObjectUnknown { objects } => write!(
                f,
                "the relationship points to {}, which cannot be described",
                objects.join(", ")
            ),
            Problem::ParentKeyNotExternalId { key, objects } => {
                write!(
                    f,
                    "{key} is not an External ID field of {}",
                    objects.join(" or ")
                )
            }
            _ => Ok(()),
        }
    }
}

fn did_you_mean(f: &mut fmt::Formatter<'_>, suggestion: &Option<String>) -> fmt::Result {
    match suggestion {
        Some(name) => write!(f, "; did you mean {name}?"),
        None => Ok(()),
    }
}

/// One problem at one place of a mapping file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub file: PathBuf,
    pub at: Position,
    pub mapping: String,
    pub rule: String,
    pub object: String,
    /// The field, relationship or upsert key concerned; `None` for the object itself.
    pub field: Option<String>,
    pub problem: Problem,
}

impl Finding {
    pub fn severity(&self) -> Severity {
        self.problem.severity()
    }

    /// `file:line:column`, the form editors and terminals turn into links.
    pub fn location(&self) -> String {
        format!(
            "{}:{}:{}",
            self.file.display(),
            self.at.line,
            self.at.column
        )
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {}: {}",
            self.location(),
            self.severity(),
            self.object
        )?;
        if let Some(field) = &self.field {
            write!(f, ".{field}")?;
        }
        write!(f, ": {}", self.problem)
    }
}
