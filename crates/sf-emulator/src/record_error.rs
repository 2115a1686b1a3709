//! Why one record could not be saved. The same errors appear per record in sObject
//! Collections results (`statusCode`) and as top-level 400 errors of the single-record
//! forms (`errorCode`); messages follow Salesforce's wording where it is known.

/// A record-level failure with its Salesforce status code.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub(crate) enum RecordError {
    #[error("No such column '{field}' on sobject of type {object}")]
    NoSuchColumn { field: String, object: String },
    #[error("Id is not allowed in the body of an upsert; records are matched by external id")]
    IdInBody,
    #[error(
        "{field} in the body ({body_value}) differs from the external id in the URL ({url_value})"
    )]
    KeyMismatch {
        field: String,
        url_value: String,
        body_value: String,
    },
    #[error(
        "Inserting with Id as the key does not allow the external id field {field} in the body"
    )]
    ExternalIdInInsertBody { field: String },
    #[error("Required fields are missing: [{}]", .0.join(", "))]
    RequiredFieldMissing(Vec<String>),
    #[error("{label}: data value too large: {value} (max length={max})")]
    StringTooLong {
        label: String,
        field: String,
        value: String,
        max: u32,
    },
    #[error("{label}: bad value for restricted picklist field: {value}")]
    BadRestrictedPicklist {
        label: String,
        field: String,
        value: String,
    },
    #[error("duplicate value found: {field} duplicates value on record with id: {other_id}")]
    DuplicateValue { field: String, other_id: String },
    #[error("{label}: invalid email address: {value}")]
    InvalidEmail {
        label: String,
        field: String,
        value: String,
    },
    #[error(
        "Unable to create/update fields: {}. Please check the security settings of this \
         field and verify that it is read/write for your profile or permission set.",
        .0.join(", ")
    )]
    NotWritable(Vec<String>),
    #[error(
        "Cannot deserialize instance of {expected} from {token} value {value} or request \
         may be missing a required field"
    )]
    WrongJsonType {
        field: String,
        expected: &'static str,
        token: &'static str,
        value: String,
    },
    #[error("{label}: value outside of valid range on numeric field: {value}")]
    NumberOutsideRange {
        label: String,
        field: String,
        value: String,
    },
    #[error("{label}: id value of incorrect type: {value}")]
    MalformedId {
        label: String,
        field: String,
        value: String,
    },
    #[error("invalid cross reference id")]
    InvalidCrossReference { field: String },
    #[error(
        "Foreign key external ID: {value} not found for field {external_field} in entity {entity}"
    )]
    ForeignKeyNotFound {
        value: String,
        external_field: String,
        entity: String,
    },
    #[error(
        "more than one record found for external id field: {external_field} = {value} in \
         entity {entity}"
    )]
    ForeignKeyAmbiguous {
        value: String,
        external_field: String,
        entity: String,
    },
    #[error("Field {external_field} is not an External ID or indexed field for {entity}")]
    NotAnExternalId {
        external_field: String,
        entity: String,
    },
    #[error("Duplicate external id specified: {value}")]
    DuplicateInRequest { field: String, value: String },
    #[error("{field} not specified")]
    MissingExternalId { field: String },
    #[error("more than one record found for external id field: [{}]", .ids.join(", "))]
    MultipleMatches { field: String, ids: Vec<String> },
    #[error("The requested resource does not exist")]
    NoMatchForUpdateOnly,
    #[error("unable to obtain exclusive access to this record")]
    RowLocked,
    #[error(
        "Record rolled back because not all records were valid and the request was using \
         AllOrNone header"
    )]
    RolledBack,
}

impl RecordError {
    /// The Salesforce `statusCode` / `errorCode` for this failure.
    pub(crate) fn status_code(&self) -> &'static str {
        use RecordError::*;
        match self {
            NoSuchColumn { .. }
            | IdInBody
            | KeyMismatch { .. }
            | ExternalIdInInsertBody { .. }
            | ForeignKeyNotFound { .. }
            | NotAnExternalId { .. } => "INVALID_FIELD",
            RequiredFieldMissing(_) => "REQUIRED_FIELD_MISSING",
            StringTooLong { .. } => "STRING_TOO_LONG",
            BadRestrictedPicklist { .. } => "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
            DuplicateValue { .. } => "DUPLICATE_VALUE",
            InvalidEmail { .. } => "INVALID_EMAIL_ADDRESS",
            NotWritable(_) => "INVALID_FIELD_FOR_INSERT_UPDATE",
            WrongJsonType { .. } => "JSON_PARSER_ERROR",
            NumberOutsideRange { .. } => "NUMBER_OUTSIDE_VALID_RANGE",
            MalformedId { .. } => "MALFORMED_ID",
            InvalidCrossReference { .. } => "INVALID_CROSS_REFERENCE_KEY",
            ForeignKeyAmbiguous { .. } | DuplicateInRequest { .. } | MultipleMatches { .. } => {
                "DUPLICATE_EXTERNAL_ID"
            }
            MissingExternalId { .. } => "MISSING_ARGUMENT",
            NoMatchForUpdateOnly => "NOT_FOUND",
            RowLocked => "UNABLE_TO_LOCK_ROW",
            RolledBack => "ALL_OR_NONE_OPERATION_ROLLED_BACK",
        }
    }

    /// The fields the error is about, for the `fields` array.
    pub(crate) fn fields(&self) -> Vec<String> {
        use RecordError::*;
        match self {
            RequiredFieldMissing(fields) | NotWritable(fields) => fields.clone(),
            NoSuchColumn { field, .. }
            | KeyMismatch { field, .. }
            | ExternalIdInInsertBody { field }
            | StringTooLong { field, .. }
            | BadRestrictedPicklist { field, .. }
            | DuplicateValue { field, .. }
            | InvalidEmail { field, .. }
            | WrongJsonType { field, .. }
            | NumberOutsideRange { field, .. }
            | MalformedId { field, .. }
            | InvalidCrossReference { field }
            | DuplicateInRequest { field, .. }
            | MissingExternalId { field }
            | MultipleMatches { field, .. } => vec![field.clone()],
            IdInBody => vec!["Id".to_string()],
            _ => Vec::new(),
        }
    }
}
