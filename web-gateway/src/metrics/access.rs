//! The access layer's refusals: failed logins (`auth/failures.rs`) and Host/Origin refusals
//! (`auth/guard.rs`), each by a reason from `labels.rs`, every one registered at zero.

use super::{Metrics, ReasonLabel};
use crate::labels::{LoginFailure, Refusal};

impl Metrics {
    /// Counts one refused login.
    pub fn auth_failed(&self, reason: LoginFailure) {
        self.auth_failures
            .get_or_create(&ReasonLabel {
                reason: reason.label(),
            })
            .inc();
    }

    /// Counts one Host/Origin refusal.
    pub fn request_refused(&self, reason: Refusal) {
        self.requests_refused
            .get_or_create(&ReasonLabel {
                reason: reason.label(),
            })
            .inc();
    }
}

#[cfg(test)]
mod tests {
    use crate::labels::{LoginFailure, Refusal};
    use crate::metrics::Metrics;

    #[test]
    fn every_reason_is_exported_at_zero_then_counted() {
        let metrics = Metrics::new();
        let text = metrics.encode();
        for reason in [
            "no_credentials",
            "malformed",
            "wrong_password",
            "unknown_token",
            "busy",
            "throttled",
        ] {
            let series = format!("gateway_auth_failures_total{{reason=\"{reason}\"}} 0");
            assert!(text.contains(&series), "{series} missing: {text}");
        }
        for reason in ["unknown_host", "foreign_origin"] {
            let series = format!("gateway_requests_refused_total{{reason=\"{reason}\"}} 0");
            assert!(text.contains(&series), "{series} missing: {text}");
        }
        metrics.auth_failed(LoginFailure::WrongPassword);
        metrics.request_refused(Refusal::ForeignOrigin);
        let text = metrics.encode();
        assert!(text.contains("gateway_auth_failures_total{reason=\"wrong_password\"} 1"));
        assert!(text.contains("gateway_requests_refused_total{reason=\"foreign_origin\"} 1"));
    }
}
