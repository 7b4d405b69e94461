//! A stream's producer keys (design §6), as the stream records them: never their secrets
//! (the newest key's is in Secrets Manager), only which keys exist, since when, and until
//! when a rotated-out key still works.

use crate::validation::{parse_object, FieldError, Fields};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// How long a rotated-out key keeps working by default, and at most.
pub const DEFAULT_OVERLAP_SECONDS: i64 = 3600;
pub const MAX_OVERLAP_SECONDS: i64 = 604_800;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ProducerKey {
    pub access_key_id: String,
    pub created_at: String,
    /// Seconds since the epoch when a rotated-out key stops working (and is deleted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
}

impl ProducerKey {
    pub fn is_active(&self) -> bool {
        self.expires_at.is_none()
    }

    pub fn to_api(&self) -> Value {
        let at = |seconds: i64| {
            time::OffsetDateTime::from_unix_timestamp(seconds)
                .ok()
                .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        };
        json!({
            "AccessKeyId": self.access_key_id,
            "Status": if self.is_active() { "ACTIVE" } else { "EXPIRING" },
            "CreatedAt": self.created_at,
            "ExpiresAt": self.expires_at.and_then(at),
        })
    }
}

/// A valid `POST /streams/{id}/credentials/rotate` body (empty: the default overlap).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RotateRequest {
    pub overlap_seconds: i64,
}

impl RotateRequest {
    pub fn parse(body: &[u8]) -> Result<RotateRequest, Vec<FieldError>> {
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(RotateRequest { overlap_seconds: DEFAULT_OVERLAP_SECONDS });
        }
        let object = parse_object(body).map_err(|e| vec![e])?;
        let mut fields = Fields::new(&object);
        let overlap_seconds = fields.integer("OverlapSeconds", 0, MAX_OVERLAP_SECONDS).unwrap_or(DEFAULT_OVERLAP_SECONDS);
        fields.finish()?;
        Ok(RotateRequest { overlap_seconds })
    }
}

/// What a revoke asks for (recorded with its job).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RevokeRequest {
    pub access_key_id: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_a_rotate_body_when_parsed_then_the_overlap_is_bounded() {
        assert_eq!(RotateRequest::parse(b"").unwrap().overlap_seconds, 3600);
        assert_eq!(RotateRequest::parse(br#"{"OverlapSeconds": 5}"#).unwrap().overlap_seconds, 5);
        let fields = |body: &[u8]| RotateRequest::parse(body).unwrap_err().into_iter().map(|e| e.field).collect::<Vec<_>>();
        assert_eq!(fields(br#"{"OverlapSeconds": 604801}"#), vec!["OverlapSeconds"]);
        assert_eq!(fields(br#"{"OverlapSeconds": "soon", "Colour": 1}"#), vec!["OverlapSeconds", "Colour"]);
    }

    #[test]
    fn a_key_with_an_end_is_expiring() {
        let key = ProducerKey { access_key_id: "AKIA".into(), created_at: "t".into(), expires_at: Some(0) };
        assert_eq!(key.to_api()["Status"], "EXPIRING");
        assert_eq!(key.to_api()["ExpiresAt"], "1970-01-01T00:00:00Z");
    }
}
