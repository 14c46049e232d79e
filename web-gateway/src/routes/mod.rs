//! HTTP handlers, one file per endpoint family; shared query helpers live here.

pub mod api;
pub mod clip;
pub mod health;
pub mod metrics;
pub mod page;
pub mod snapshot;
pub mod stream;
pub mod ws;

use crate::camera::variants::MAX_WIDTH;
use crate::camera::{CameraHandle, Variant};
use crate::error::{ApiError, ApiQuery};
use crate::state::AppState;

/// `?width=W&quality=Q` of a request.
fn variant(query: &ApiQuery) -> Result<Variant, ApiError> {
    Ok(Variant {
        width: query.number::<u32>("width", 16..=MAX_WIDTH)?,
        quality: query.number::<u8>("quality", 1..=100)?,
    })
}

/// The camera named in the path, or 404.
fn camera(state: &AppState, id: &str) -> Result<CameraHandle, ApiError> {
    state.directory.get(id).ok_or_else(|| unknown(id))
}

/// 404 for `id`; also what a camera forgotten while a request was being served looks like.
fn unknown(id: &str) -> ApiError {
    ApiError::UnknownCamera {
        camera: id.to_owned(),
    }
}
