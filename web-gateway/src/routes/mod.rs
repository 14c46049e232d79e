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
use crate::camera::{CameraHandle, Choice, UnknownVariant, Variant};
use crate::error::{ApiError, ApiQuery};
use crate::state::AppState;

/// `?width=W&quality=Q` of a request.
fn variant(query: &ApiQuery) -> Result<Variant, ApiError> {
    Ok(Variant {
        width: query.number::<u32>("width", 16..=MAX_WIDTH)?,
        quality: query.number::<u8>("quality", 1..=100)?,
    })
}

/// What a request asks for: `?variant=NAME` (a variant the camera node encodes) or
/// `?width=W&quality=Q`, parsed before the camera is looked up.
#[derive(Debug, Clone, Default)]
struct Asked {
    name: Option<String>,
    variant: Variant,
}

impl Asked {
    fn of(query: &ApiQuery) -> Result<Self, ApiError> {
        let variant = variant(query)?;
        let name = query.text("variant").map(str::to_owned);
        if name.is_some() && !variant.is_original() {
            return Err(ApiError::BadQuery {
                parameter: "variant".into(),
                message: "give either variant or width/quality: a node variant has its own size and quality".into(),
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
