//! HTTP handlers, one file per endpoint family; shared query helpers live here.

pub mod api;
pub mod clip;
pub mod health;
pub mod metrics;
pub mod page;
pub mod snapshot;
pub mod stream;
pub mod video;
pub mod ws;
mod ws_cameras;
mod ws_direct;
mod ws_messages;

use crate::camera::variants::{MAX_HEIGHT, MAX_WIDTH, MIN_SIDE};
use crate::camera::{CameraHandle, Choice, UnknownVariant, Variant};
use crate::error::{shown, ApiError};
use crate::extract::ApiQuery;
use crate::state::AppState;

/// `?width=W|height=H&quality=Q` of a request.
fn variant(query: &ApiQuery) -> Result<Variant, ApiError> {
    let variant = Variant {
        width: query.number::<u32>("width", MIN_SIDE..=MAX_WIDTH)?,
        height: query.number::<u32>("height", MIN_SIDE..=MAX_HEIGHT)?,
        quality: query.number::<u8>("quality", 1..=100)?,
    };
    if variant.width.is_some() && variant.height.is_some() {
        return Err(ApiError::BadQuery {
            parameter: "height".into(),
            message: "give width or height, not both: the gateway keeps the camera's aspect ratio, so one side sets the other".into(),
        });
    }
    Ok(variant)
}

/// `?variant=NAME`, checked to be a possible variant name before any camera is asked.
fn variant_name(query: &ApiQuery) -> Result<Option<String>, ApiError> {
    let Some(name) = query.text("variant") else {
        return Ok(None);
    };
    let bad = |message: String| ApiError::BadQuery {
        parameter: "variant".into(),
        message,
    };
    if name.is_empty() {
        return Err(bad("empty; name one of the camera's variants (GET /api/cameras lists them) or leave `variant` out for full frames".into()));
    }
    if camera_protocol::keys::validate_camera_id(name).is_err() {
        return Err(bad(format!(
            "{} is not a variant name: 1 to 64 characters of A-Z, a-z, 0-9, `_` and `-` (GET /api/cameras lists each camera's variants)",
            shown(name)
        )));
    }
    Ok(Some(name.to_owned()))
}

/// What a request asks for: `?variant=NAME` (a variant the camera node encodes) or
/// `?width=W|height=H&quality=Q`, parsed before the camera is looked up.
#[derive(Debug, Clone, Default)]
struct Asked {
    name: Option<String>,
    variant: Variant,
}

impl Asked {
    fn of(query: &ApiQuery) -> Result<Self, ApiError> {
        let variant = variant(query)?;
        let name = variant_name(query)?;
        if name.is_some() && !variant.is_original() {
            return Err(ApiError::BadQuery {
                parameter: "variant".into(),
                message: "give either variant or width/height/quality: a node variant has its own size and quality".into(),
            });
        }
        Ok(Self { name, variant })
    }

    /// What `camera` serves for this request: see [`CameraHandle::choose`].
    fn choice(&self, camera: &CameraHandle) -> Result<Choice, ApiError> {
        camera
            .choose(self.name.as_deref(), self.variant)
            .map_err(|unknown| unknown_variant(camera.id(), unknown))
    }
}

fn unknown_variant(camera: &str, unknown: UnknownVariant) -> ApiError {
    ApiError::UnknownVariant {
        camera: camera.to_owned(),
        variant: unknown.variant,
        known: unknown.known,
    }
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
