//! REST API versions (`v62.0` in every data path) and what each one changes.

use std::fmt;

/// Oldest version still served; 21.0 to 30.0 were retired in Summer '25.
pub(crate) const OLDEST_SUPPORTED: u32 = 31;
/// Newest version the emulator answers (Spring '26).
pub(crate) const NEWEST_SUPPORTED: u32 = 66;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ApiVersion(u32);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum VersionError {
    #[error("API version {0}.0 has been retired")]
    Retired(u32),
    #[error("no such API version")]
    Unknown,
}

impl ApiVersion {
    pub(crate) fn from_segment(segment: &str) -> Result<ApiVersion, VersionError> {
        let number = segment
            .strip_prefix('v')
            .and_then(|rest| rest.strip_suffix(".0"))
            .filter(|digits| !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit()))
            .and_then(|digits| digits.parse::<u32>().ok())
            .ok_or(VersionError::Unknown)?;
        match number {
            n if n < OLDEST_SUPPORTED => Err(VersionError::Retired(n)),
            n if n > NEWEST_SUPPORTED => Err(VersionError::Unknown),
            n => Ok(ApiVersion(n)),
        }
    }

    pub(crate) fn from_path(path: &str) -> Result<ApiVersion, VersionError> {
        let rest = path
            .strip_prefix("/services/data/")
            .ok_or(VersionError::Unknown)?;
        ApiVersion::from_segment(rest.split('/').next().unwrap_or_default())
    }

    pub(crate) fn all_supported() -> impl Iterator<Item = ApiVersion> {
        (OLDEST_SUPPORTED..=NEWEST_SUPPORTED).map(ApiVersion)
    }

    pub fn major(self) -> u32 {
        self.0
    }

    /// Release name. Three releases a year (Winter, Spring, Summer); Winter '24 is 59.0,
    /// and a Winter release carries the next calendar year's number.
    pub(crate) fn release_label(self) -> String {
        let steps = i64::from(self.0) - 59;
        let year = 24 + steps.div_euclid(3);
        let season = ["Winter", "Spring", "Summer"][steps.rem_euclid(3) as usize];
        format!("{season} '{year:02}")
    }

    /// Upsert answers 200 with `created` on update from 46.0; older versions answer 204.
    pub(crate) fn reports_created_flag(self) -> bool {
        self.0 >= 46
    }

    /// sObject Collections upsert exists from 46.0.
    pub(crate) fn has_collections_upsert(self) -> bool {
        self.0 >= 46
    }

    /// `POST …/sobjects/{object}/Id` exists from 37.0.
    pub(crate) fn has_insert_by_id_key(self) -> bool {
        self.0 >= 37
    }

    /// `?updateOnly=true` exists from 61.0 (Summer '24).
    pub(crate) fn has_update_only(self) -> bool {
        self.0 >= 61
    }

    /// Prefix for URLs handed back to the client, like `/services/data/v62.0`.
    pub(crate) fn base_path(self) -> String {
        format!("/services/data/{self}")
    }
}

impl fmt::Display for ApiVersion {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "v{}.0", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn release_labels_follow_the_three_releases_a_year() {
        let label = |n| ApiVersion(n).release_label();

        assert_eq!(label(31), "Summer '14");
        assert_eq!(label(46), "Summer '19");
        assert_eq!(label(62), "Winter '25");
        assert_eq!(label(66), "Spring '26");
    }

    #[test]
    fn segments_outside_the_supported_range_are_retired_or_unknown() {
        assert_eq!(
            ApiVersion::from_segment("v30.0"),
            Err(VersionError::Retired(30))
        );
        assert_eq!(
            ApiVersion::from_segment("v67.0"),
            Err(VersionError::Unknown)
        );
        assert_eq!(
            ApiVersion::from_segment("v62.1"),
            Err(VersionError::Unknown)
        );
        assert_eq!(ApiVersion::from_segment("v62.0"), Ok(ApiVersion(62)));
    }
}
