//! The parts of the benchmark harness other crates reuse: the load client ([`load`]: N MJPEG or
//! WebSocket clients checking and counting every part, on test-support's multipart parser) and
//! its minimal HTTP client ([`http`]). web-gateway's soak test drives the gateway with it.

pub mod http;
pub mod load;
