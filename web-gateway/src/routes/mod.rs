//! HTTP handlers, one file per endpoint family; shared query helpers live here.

pub mod api;
pub mod health;
pub mod metrics;
pub mod page;
pub mod snapshot;
pub mod stream;
pub mod ws;

use crate::error::{ApiError, ApiQuery};
use crate::registry::Camera;
use crate::state::AppState;
use crate::variants::{Variant, MAX_WIDTH};
use std::sync::Arc;

/// `?width=W&quality=Q` of a request.
fn variant(query: &ApiQuery) -> Result<Variant, ApiError> {
    Ok(Variant {
        width: query.number::<u32>("width", 16..=MAX_WIDTH)?,
        quality: query.number::<u8>("quality", 1..=100)?,
    })
}

/// The camera named in the path, or 404.
fn camera(state: &AppState, id: &str) -> Result<Arc<Camera>, ApiError> {
    state
        .registry
        .get(id)
        .ok_or_else(|| ApiError::UnknownCamera {
            camera: id.to_owned(),
        })
}
