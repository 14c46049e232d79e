//! `ApiError`: every way a request can fail, mapped to a status code and a JSON body
//! `{"error": "...", "detail": "..."}` so that tools and the web page can show the reason.
//!
//! Every error the gateway answers with goes through here: handler errors, the 404 and 405
//! fallbacks, failed WebSocket upgrades, path and query rejections.
//! The extractors that answer with it live in `extract.rs`.

use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

/// The `WWW-Authenticate` challenge of a 401.
pub const CHALLENGE: &str = "Basic realm=\"web-gateway\", charset=\"UTF-8\"";

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("unknown camera")]
    UnknownCamera { camera: String },
    #[error("unknown variant")]
    UnknownVariant {
        camera: String,
        variant: String,
        /// `None`: the camera's node has not told its variants yet.
        known: Option<Vec<String>>,
    },
    /// An H.264 lane (`?lane=NAME`, or any) the camera's node does not publish.
    #[error("no H.264 lane")]
    UnknownLane {
        camera: String,
        lane: Option<String>,
        /// `None`: the camera's node has not told its lanes yet.
        known: Option<Vec<String>>,
    },
    /// `/ws?variant=NAME` where no camera the socket covers has `NAME`.
    #[error("unknown variant")]
    VariantOnNoCamera {
        variant: String,
        /// Each covered camera with its variants (all known: otherwise the socket opens).
        cameras: Vec<(String, Vec<String>)>,
    },
    #[error("bad query parameter")]
    BadQuery { parameter: String, message: String },
    /// A node variant asked of a camera that is offline: the node encodes none now.
    #[error("camera offline")]
    CameraOffline {
        camera: String,
        /// `HH:MM:SS UTC`, when known.
        since: Option<String>,
    },
    #[error("no frame yet")]
    NoFrameYet { camera: String },
    #[error("frame too old")]
    StaleFrame {
        camera: String,
        age_ms: u64,
        max_age_ms: u64,
    },
    #[error("too many clients")]
    TooManyClients { max: usize },
    #[error("timed out waiting for a frame")]
    Timeout { camera: String, waited_ms: u64 },
    #[error("not found")]
    NotFound { path: String },
    #[error("method not allowed")]
    MethodNotAllowed { method: String, path: String },
    #[error("bad path")]
    BadPath { message: String },
    #[error("not a WebSocket upgrade")]
    BadUpgrade { status: StatusCode, message: String },
    #[error("unsupported WebSocket subprotocol")]
    Subprotocol {
        wanted: &'static str,
        offered: String,
    },
    #[error("clip buffer off")]
    ClipsOff,
    #[error("no clip yet")]
    NoClip { camera: String },
    #[error("cannot make the clip")]
    ClipFailed { camera: String, message: String },
    /// 429 (this client's downloads) or 503 (everyone's): clip exports are all in use.
    #[error("too many clip downloads")]
    ClipsBusy {
        per_client: bool,
        max: usize,
        retry_after_secs: u64,
    },
    #[error("unknown host name")]
    UnknownHost { host: String },
    #[error("request from a foreign page")]
    ForeignOrigin { origin: String },
    #[error("authentication required")]
    Unauthorized { reason: &'static str },
    #[error("too many logins at once")]
    LoginsBusy,
    /// 429: failed logins from this address (or for this user) are in back-off.
    #[error("too many login attempts")]
    LoginThrottled {
        reason: &'static str,
        retry_after_secs: u64,
    },
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            // Not told yet: the node answers its info query within seconds.
            Self::UnknownVariant { known: None, .. } | Self::UnknownLane { known: None, .. } => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            Self::UnknownLane { .. } => StatusCode::NOT_FOUND,
            Self::UnknownCamera { .. }
            | Self::UnknownVariant { .. }
            | Self::VariantOnNoCamera { .. }
            | Self::NotFound { .. }
            | Self::ClipsOff => StatusCode::NOT_FOUND,
            Self::NoClip { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Self::ClipFailed { .. } => StatusCode::INTERNAL_SERVER_ERROR,
            Self::ClipsBusy {
                per_client: true, ..
            } => StatusCode::TOO_MANY_REQUESTS,
            Self::ClipsBusy { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Self::BadQuery { .. } | Self::BadPath { .. } | Self::Subprotocol { .. } => {
                StatusCode::BAD_REQUEST
            }
            Self::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Self::BadUpgrade { status, .. } => *status,
            Self::NoFrameYet { .. }
            | Self::CameraOffline { .. }
            | Self::StaleFrame { .. }
            | Self::TooManyClients { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Self::Timeout { .. } => StatusCode::GATEWAY_TIMEOUT,
            Self::UnknownHost { .. } => StatusCode::MISDIRECTED_REQUEST,
            Self::ForeignOrigin { .. } => StatusCode::FORBIDDEN,
            Self::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            Self::LoginsBusy => StatusCode::SERVICE_UNAVAILABLE,
            Self::LoginThrottled { .. } => StatusCode::TOO_MANY_REQUESTS,
        }
    }

    /// The explanation sent as `detail`: what was wrong and what to do.
    pub fn detail(&self) -> String {
        match self {
            Self::UnknownCamera { camera } => {
                format!("no camera {camera:?} has been seen; GET /api/cameras lists the known ones")
            }
            Self::UnknownLane {
                camera,
                known: None,
                ..
            } => format!(
                "camera {camera:?} has not told its H.264 lanes yet; retry in a few seconds"
            ),
            Self::UnknownLane {
                camera,
                known: Some(known),
                ..
            } if known.is_empty() => format!(
                "camera {camera:?} has no H.264 lane: its node encodes one with a [[variants]] entry of codec = \"h264\" (docs/protocol.md); stream.mjpg and /ws serve its JPEG frames"
            ),
            Self::UnknownLane {
                camera,
                lane,
                known: Some(known),
            } => format!(
                "camera {camera:?} has no H.264 lane {:?}; its lanes: {}",
                lane.as_deref().unwrap_or_default(),
                known.join(", ")
            ),
            Self::UnknownVariant {
                camera,
                variant,
                known: Some(known),
            } if known.is_empty() => format!(
                "camera {camera:?} has no variant {variant:?}: it has no variants at all (a camera node has them with [[variants]] in its config); use ?width= or ?height= for a size encoded by the gateway"
            ),
            Self::UnknownVariant {
                camera,
                variant,
                known: Some(known),
            } => format!(
                "camera {camera:?} has no variant {variant:?}; its variants: {}",
                known.join(", ")
            ),
            Self::UnknownVariant {
                camera,
                variant,
                known: None,
            } => format!(
                "camera {camera:?} has not told its variants yet, so {variant:?} is unknown; retry in a few seconds"
            ),
            Self::VariantOnNoCamera { variant, cameras } => {
                const LISTED: usize = 8;
                let mut each: Vec<String> = cameras
                    .iter()
                    .take(LISTED)
                    .map(|(camera, known)| match known.is_empty() {
                        true => format!("{camera:?} has none"),
                        false => format!("{camera:?} has {}", known.join(", ")),
                    })
                    .collect();
                if cameras.len() > LISTED {
                    each.push(format!("{} more cameras", cameras.len() - LISTED));
                }
                format!(
                    "no camera of this socket has variant {variant:?} ({}); name one they have, narrow the socket with ?cameras=, or leave `variant` out",
                    each.join("; ")
                )
            }
            Self::BadQuery { parameter, message } => format!("parameter `{parameter}`: {message}"),
            Self::CameraOffline { camera, since } => format!(
                "camera {camera:?} is offline{}, so its node encodes no variant now; retry once it is back (\"online\" in GET /api/cameras), or ask without `variant` for its last frame",
                since.as_ref().map(|since| format!(" since {since}")).unwrap_or_default()
            ),
            Self::NoFrameYet { camera } => {
                format!("camera {camera:?} is known but has not sent a frame yet; retry shortly")
            }
            Self::StaleFrame {
                camera,
                age_ms,
                max_age_ms,
            } => format!(
                "the latest frame of camera {camera:?} is {age_ms} ms old, more than max_age_ms={max_age_ms}"
            ),
            Self::TooManyClients { max } => {
                format!("the gateway already serves {max} clients (max_clients); retry later")
            }
            Self::Timeout { camera, waited_ms } => {
                format!("camera {camera:?} sent no newer frame within {waited_ms} ms")
            }
            Self::NotFound { path } => {
                format!("no endpoint {path}; see GET / or the README for the list")
            }
            Self::MethodNotAllowed { method, path } => {
                format!("{path} does not accept {method}; every endpoint is GET")
            }
            Self::BadPath { message } => message.clone(),
            Self::ClipsOff => {
                "the clip buffer is off (record.clip_secs = 0, or subscribe = while_watched); start the gateway with --clip-buffer SECS and --subscribe always".to_owned()
            }
            Self::NoClip { camera } => format!(
                "camera {camera:?} has no frames in the clip buffer yet; retry once it has sent frames"
            ),
            Self::ClipFailed { camera, message } => {
                format!("the clip of camera {camera:?} could not be written: {message}")
            }
            Self::ClipsBusy {
                per_client: true,
                max,
                ..
            } => format!(
                "this client already downloads {max} clips (record.clip_exports_per_client); retry once one is done (Retry-After)"
            ),
            Self::ClipsBusy { max, .. } => format!(
                "the gateway already streams {max} clips (record.clip_exports); retry shortly (Retry-After)"
            ),
            Self::BadUpgrade { message, .. } => {
                format!("{message}; this endpoint needs a WebSocket client (GET with Upgrade: websocket)")
            }
            Self::Subprotocol { wanted, offered } => format!(
                "this endpoint speaks only the WebSocket subprotocol {wanted:?} (Sec-WebSocket-Protocol offered: {offered:?}); connect with Foxglove's \"Foxglove WebSocket\" connection"
            ),
            Self::UnknownHost { host } => format!(
                "this gateway does not answer to the host name {host:?} (a DNS-rebinding page would look like this); \
                 if it is a real name of this machine, start the gateway with --allow-host NAME (access.hosts)"
            ),
            Self::ForeignOrigin { origin } => format!(
                "the request comes from a page of {origin:?}, not from this gateway's own page; \
                 if that page may use the gateway, start it with --allow-origin {origin} (access.origins)"
            ),
            Self::Unauthorized { reason } => format!(
                "{reason}; log in with a user of the gateway's --auth-file (HTTP Basic), or send \
                 `Authorization: Bearer TOKEN` with a token of --token-file / GATEWAY_TOKENS"
            ),
            Self::LoginsBusy => "too many password checks are waiting; retry in a few seconds".to_owned(),
            Self::LoginThrottled {
                reason,
                retry_after_secs,
            } => format!(
                "{reason}; no password is checked for {retry_after_secs} s (Retry-After); \
                 a browser already logged in keeps working with its session cookie"
            ),
        }
    }

    /// The reason axum refused a WebSocket upgrade, with its status.
    pub async fn from_upgrade_rejection(rejection: WebSocketUpgradeRejection) -> Self {
        let response = rejection.into_response();
        let status = response.status();
        let message = match axum::body::to_bytes(response.into_body(), 4096).await {
            Ok(text) => String::from_utf8_lossy(&text).into_owned(),
            Err(_) => "not a WebSocket upgrade request".to_owned(),
        };
        Self::BadUpgrade { status, message }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = serde_json::json!({ "error": self.to_string(), "detail": self.detail() });
        if status.is_server_error() {
            tracing::debug!(status = status.as_u16(), detail = %self.detail(), "request failed");
        }
        let retry_after = match &self {
            Self::LoginThrottled {
                retry_after_secs, ..
            } => Some(axum::http::HeaderValue::from(*retry_after_secs)),
            Self::ClipsBusy {
                retry_after_secs, ..
            } => Some(axum::http::HeaderValue::from(*retry_after_secs)),
            _ => None,
        };
        let mut response = (status, Json(body)).into_response();
        if let Some(value) = retry_after {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, value);
        }
        if status == StatusCode::UNAUTHORIZED {
            // Makes a browser ask for user and password (and remember them for the site).
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static(CHALLENGE),
            );
        }
        response
    }
}

/// `raw` quoted for an error message, cut short so that a long value cannot bloat the answer.
pub fn shown(raw: &str) -> String {
    const SHOWN: usize = 40;
    match raw.char_indices().nth(SHOWN) {
        Some((end, _)) => format!("{:?}… ({} bytes)", &raw[..end], raw.len()),
        None => format!("{raw:?}"),
    }
}
