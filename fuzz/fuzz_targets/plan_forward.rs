//! Any forward body planned against the shipped mappings: rendering never panics and never
//! hangs (the template engine's fuel bounds each render).
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use strexforce::forward::{ForwardKind, NumberingPlan, parse};
use strexforce::mapping::{MappingSet, MappingSettings, MappingSource};

fn shipped() -> &'static MappingSet {
    static SET: OnceLock<MappingSet> = OnceLock::new();
    SET.get_or_init(|| {
        let sources = vec![
            MappingSource {
                path: PathBuf::from("mo.yaml"),
                text: include_str!("../../mappings/mo.yaml").to_owned(),
            },
            MappingSource {
                path: PathBuf::from("subscription.yaml"),
                text: include_str!("../../mappings/subscription.yaml").to_owned(),
            },
        ];
        MappingSet::from_sources(sources, &MappingSettings::default()).expect("shipped mappings")
    })
}

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
        let _ = shipped().plan(&forward);
    }
});
