//! Openings several tests share, written once (feature `gateway`): a camera that published a
//! few frames and then stopped, the in-process gateway showing it, and the first part of an
//! MJPEG stream of it.

use crate::{CameraOptions, Gateway, MjpegStream, Part, SyntheticCamera, DEADLINE};
use std::time::Duration;

/// A still camera behind a gateway, with a stream that delivered its first part.
#[derive(Debug)]
pub struct StillCamera {
    pub camera: SyntheticCamera,
    pub gateway: Gateway,
    pub stream: MjpegStream,
    pub first: Part,
}

impl StillCamera {
    /// Starts `options` (give it `max_frames(n)`), a gateway on it that keeps the camera online
    /// for the whole test (`--offline-after-ms 600000`), waits until the gateway holds frame
    /// `n - 1`, and opens `/cameras/<id>/stream.mjpg`.
    pub async fn open(options: CameraOptions) -> Self {
        let frames = options
            .max_frames
            .expect("a still camera needs CameraOptions::max_frames");
        let id = options.id.clone();
        let camera = SyntheticCamera::start(options).await;
        let gateway = Gateway::serve(&[camera.endpoint()], &["--offline-after-ms", "600000"]).await;
        gateway
            .wait_camera(&id, DEADLINE, |c| c["last_seq"] == frames - 1)
            .await;
        let mut stream = MjpegStream::open(&gateway.url(&format!("/cameras/{id}/stream.mjpg")))
            .await
            .expect("stream opens");
        let first = stream
            .next_part(Duration::from_secs(10))
            .await
            .expect("first part");
        Self {
            camera,
            gateway,
            stream,
            first,
        }
    }
}
