//! Any bytes posted to a forward endpoint: parsing never panics, and whatever parses has a
//! dedupe key and a system action that can be computed.
#![no_main]

use libfuzzer_sys::fuzz_target;
use strexforce::forward::{ForwardKind, NumberingPlan, parse};

fuzz_target!(|data: &[u8]| {
    let Some((first, body)) = data.split_first() else {
        return;
    };
    let kind = if first % 2 == 0 {
        ForwardKind::Mo
    } else {
        ForwardKind::Dlr
    };
    if let Ok(forward) = parse(kind, body, &NumberingPlan::default()) {
        let _ = forward.dedupe_key();
        let _ = forward.system_action();
        let _ = forward.msisdn.as_ref().map(|number| number.e164());
    }
});
