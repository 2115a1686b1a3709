//! Plans per second of the mapping engine: a parsed forward in, its planned upserts out, with
//! the shipped mappings. Run with `cargo bench --bench mapping`.

use std::path::Path;

use divan::Bencher;
use strexforce::forward::{Forward, ForwardKind, NumberingPlan, parse};
use strexforce::mapping::{MappingSet, MappingSettings};

fn main() {
    divan::main();
}

fn shipped_mappings() -> MappingSet {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("mappings");
    MappingSet::load_dir(&dir, &MappingSettings::default()).expect("the shipped mappings load")
}

fn fixture(kind: ForwardKind, file: &str) -> Forward {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/strex")
        .join(file);
    let body = std::fs::read(&path).expect("the fixture exists");
    parse(kind, &body, &NumberingPlan::default()).expect("the fixture is a valid forward")
}

/// One delivery report of a subscription and one incoming SMS, as in the intake benchmark.
#[divan::bench(args = ["dlr-subscribe.json", "mo-plain.json"])]
fn plan(bencher: Bencher, file: &str) {
    let mappings = shipped_mappings();
    let kind = if file.starts_with("dlr") {
        ForwardKind::Dlr
    } else {
        ForwardKind::Mo
    };
    let forward = fixture(kind, file);
    bencher.bench(|| {
        let plan = mappings
            .plan(divan::black_box(&forward))
            .expect("the forward plans");
        divan::black_box(plan.upserts.len())
    });
}
