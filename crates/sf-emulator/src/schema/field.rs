//! One field of an sObject, as written in the schema YAML and reported by describe.

use serde::Deserialize;

/// Salesforce field types the emulator understands. The serialized names are the
/// ones describe reports in `type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FieldType {
    String,
    Textarea,
    Phone,
    Email,
    Url,
    Picklist,
    Multipicklist,
    Boolean,
    Int,
    Double,
    Currency,
    Percent,
    Date,
    Datetime,
    Reference,
    /// The record Id; only the implicit `Id` field has it.
    Id,
}

impl FieldType {
    pub fn describe_name(self) -> &'static str {
        match self {
            FieldType::String => "string",
            FieldType::Textarea => "textarea",
            FieldType::Phone => "phone",
            FieldType::Email => "email",
            FieldType::Url => "url",
            FieldType::Picklist => "picklist",
            FieldType::Multipicklist => "multipicklist",
            FieldType::Boolean => "boolean",
            FieldType::Int => "int",
            FieldType::Double => "double",
            FieldType::Currency => "currency",
            FieldType::Percent => "percent",
            FieldType::Date => "date",
            FieldType::Datetime => "datetime",
            FieldType::Reference => "reference",
            FieldType::Id => "id",
        }
    }

    pub fn is_text(self) -> bool {
        matches!(
            self,
            FieldType::String
                | FieldType::Textarea
                | FieldType::Phone
                | FieldType::Email
                | FieldType::Url
                | FieldType::Picklist
                | FieldType::Multipicklist
        )
    }

    pub fn is_decimal(self) -> bool {
        matches!(
            self,
            FieldType::Double | FieldType::Currency | FieldType::Percent
        )
    }

    pub fn is_picklist(self) -> bool {
        matches!(self, FieldType::Picklist | FieldType::Multipicklist)
    }

    /// The length Salesforce gives a text field when none is configured.
    pub(crate) fn default_length(self) -> Option<u32> {
        match self {
            FieldType::Phone => Some(40),
            FieldType::Email => Some(80),
            FieldType::Multipicklist => Some(4099),
            FieldType::Id | FieldType::Reference => Some(18),
            other if other.is_text() => Some(255),
            _ => None,
        }
    }

    pub(crate) fn default_precision(self) -> Option<(u32, u32)> {
        match self {
            FieldType::Int => Some((9, 0)),
            FieldType::Double => Some((18, 0)),
            FieldType::Currency | FieldType::Percent => Some((18, 2)),
            _ => None,
        }
    }
}

/// A field definition. Built only by parsing a schema, so the implicit system fields
/// and the defaults below are always filled in.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Field {
    #[serde(skip)]
    pub name: String,
    #[serde(rename = "type")]
    pub field_type: FieldType,
    #[serde(default)]
    pub label: String,
    /// Maximum length in UTF-16 code units, for text types.
    pub length: Option<u32>,
    pub precision: Option<u32>,
    pub scale: Option<u32>,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub external_id: bool,
    #[serde(default)]
    pub unique: bool,
    #[serde(default)]
    pub case_sensitive: bool,
    #[serde(default)]
    pub picklist: Vec<String>,
    /// A restricted picklist rejects values not in `picklist`.
    #[serde(default)]
    pub restricted: bool,
    #[serde(default)]
    pub defaulted_on_create: bool,
    #[serde(default = "enabled")]
    pub createable: bool,
    #[serde(default = "enabled")]
    pub updateable: bool,
    #[serde(default)]
    pub reference_to: Vec<String>,
    /// Name used for `"Rel": {"ExtField": value}` in request bodies.
    pub relationship_name: Option<String>,
    /// A read-only field whose value is the listed fields joined by spaces
    /// (Contact.Name is FirstName and LastName).
    #[serde(default)]
    pub compound_of: Vec<String>,
    /// True for Id, CreatedDate, LastModifiedDate and SystemModstamp.
    #[serde(skip)]
    pub system: bool,
}

fn enabled() -> bool {
    true
}

impl Field {
    pub(crate) fn system(name: &str, field_type: FieldType, label: &str) -> Field {
        Field {
            name: name.to_string(),
            field_type,
            label: label.to_string(),
            length: field_type.default_length(),
            precision: None,
            scale: None,
            required: false,
            external_id: false,
            unique: false,
            case_sensitive: false,
            picklist: Vec::new(),
            restricted: false,
            defaulted_on_create: true,
            createable: false,
            updateable: false,
            reference_to: Vec::new(),
            relationship_name: None,
            compound_of: Vec::new(),
            system: true,
        }
    }

    pub fn is_custom(&self) -> bool {
        self.name.ends_with("__c")
    }

    /// Checkboxes are never null in Salesforce: they default to false.
    pub fn is_boolean(&self) -> bool {
        self.field_type == FieldType::Boolean
    }

    /// Salesforce fills a value when the caller sends none.
    pub fn is_defaulted_on_create(&self) -> bool {
        self.defaulted_on_create || self.is_boolean()
    }

    /// Whether the field may be empty once saved.
    pub fn nillable(&self) -> bool {
        !(self.required || self.system || self.is_boolean())
    }

    /// Describe's "required for create": createable, not nillable, not defaulted.
    pub fn required_on_create(&self) -> bool {
        self.createable && !self.nillable() && !self.is_defaulted_on_create()
    }

    /// Whether the field can identify a record in an upsert URL.
    pub fn id_lookup(&self) -> bool {
        self.external_id || self.field_type == FieldType::Id
    }

    pub fn is_compound(&self) -> bool {
        !self.compound_of.is_empty()
    }

    /// For int fields describe reports the allowed digits.
    pub fn digits(&self) -> u32 {
        if self.field_type == FieldType::Int {
            self.precision.unwrap_or(9)
        } else {
            0
        }
    }

    pub fn allows_picklist_value(&self, value: &str) -> bool {
        self.picklist.iter().any(|allowed| allowed == value)
    }
}
