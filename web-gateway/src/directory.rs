//! The directory of known cameras: id → [`CameraHandle`], sorted by id.
//!
//! Written only by the `discovery` module (which creates and removes camera tasks); everything
//! else reads it. A change counter lets long-lived clients (WebSockets) pick up new cameras.

use crate::camera::CameraHandle;
use std::collections::BTreeMap;
use std::sync::{PoisonError, RwLock};
use tokio::sync::watch;

#[derive(Debug)]
pub struct Directory {
    cameras: RwLock<BTreeMap<String, CameraHandle>>,
    changes: watch::Sender<u64>,
}

impl Default for Directory {
    fn default() -> Self {
        Self {
            cameras: RwLock::default(),
            changes: watch::Sender::new(0),
        }
    }
}

impl Directory {
    pub fn get(&self, id: &str) -> Option<CameraHandle> {
        self.cameras
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(id)
            .cloned()
    }

    pub fn contains(&self, id: &str) -> bool {
        self.cameras
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .contains_key(id)
    }

    /// Every known camera, sorted by id.
    pub fn list(&self) -> Vec<CameraHandle> {
        self.cameras
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .cloned()
            .collect()
    }

    pub fn len(&self) -> usize {
        self.cameras
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Changes whenever a camera is added or removed.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }

    /// Discovery only.
    pub(crate) fn insert(&self, handle: CameraHandle) {
        self.cameras
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(handle.id().to_owned(), handle);
        self.changes.send_modify(|count| *count += 1);
    }

    /// Discovery only: removes `id` if it is still the task of `generation`.
    pub(crate) fn remove(&self, id: &str, generation: u64) -> Option<CameraHandle> {
        let removed = {
            let mut cameras = self.cameras.write().unwrap_or_else(PoisonError::into_inner);
            match cameras.get(id) {
                Some(handle) if handle.generation() == generation => cameras.remove(id),
                _ => None,
            }
        };
        if removed.is_some() {
            self.changes.send_modify(|count| *count += 1);
        }
        removed
    }
}
