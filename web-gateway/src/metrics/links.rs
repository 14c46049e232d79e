//! The gateway's own zenoh links: one 0/1 gauge per configured connect endpoint (the series
//! are fixed at start, at most `links::MAX_ENDPOINTS` of them).

use super::Metrics;
use prometheus_client::encoding::EncodeLabelSet;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ZenohEndpointLabel {
    pub endpoint: String,
}

impl Metrics {
    /// Sets `gateway_zenoh_endpoint_connected{endpoint}`.
    pub fn zenoh_endpoint_connected(&self, endpoint: &str, connected: bool) {
        let label = ZenohEndpointLabel {
            endpoint: endpoint.to_owned(),
        };
        self.zenoh_endpoint_connected
            .get_or_create(&label)
            .set(i64::from(connected));
    }
}
