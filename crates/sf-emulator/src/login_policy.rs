//! Org and app policies that refuse logins, switched on from a test to reproduce the
//! token errors a misconfigured org gives (reference §1, token error responses).

use std::sync::Mutex;

/// Why the org refuses every login while the refusal is set. The error texts marked in
/// the reference as unconfirmed are the ones integrators report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginRefusal {
    /// `invalid_grant` "user hasn't approved this consumer": the user is not
    /// pre-authorized for the app (JWT bearer).
    UserNotApproved,
    /// `invalid_app_access` "user is not admin approved to access this app".
    AppAccessDenied,
    /// `invalid_grant` "ip restricted or invalid login hours".
    IpRestricted,
    /// `invalid_grant` "request not supported on this domain": the client credentials
    /// flow sent to login.salesforce.com or test.salesforce.com.
    NeedsMyDomain,
    /// `invalid_grant` "no client credentials user enabled": the app has no Run As user.
    NoRunAsUser,
}

impl LoginRefusal {
    pub(crate) fn error(self) -> (&'static str, &'static str) {
        match self {
            LoginRefusal::UserNotApproved => {
                ("invalid_grant", "user hasn't approved this consumer")
            }
            LoginRefusal::AppAccessDenied => (
                "invalid_app_access",
                "user is not admin approved to access this app",
            ),
            LoginRefusal::IpRestricted => ("invalid_grant", "ip restricted or invalid login hours"),
            LoginRefusal::NeedsMyDomain => {
                ("invalid_grant", "request not supported on this domain")
            }
            LoginRefusal::NoRunAsUser => ("invalid_grant", "no client credentials user enabled"),
        }
    }
}

/// The refusal in force, if any.
#[derive(Debug, Default)]
pub(crate) struct LoginPolicy {
    refusal: Mutex<Option<LoginRefusal>>,
}

impl LoginPolicy {
    pub(crate) fn set(&self, refusal: Option<LoginRefusal>) {
        *self.refusal.lock().expect("login policy lock poisoned") = refusal;
    }

    pub(crate) fn current(&self) -> Option<LoginRefusal> {
        *self.refusal.lock().expect("login policy lock poisoned")
    }
}
