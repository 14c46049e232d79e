//! Request extractors whose rejections are `ApiError`s: `ApiQuery` parses query strings
//! parameter by parameter so that a bad value is reported by name (axum's `Query` rejection
//! only says the whole string failed); `CameraPath` is the `{id}` path segment.

use crate::error::{shown, ApiError};
use axum::extract::{FromRequestParts, Path, Query};
use axum::http::request::Parts;
use std::collections::HashMap;
use std::str::FromStr;

/// Query parameters of one request, parsed by name with errors that name the parameter.
#[derive(Debug, Default)]
pub struct ApiQuery(HashMap<String, String>);

impl<S: Send + Sync> FromRequestParts<S> for ApiQuery {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Query(pairs) = Query::<Vec<(String, String)>>::from_request_parts(parts, state)
            .await
            .map_err(|rejection| ApiError::BadQuery {
                parameter: "(query string)".into(),
                message: rejection.body_text(),
            })?;
        let mut map = HashMap::with_capacity(pairs.len());
        for (name, value) in pairs {
            // Which of two values wins would be a guess; say so instead.
            if map.contains_key(&name) {
                return Err(ApiError::BadQuery {
                    message: "given more than once; give it once".into(),
                    parameter: name,
                });
            }
            map.insert(name, value);
        }
        Ok(Self(map))
    }
}

/// The `{id}` segment of a camera path.
#[derive(Debug)]
pub struct CameraPath(pub String);

impl<S: Send + Sync> FromRequestParts<S> for CameraPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path(id) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|rejection| ApiError::BadPath {
                message: rejection.body_text(),
            })?;
        Ok(Self(id))
    }
}

impl ApiQuery {
    /// Rejects parameters this endpoint does not know (a typo would otherwise be ignored).
    pub fn only(&self, known: &[&str]) -> Result<(), ApiError> {
        match self.0.keys().find(|key| !known.contains(&key.as_str())) {
            Some(unknown) => Err(ApiError::BadQuery {
                parameter: match unknown.len() {
                    ..=40 => unknown.clone(),
                    _ => shown(unknown),
                },
                message: format!("unknown parameter; accepted: {}", known.join(", ")),
            }),
            None => Ok(()),
        }
    }

    /// `name` parsed as `T` and checked against `range`, or `None` when absent.
    pub fn number<T>(
        &self,
        name: &str,
        range: std::ops::RangeInclusive<T>,
    ) -> Result<Option<T>, ApiError>
    where
        T: FromStr + PartialOrd + std::fmt::Display + Copy,
    {
        let Some(raw) = self.0.get(name) else {
            return Ok(None);
        };
        let bad = || ApiError::BadQuery {
            parameter: name.to_owned(),
            message: format!(
                "{} is not a number in {}..={}",
                shown(raw),
                range.start(),
                range.end()
            ),
        };
        let value: T = raw.trim().parse().map_err(|_| bad())?;
        if range.contains(&value) {
            Ok(Some(value))
        } else {
            Err(bad())
        }
    }

    pub fn text(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }
}
