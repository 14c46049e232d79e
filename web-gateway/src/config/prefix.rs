//! `prefix`: which key prefixes the gateway watches. One string (`prefix = "camera"`, as
//! before) or a list, each a plain prefix or a pattern with `*` segments (`"*/camera"`);
//! checked as a [`PrefixSet`], which also decides how cameras are named.

use camera_protocol::keys::{KeyError, PrefixSet};
use robot_cli::settings::Invalid;
use serde::de::{self, Deserializer, SeqAccess, Visitor};

/// Reads `prefix = "camera"` or `prefix = ["*/camera", "lab/camera"]`.
pub(super) fn one_or_many<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<String>, D::Error> {
    struct OneOrMany;

    impl<'de> Visitor<'de> for OneOrMany {
        type Value = Vec<String>;

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a prefix (\"camera\") or a list of them ([\"*/camera\", \"lab/camera\"])")
        }

        fn visit_str<E: de::Error>(self, value: &str) -> Result<Self::Value, E> {
            Ok(vec![value.to_owned()])
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut prefixes = Vec::new();
            while let Some(prefix) = seq.next_element::<String>()? {
                // Bounded here too: a file's list is read whole before it is validated.
                if prefixes.len() > camera_protocol::keys::MAX_PREFIXES {
                    return Err(de::Error::custom(format!(
                        "more than {} prefixes",
                        camera_protocol::keys::MAX_PREFIXES
                    )));
                }
                prefixes.push(prefix);
            }
            Ok(prefixes)
        }
    }

    deserializer.deserialize_any(OneOrMany)
}

/// The prefixes as a [`PrefixSet`], or the `prefix` key's error naming the bad value and the fix.
pub(super) fn validate(prefixes: &[String]) -> Result<PrefixSet, Invalid> {
    PrefixSet::new(prefixes).map_err(|error| {
        let (value, fix) = match (prefixes, &error) {
            // One value: the error's own prefix would repeat it.
            ([one], KeyError::PrefixPattern { reason, .. }) => (format!("{one:?}"), reason.clone()),
            ([one], _) => (format!("{one:?}"), error.to_string()),
            (many, _) => (format!("{many:?}"), error.to_string()),
        };
        Invalid::new("prefix", value, fix)
    })
}
