//! The harness runs end to end on a tiny load, so that it keeps working between the times
//! someone measures with it. The figures of such a run mean nothing; the report's shape does.

use std::process::Command;

#[test]
fn a_tiny_run_reports_intake_sync_and_footprint() {
    let output = Command::new(env!("CARGO_BIN_EXE_strexforce-bench"))
        .args(["--runs", "1", "--concurrency", "2", "--warmup-secs", "0"])
        .args([
            "--intake-secs",
            "1",
            "--burst",
            "40",
            "--sf-latency-ms",
            "5",
        ])
        .args(["--lag-rate", "20", "--lag-secs", "1"])
        .output()
        .expect("the harness starts");

    let report = String::from_utf8_lossy(&output.stdout);
    let progress = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{report}\n{progress}");
    for heading in ["## Intake", "## Sync", "## Footprint"] {
        assert!(report.contains(heading), "no {heading} in:\n{report}");
    }
    assert!(report.contains("Every 200 stored"), "{report}");
    assert!(
        report.contains("80 rows, "),
        "the burst's 40 forwards plan 80 rows:\n{report}"
    );
}
