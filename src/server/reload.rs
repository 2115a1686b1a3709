//! Hot reload of the mappings: on SIGHUP and whenever a file in the mappings folder changes.

use std::path::{Path, PathBuf};
use std::time::Duration;

use notify::{RecursiveMode, Watcher};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::mapping::MappingSettings;
use crate::mapping::live::{Reloaded, SharedMappings, reload};
use crate::telemetry::metrics;

/// Editors write a file in several steps (truncate, write, rename); changes closer together
/// than this are one edit.
const SETTLE: Duration = Duration::from_millis(250);

/// Starts reloading until `shutdown`. The SIGHUP handler is in place when this returns, so a
/// signal sent right after start is not lost. A watcher that cannot start leaves SIGHUP
/// working.
pub fn spawn(
    shared: SharedMappings,
    dir: PathBuf,
    settings: MappingSettings,
    shutdown: CancellationToken,
) {
    let (changed, changes) = mpsc::unbounded_channel::<()>();
    spawn_sighup_listener(changed.clone(), shutdown.clone());
    tokio::spawn(watch(shared, dir, settings, changed, changes, shutdown));
}

async fn watch(
    shared: SharedMappings,
    dir: PathBuf,
    settings: MappingSettings,
    changed: mpsc::UnboundedSender<()>,
    mut changes: mpsc::UnboundedReceiver<()>,
    shutdown: CancellationToken,
) {
    let _watcher = file_watcher(&dir, changed);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            Some(()) = changes.recv() => {
                settle(&mut changes).await;
                apply(&shared, &dir, &settings);
            }
        }
    }
}

fn file_watcher(
    dir: &Path,
    changed: mpsc::UnboundedSender<()>,
) -> Option<notify::RecommendedWatcher> {
    let watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        if event.is_ok_and(|e| !e.kind.is_access()) {
            let _ = changed.send(());
        }
    });
    let mut watcher = match watcher {
        Ok(watcher) => watcher,
        Err(error) => {
            tracing::warn!(%error, "cannot watch the mappings folder; reload with SIGHUP");
            return None;
        }
    };
    if let Err(error) = watcher.watch(dir, RecursiveMode::NonRecursive) {
        tracing::warn!(
            %error,
            dir = %dir.display(),
            "cannot watch the mappings folder; reload with SIGHUP"
        );
        return None;
    }
    Some(watcher)
}

#[cfg(unix)]
fn spawn_sighup_listener(changed: mpsc::UnboundedSender<()>, shutdown: CancellationToken) {
    use tokio::signal::unix::{SignalKind, signal};
    let Ok(mut hangup) = signal(SignalKind::hangup()) else {
        tracing::warn!("cannot listen for SIGHUP; mappings reload on file changes only");
        return;
    };
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                Some(()) = hangup.recv() => { let _ = changed.send(()); }
            }
        }
    });
}

#[cfg(not(unix))]
fn spawn_sighup_listener(_changed: mpsc::UnboundedSender<()>, _shutdown: CancellationToken) {}

/// Waits until changes stop arriving for a moment.
async fn settle(changes: &mut mpsc::UnboundedReceiver<()>) {
    while let Ok(Some(())) = tokio::time::timeout(SETTLE, changes.recv()).await {}
}

fn apply(shared: &SharedMappings, dir: &Path, settings: &MappingSettings) {
    match reload(shared, dir, settings) {
        Ok(Reloaded::Replaced { from, to }) => {
            metrics::mapping_reload("replaced");
            tracing::info!(from, to, "mappings reloaded");
        }
        Ok(Reloaded::Unchanged { version }) => {
            metrics::mapping_reload("unchanged");
            // Said at info, so that a SIGHUP, or an edit put back, is confirmed in the log.
            tracing::info!(version, "mappings read again; nothing changed");
        }
        Err(error) => {
            metrics::mapping_reload("failed");
            for issue in &error.issues {
                tracing::error!(%issue, "mapping problem; the previous mappings stay in force");
            }
        }
    }
}
