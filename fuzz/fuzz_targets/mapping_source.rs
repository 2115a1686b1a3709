//! Any mapping file text: compiling never panics, and a file that compiles plans the sample
//! forwards without panicking.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use strexforce::forward::{Forward, ForwardKind, NumberingPlan, parse};
use strexforce::mapping::{MappingSet, MappingSettings, MappingSource};

fn samples() -> &'static [Forward] {
    static SAMPLES: OnceLock<Vec<Forward>> = OnceLock::new();
    SAMPLES.get_or_init(|| {
        let plan = NumberingPlan::default();
        let bodies: [(ForwardKind, &[u8]); 3] = [
            (
                ForwardKind::Mo,
                include_bytes!("../../tests/fixtures/strex/mo-lookup.json"),
            ),
            (
                ForwardKind::Dlr,
                include_bytes!("../../tests/fixtures/strex/dlr-subscribe.json"),
            ),
            (
                ForwardKind::Dlr,
                include_bytes!("../../tests/fixtures/strex/dlr-properties-null.json"),
            ),
        ];
        bodies
            .iter()
            .map(|(kind, body)| parse(*kind, body, &plan).expect("sample parses"))
            .collect()
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let source = MappingSource {
        path: PathBuf::from("fuzzed.yaml"),
        text: text.to_owned(),
    };
    if let Ok(set) = MappingSet::from_sources(vec![source], &MappingSettings::default()) {
        for forward in samples() {
            let _ = set.plan(forward);
        }
    }
});
