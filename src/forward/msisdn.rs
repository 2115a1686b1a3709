//! Mobile numbers in one canonical form, so that one person is always one external id.
//!
//! Strex writes MSISDNs as `+47…`, but number-lookup data and hand-typed values arrive as
//! `0047…`, `47…`, with spaces, or as eight national digits. Short numbers such as `2002`
//! and alphanumeric senders are not MSISDNs and are left exactly as they came.

use std::fmt;

use unicode_normalization::UnicodeNormalization;

/// Format characters that carry no meaning in a phone number: zero-width space, joiners, word
/// joiner and the byte-order mark.
const INVISIBLE: [char; 5] = ['\u{200b}', '\u{200c}', '\u{200d}', '\u{2060}', '\u{feff}'];

/// Country calling code and national number length used when a number has no country code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumberingPlan {
    pub country_code: String,
    pub national_length: usize,
}

impl Default for NumberingPlan {
    /// Norway: `+47` and eight-digit national numbers.
    fn default() -> Self {
        NumberingPlan {
            country_code: "47".to_owned(),
            national_length: 8,
        }
    }
}

/// A phone number as it will be written to Salesforce.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Msisdn {
    /// An international number; the digits after the `+`.
    International(String),
    /// Anything that is not recognisably a mobile number, kept verbatim.
    Verbatim(String),
}

impl Msisdn {
    /// Reads a number in any of the forms Strex and number lookups use.
    pub fn parse(raw: &str, plan: &NumberingPlan) -> Msisdn {
        let trimmed = raw.trim();
        // Full-width digits and invisible characters pasted along with a number would make
        // one person two external ids.
        let plain: String = trimmed.nfkc().filter(|c| !INVISIBLE.contains(c)).collect();
        let Some(compact) = compact_digits(&plain) else {
            return Msisdn::Verbatim(trimmed.to_owned());
        };
        match international_digits(&compact, plan) {
            Some(digits) => Msisdn::International(digits),
            None => Msisdn::Verbatim(trimmed.to_owned()),
        }
    }

    /// Whether this is a recognisable international number.
    pub fn is_international(&self) -> bool {
        matches!(self, Msisdn::International(_))
    }

    /// E.164 with a leading `+` (`+4798079008`), or the verbatim text.
    pub fn e164(&self) -> String {
        match self {
            Msisdn::International(digits) => format!("+{digits}"),
            Msisdn::Verbatim(text) => text.clone(),
        }
    }

    /// Digits only, country code included (`4798079008`), or the verbatim text.
    pub fn digits(&self) -> String {
        match self {
            Msisdn::International(digits) => digits.clone(),
            Msisdn::Verbatim(text) => text.clone(),
        }
    }

    /// The national number without country code (`98079008`) when the number belongs to the
    /// plan's country; otherwise the E.164 form.
    pub fn national(&self, plan: &NumberingPlan) -> String {
        match self {
            Msisdn::International(digits) => match digits.strip_prefix(&plan.country_code) {
                Some(national) if national.len() == plan.national_length => national.to_owned(),
                _ => self.e164(),
            },
            Msisdn::Verbatim(text) => text.clone(),
        }
    }
}

impl fmt::Display for Msisdn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.e164())
    }
}

/// The number with separators removed, keeping a leading `+`; `None` if anything other than
/// digits and the usual separators appears.
fn compact_digits(text: &str) -> Option<String> {
    let mut compact = String::with_capacity(text.len());
    for (index, ch) in text.chars().enumerate() {
        match ch {
            '0'..='9' => compact.push(ch),
            '+' if index == 0 => compact.push(ch),
            ' ' | '-' | '.' | '(' | ')' | '\u{a0}' => {}
            _ => return None,
        }
    }
    (compact.trim_start_matches('+').len() >= 3).then_some(compact)
}

/// The digits after the country's `+`, or `None` for short numbers and unknown shapes.
fn international_digits(compact: &str, plan: &NumberingPlan) -> Option<String> {
    // E.164 allows at most 15 digits; anything longer is not a phone number.
    const E164_MAX_DIGITS: usize = 15;
    let digits = if let Some(rest) = compact.strip_prefix('+') {
        // No country calling code starts with 0: `+047…` is a mistyped number, not E.164.
        if rest.starts_with('0') {
            return None;
        }
        rest.to_owned()
    } else if let Some(rest) = compact.strip_prefix("00") {
        rest.to_owned()
    } else if compact.len() == plan.national_length {
        format!("{}{compact}", plan.country_code)
    } else if compact.len() == plan.country_code.len() + plan.national_length
        && compact.starts_with(&plan.country_code)
    {
        compact.to_owned()
    } else {
        return None;
    };
    let plausible = digits.len() > plan.country_code.len() && digits.len() <= E164_MAX_DIGITS;
    plausible.then_some(digits)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e164(raw: &str) -> String {
        Msisdn::parse(raw, &NumberingPlan::default()).e164()
    }

    #[test]
    fn every_written_form_of_one_norwegian_number_gives_one_e164() {
        for raw in [
            "+4798079008",
            "004798079008",
            "4798079008",
            "98079008",
            "980 79 008",
            "+47 980 79 008",
            " +47-980-79-008 ",
        ] {
            assert_eq!(e164(raw), "+4798079008", "input {raw:?}");
        }
    }

    #[test]
    fn short_numbers_and_alphanumeric_senders_are_left_alone() {
        assert_eq!(e164("2002"), "2002");
        assert_eq!(e164("StrexDemo"), "StrexDemo");
        assert_eq!(e164(""), "");
    }

    #[test]
    fn full_width_digits_and_invisible_characters_give_the_same_number() {
        assert_eq!(e164("\u{ff19}\u{ff18}\u{ff10}79008"), "+4798079008");
        assert_eq!(e164("+4798079008\u{200b}"), "+4798079008");
    }

    #[test]
    fn a_plus_followed_by_zero_is_not_an_international_number() {
        let number = Msisdn::parse("+047 98079008", &NumberingPlan::default());

        assert!(!number.is_international());
    }

    #[test]
    fn foreign_numbers_keep_their_country_code() {
        let plan = NumberingPlan::default();
        let swedish = Msisdn::parse("+46701234567", &plan);

        assert_eq!(swedish.e164(), "+46701234567");
        assert_eq!(swedish.national(&plan), "+46701234567");
    }

    #[test]
    fn national_and_digit_forms_follow_the_plan() {
        let plan = NumberingPlan::default();
        let number = Msisdn::parse("0047 98079008", &plan);

        assert_eq!(number.digits(), "4798079008");
        assert_eq!(number.national(&plan), "98079008");
    }
}
