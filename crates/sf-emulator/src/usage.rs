//! The org's daily API request allocation and the `Sforce-Limit-Info` header.

use std::sync::atomic::{AtomicU64, Ordering};

/// Calls used against the allocation. The emulator has no rolling 24-hour window:
/// usage only goes down on reset.
#[derive(Debug)]
pub(crate) struct ApiUsage {
    allocation: u64,
    used: AtomicU64,
}

/// The allocation is spent; `used` is the count the header should report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct AllocationSpent {
    pub used: u64,
}

impl ApiUsage {
    pub(crate) fn new(allocation: u64) -> ApiUsage {
        ApiUsage {
            allocation,
            used: AtomicU64::new(0),
        }
    }

    /// Counts one call, unless the allocation is already used up. Refused calls are
    /// not counted, so usage never passes the allocation.
    pub(crate) fn consume(&self) -> Result<u64, AllocationSpent> {
        self.used
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |used| {
                (used < self.allocation).then_some(used + 1)
            })
            .map(|before| before + 1)
            .map_err(|used| AllocationSpent { used })
    }

    pub(crate) fn used(&self) -> u64 {
        self.used.load(Ordering::SeqCst)
    }

    pub(crate) fn allocation(&self) -> u64 {
        self.allocation
    }

    pub(crate) fn reset(&self) {
        self.used.store(0, Ordering::SeqCst);
    }

    /// `api-usage=USED/ALLOCATION`, the value of `Sforce-Limit-Info`.
    pub(crate) fn header_value(&self, used: u64) -> String {
        format!("api-usage={used}/{}", self.allocation)
    }
}
