//! How far a transaction had come when a delivery report was written.
//!
//! Strex may deliver the reports of one transaction out of order: a `Sent` can arrive after
//! the `Ok` that followed it. Each report is ranked, and a report ranking below one already
//! stored for the same transaction is kept as `superseded` and plans nothing, so the older
//! state never reaches Salesforce after the newer one.
//!
//! - Ranks: Queued 1, Sent 2, Ok and Failed 3 (both final outcomes of a delivery or a
//!   charge), Reversed 4 (a final charge taken back later).
//! - Equal ranks are not superseded: two reports of the same rank for one transaction (an Ok
//!   carrying one service action and another carrying a second one, say) are both planned,
//!   in arrival order, like any two events of one subscriber.
//! - A status strexforce does not know is not ranked: it is always planned and never
//!   supersedes anything.
//! - A reversal comes with the original transaction id prefixed by `-`; it reports on that
//!   same transaction, so the prefix is dropped from the key the ranks are compared under.

use super::parse::{Forward, Message};

/// The transaction a delivery report is about, and how far it had come.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryState {
    /// The transaction id without a reversal's leading `-`.
    pub key: String,
    /// `None` for a status that is not ranked.
    pub rank: Option<i16>,
}

/// Ranks of the DeliveryReport `statusCode` values, compared case-insensitively.
const RANKS: [(&str, i16); 5] = [
    ("Queued", 1),
    ("Sent", 2),
    ("Ok", 3),
    ("Failed", 3),
    ("Reversed", 4),
];

impl DeliveryState {
    /// The state a delivery report carries; `None` for an MO.
    pub fn of(forward: &Forward) -> Option<DeliveryState> {
        let Message::Dlr(report) = &forward.message else {
            return None;
        };
        let transaction = report.transaction_id.as_deref()?;
        let key = transaction.strip_prefix('-').unwrap_or(transaction);
        Some(DeliveryState {
            key: key.to_owned(),
            rank: report.status_code.as_deref().and_then(rank),
        })
    }
}

fn rank(status_code: &str) -> Option<i16> {
    let status = status_code.trim();
    RANKS
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(status))
        .map(|(_, rank)| *rank)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::forward::{ForwardKind, NumberingPlan, parse};

    fn report(transaction_id: &str, status: &str) -> Forward {
        let body = serde_json::json!({
            "transactionId": transaction_id, "recipient": "+4700000001",
            "statusCode": status, "detailedStatusCode": "None"
        });
        let bytes = serde_json::to_vec(&body).unwrap();
        parse(ForwardKind::Dlr, &bytes, &NumberingPlan::default()).unwrap()
    }

    #[test]
    fn statuses_rank_from_queued_to_reversed() {
        let ranks: Vec<Option<i16>> = ["queued", "Sent", "Ok", "FAILED", "Reversed", "Odd"]
            .into_iter()
            .map(|status| DeliveryState::of(&report("t1", status)).unwrap().rank)
            .collect();

        assert_eq!(ranks, [Some(1), Some(2), Some(3), Some(3), Some(4), None]);
    }

    #[test]
    fn a_reversal_reports_on_the_transaction_without_its_minus_sign() {
        let reversal = DeliveryState::of(&report("-t1", "Reversed")).unwrap();

        assert_eq!(reversal.key, "t1");
    }

    #[test]
    fn an_mo_has_no_delivery_state() {
        let body =
            br#"{"transactionId":"t","sender":"+4700000001","recipient":"2002","content":""}"#;
        let mo = parse(ForwardKind::Mo, body, &NumberingPlan::default()).unwrap();

        assert_eq!(DeliveryState::of(&mo), None);
    }
}
