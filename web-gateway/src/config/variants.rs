//! `[variants]`: how many variants the gateway encodes itself for `?width=`/`?height=`/
//! `?quality=` (docs/http-api.md), so that requests share encoders instead of buying them.

use robot_cli::settings::defaults;
use serde::{Deserialize, Serialize};

/// Gateway-encoded variants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, clap::Args)]
#[serde(default, deny_unknown_fields)]
pub struct VariantsConfig {
    /// Most variants (size × quality step) the gateway encodes per camera; a request for
    /// another gets the nearest running one (X-Served-Variant says which). 0: never encode.
    #[arg(
        id = "variants.max_per_camera",
        long = "max-variants-per-camera",
        value_name = "N",
        default_value_t = 4
    )]
    pub max_per_camera: usize,
    /// Most variants the gateway encodes across all cameras; when all run, a camera without
    /// one serves its own frames to such requests.
    #[arg(
        id = "variants.max_total",
        long = "max-variants",
        value_name = "N",
        default_value_t = 16
    )]
    pub max_total: usize,
}

impl Default for VariantsConfig {
    fn default() -> Self {
        defaults()
    }
}
