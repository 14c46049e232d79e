//! Which frames a client of a camera receives ([`Choice`]), and the error of a variant name
//! the camera does not have.

use super::variants::Variant;

/// Which frames a client receives.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Choice {
    /// The camera's own frames (`Variant::default()`) or the gateway's re-encoding of them.
    Gateway(Variant),
    /// A variant the camera node encodes itself, by name: forwarded, never re-encoded.
    Node(String),
}

impl Default for Choice {
    fn default() -> Self {
        Self::Gateway(Variant::default())
    }
}

impl Choice {
    /// The query that asks for these frames (`width=320&quality=80`, `variant=preview`,
    /// `original`): what the `X-Served-Variant` header says.
    pub fn query(&self) -> String {
        match self {
            Self::Gateway(variant) => variant.query(),
            Self::Node(name) => format!("variant={name}"),
        }
    }
}

/// `?variant=NAME` names no variant of the camera.
#[derive(Debug, Clone, thiserror::Error)]
#[error("unknown variant")]
pub struct UnknownVariant {
    pub variant: String,
    /// The variants the camera offers; `None` while its node has not answered an info query.
    pub known: Option<Vec<String>>,
}
