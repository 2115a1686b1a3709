//! The API usage Salesforce reports on every REST response.

use std::fmt;

/// Calls used in the org's rolling 24-hour window against its allocation, from the
/// `Sforce-Limit-Info: api-usage=USED/MAX` response header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct ApiUsage {
    pub used: u64,
    pub max: u64,
}

impl ApiUsage {
    /// Reads the header value; other parts such as `per-app-api-usage` are ignored.
    pub fn parse(header: &str) -> Option<ApiUsage> {
        let usage = header
            .split([',', ';'])
            .map(str::trim)
            .find_map(|part| part.strip_prefix("api-usage="))?;
        let (used, max) = usage.split_once('/')?;
        Some(ApiUsage {
            used: used.trim().parse().ok()?,
            max: max.trim().parse().ok()?,
        })
    }

    /// The share of the allocation used, from 0.0 upwards.
    pub fn share(&self) -> f64 {
        if self.max == 0 {
            return 1.0;
        }
        self.used as f64 / self.max as f64
    }
}

impl fmt::Display for ApiUsage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{} ({:.1} %)",
            self.used,
            self.max,
            self.share() * 100.0
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_api_usage_among_other_parts() {
        let usage = ApiUsage::parse("api-usage=10018/100000, per-app-api-usage=17/250(appName=x)");

        assert_eq!(
            usage,
            Some(ApiUsage {
                used: 10018,
                max: 100000
            })
        );
        assert_eq!(ApiUsage::parse("garbage"), None);
    }
}
