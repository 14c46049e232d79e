//! Hostile zenoh sessions against the real gateway (issue 23, findings 2, 3 and 11). Each test
//! runs a real camera (`front`, a `SyntheticCamera` at full rate) beside an attacker session
//! the gateway also reaches, and asserts the bound: memory, list size, whose answers count,
//! log bytes.
//!
//! `info.rs`: phantom cameras with 4 MB info replies, and a table full of phantoms;
//! `replier.rs`: a second session answering the real camera's info; `churn.rs`: liveliness
//! tokens churned against the gateway's log.

mod churn;
mod info;
mod replier;

use crate::GATEWAY;
use std::time::Duration;
use test_support::{free_port, listening_session, CameraOptions, Gateway, SyntheticCamera};

const LONG: Duration = Duration::from_secs(30);
const MIB: u64 = 1024;

/// The real camera, the attacker's session and a gateway connected to both.
struct Scene {
    camera: SyntheticCamera,
    attacker: zenoh::Session,
    gateway: Gateway,
}

impl Scene {
    /// Starts the scene with `extra` gateway flags; returns once `front` streams.
    async fn start(extra: &[&str]) -> Self {
        Self::start_with(&[], extra).await
    }

    /// [`Scene::start`], the gateway also connecting to `endpoints` (cameras started later).
    async fn start_with(endpoints: &[String], extra: &[&str]) -> Self {
        let endpoint = format!("tcp/127.0.0.1:{}", free_port());
        let attacker = listening_session(&endpoint).await;
        let camera = SyntheticCamera::start(CameraOptions::new("front", 320, 240).fps(10)).await;
        let mut all = vec![camera.endpoint(), endpoint];
        all.extend_from_slice(endpoints);
        let gateway = Gateway::spawn(GATEWAY, &all, extra);
        gateway
            .wait_camera("front", LONG, |c| {
                c["online"] == true && c["fps"].as_f64() > Some(2.0)
            })
            .await;
        Self {
            camera,
            attacker,
            gateway,
        }
    }

    /// `/api/cameras` as text.
    async fn list(&self) -> String {
        self.gateway
            .get("/api/cameras")
            .await
            .text()
            .await
            .expect("camera list")
    }

    /// Ids listed now that start with `prefix`.
    async fn listed(&self, prefix: &str) -> usize {
        let ids = self.gateway.camera_ids().await;
        ids.iter().filter(|id| id.starts_with(prefix)).count()
    }
}
