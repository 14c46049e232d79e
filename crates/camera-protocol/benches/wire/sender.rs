//! The two wires the benchmark compares and the sender that puts frames on them.

use bytes::Bytes;
use camera_protocol::info::CameraInfo;
#[cfg(feature = "shm")]
use camera_protocol::FrameMeta;
use camera_protocol::{CameraKeys, FramePublisher, PublisherOptions};
use zenoh::qos::CongestionControl;

/// How the payload travels from the publishing session to the subscribing one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wire {
    /// Shared memory disabled on both sessions: bytes go through the loopback TCP socket.
    Tcp,
    /// Shared memory enabled, payload put as heap bytes: zenoh's transport optimisation
    /// copies it into its own SHM pool (no code change in the publisher).
    #[cfg(feature = "shm")]
    ShmAuto,
    /// Shared memory enabled, payload copied by the publisher into an SHM buffer it
    /// allocated and put as `ZShmMut`.
    #[cfg(feature = "shm")]
    ShmExplicit,
}

impl Wire {
    pub const ALL: &'static [Wire] = &[
        Wire::Tcp,
        #[cfg(feature = "shm")]
        Wire::ShmAuto,
        #[cfg(feature = "shm")]
        Wire::ShmExplicit,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Wire::Tcp => "tcp",
            #[cfg(feature = "shm")]
            Wire::ShmAuto => "shm-auto",
            #[cfg(feature = "shm")]
            Wire::ShmExplicit => "shm-explicit",
        }
    }

    /// The `transport` section both sessions get. Naming `shared_memory` explicitly keeps
    /// the TCP row honest when the feature is compiled in (zenoh enables SHM by default then).
    pub fn transport_json5(self) -> &'static str {
        match self {
            Wire::Tcp => "transport:{shared_memory:{enabled:false}}",
            #[cfg(feature = "shm")]
            Wire::ShmAuto | Wire::ShmExplicit => {
                r#"transport:{shared_memory:{enabled:true,mode:"init",transport_optimization:{pool_size:67108864}}}"#
            }
        }
    }
}

/// The picture every frame carries, padded with JPEG comments to the row's size.
pub const PICTURE: (u32, u32) = (320, 240);

/// Puts frames: the library's publisher for heap payloads (zenoh copies them into SHM
/// itself when enabled), or, for the explicit-SHM row the library does not offer, a plain
/// zenoh publisher given an SHM buffer per frame with the same attachment.
#[derive(Debug)]
pub enum Sender {
    Library(FramePublisher),
    #[cfg(feature = "shm")]
    Explicit {
        publisher: zenoh::pubsub::Publisher<'static>,
        pool: shm::Pool,
        seq: u64,
    },
}

impl Sender {
    #[cfg_attr(not(feature = "shm"), allow(unused_variables))]
    pub async fn declare(
        wire: Wire,
        session: &zenoh::Session,
        keys: &CameraKeys,
        size: usize,
    ) -> Self {
        #[cfg(feature = "shm")]
        if wire == Wire::ShmExplicit {
            let publisher = session
                .declare_publisher(keys.jpeg())
                .encoding(zenoh::bytes::Encoding::IMAGE_JPEG)
                .congestion_control(CongestionControl::Block)
                .await
                .unwrap();
            let pool = shm::Pool::new(size);
            return Self::Explicit {
                publisher,
                pool,
                seq: 0,
            };
        }
        let options = PublisherOptions {
            congestion_control: CongestionControl::Block,
            ..PublisherOptions::default()
        };
        let info = CameraInfo::new(keys.camera(), "bench");
        Self::Library(
            FramePublisher::declare(session, keys, info, options)
                .await
                .unwrap(),
        )
    }

    pub async fn matching(&self) -> bool {
        match self {
            Self::Library(publisher) => publisher.has_subscribers().await.unwrap(),
            #[cfg(feature = "shm")]
            Self::Explicit { publisher, .. } => {
                publisher.matching_status().await.unwrap().matching()
            }
        }
    }

    /// Frames put so far, i.e. the `seq` of the next one.
    pub fn published(&self) -> u64 {
        match self {
            Self::Library(publisher) => publisher.published(),
            #[cfg(feature = "shm")]
            Self::Explicit { seq, .. } => *seq,
        }
    }

    /// Puts one frame stamped now; for SHM the copy into shared memory is part of its cost.
    pub async fn put(&mut self, jpeg: &Bytes) {
        let now = camera_protocol::meta::unix_now_ns();
        let (width, height) = PICTURE;
        match self {
            Self::Library(publisher) => {
                publisher
                    .publish(jpeg.clone(), width, height, now)
                    .await
                    .unwrap();
            }
            #[cfg(feature = "shm")]
            Self::Explicit {
                publisher,
                pool,
                seq,
            } => {
                let meta = FrameMeta {
                    seq: *seq,
                    capture_ts_ns: now,
                    width,
                    height,
                    generation: 1,
                    online: true,
                };
                publisher
                    .put(pool.copy_in(jpeg).await)
                    .attachment(meta.encode().to_vec())
                    .await
                    .unwrap();
                *seq += 1;
            }
        }
    }
}

#[cfg(feature = "shm")]
mod shm {
    use zenoh::shm::{
        BlockOn, GarbageCollect, PosixShmProviderBackend, ShmProvider, ShmProviderBuilder, ZShmMut,
    };
    use zenoh::Wait;

    /// One POSIX SHM segment sized for every frame that can be in flight at once
    /// (the subscriber's ring of 64 samples holds on to their buffers).
    #[derive(Debug)]
    pub struct Pool(ShmProvider<PosixShmProviderBackend>);

    impl Pool {
        pub fn new(frame_size: usize) -> Self {
            Self(
                ShmProviderBuilder::default_backend(frame_size * 96)
                    .wait()
                    .unwrap(),
            )
        }

        pub async fn copy_in(&self, jpeg: &[u8]) -> ZShmMut {
            let mut buffer = self
                .0
                .alloc(jpeg.len())
                .with_policy::<BlockOn<GarbageCollect>>()
                .await
                .unwrap();
            buffer.copy_from_slice(jpeg);
            buffer
        }
    }
}
