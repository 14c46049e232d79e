//! The channels one Foxglove connection advertised: per camera its `foxglove.CompressedImage`
//! topic, and when its node publishes an H.264 lane a `foxglove.CompressedVideo` topic
//! (`<topic>/h264`, the node's first lane), kept in step with the directory and the cameras'
//! info (a lane appears with the node's first info reply, and goes when the node drops it).

use super::protocol::Channel;
use crate::camera::CameraHandle;
use camera_record::mcap_file::video_topic;
use std::collections::HashMap;

/// What a channel carries.
#[derive(Debug, Clone)]
pub(super) struct Advertised {
    pub camera: CameraHandle,
    /// `None`: the camera's JPEG frames; `Some`: that H.264 lane.
    pub lane: Option<String>,
}

/// The connection's channel table.
#[derive(Debug, Default)]
pub(super) struct Channels {
    by_id: HashMap<u32, Advertised>,
    next: u32,
}

impl Channels {
    pub fn get(&self, id: u32) -> Option<&Advertised> {
        self.by_id.get(&id)
    }

    /// Brings the table in step with `cameras`: the ids of channels gone (cameras that left
    /// or were replaced by a new task of the same id, lanes dropped), and the channels added.
    pub fn sync<'a>(
        &mut self,
        cameras: &[CameraHandle],
        image_schema: &'a str,
        video_schema: &'a str,
    ) -> (Vec<u32>, Vec<Channel<'a>>) {
        let wanted: Vec<(CameraHandle, Option<String>)> = cameras
            .iter()
            .flat_map(|camera| {
                let lane = camera
                    .lanes()
                    .and_then(|lanes| lanes.into_iter().next())
                    .map(|lane| lane.name);
                let video = lane.map(|lane| (camera.clone(), Some(lane)));
                std::iter::once((camera.clone(), None)).chain(video)
            })
            .collect();
        let same = |advertised: &Advertised, (camera, lane): &(CameraHandle, Option<String>)| {
            advertised.camera.id() == camera.id()
                && advertised.camera.generation() == camera.generation()
                && &advertised.lane == lane
        };
        let mut gone = Vec::new();
        self.by_id.retain(|id, advertised| {
            let keep = wanted.iter().any(|want| same(advertised, want));
            if !keep {
                gone.push(*id);
            }
            keep
        });
        let mut added = Vec::new();
        for want in wanted {
            if self
                .by_id
                .values()
                .any(|advertised| same(advertised, &want))
            {
                continue;
            }
            self.next = self.next.wrapping_add(1).max(1);
            let (camera, lane) = want;
            let topic = camera.topic();
            added.push(match lane {
                None => Channel::image(self.next, topic, image_schema),
                Some(_) => Channel::video(self.next, video_topic(&topic), video_schema),
            });
            self.by_id.insert(self.next, Advertised { camera, lane });
        }
        gone.sort_unstable();
        (gone, added)
    }
}
