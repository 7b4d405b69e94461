//! The issuer's RSA key: generated once and kept in the state folder, so that tokens and
//! refresh tokens outlive a restart of tributary-local (tests restart it). Published as a
//! JWK whose `kid` is its RFC 7638 thumbprint; tokens are RS256, as Cognito signs them.

use aws_lc_rs::hmac;
use jsonwebtoken::jwk::{Jwk, JwkSet, PublicKeyUse, ThumbprintHash};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::Serialize;
use serde_json::{Map, Value};
use std::io::Write;
use std::path::Path;

pub struct SigningKey {
    encoding: EncodingKey,
    decoding: DecodingKey,
    jwk: Jwk,
    /// Signs refresh tokens (opaque to clients), derived from the private key.
    refresh_mac: hmac::Key,
}

impl SigningKey {
    /// The key at `path` (PKCS#8 PEM), made there first if there is none.
    pub fn load_or_create(path: &Path) -> Result<Self, String> {
        let pem = match std::fs::read_to_string(path) {
            Ok(pem) => pem,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                let pem = generate_pem()?;
                write_private(path, &pem)?;
                pem
            }
            Err(error) => return Err(format!("{}: {error}", path.display())),
        };
        Self::from_pem(&pem).map_err(|e| format!("{}: {e}", path.display()))
    }

    pub fn from_pem(pem: &str) -> Result<Self, String> {
        let encoding = EncodingKey::from_rsa_pem(pem.as_bytes()).map_err(|e| format!("not an RSA private key: {e}"))?;
        let mut jwk = Jwk::from_encoding_key(&encoding, Algorithm::RS256).map_err(|e| e.to_string())?;
        let kid = jwk.thumbprint(ThumbprintHash::SHA256).map_err(|e| e.to_string())?;
        jwk.common.key_id = Some(kid);
        jwk.common.public_key_use = Some(PublicKeyUse::Signature);
        let decoding = DecodingKey::from_jwk(&jwk).map_err(|e| e.to_string())?;
        let refresh_secret = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, [b"tributary-local refresh tokens\n", pem.as_bytes()].concat().as_slice());
        Ok(SigningKey { encoding, decoding, jwk, refresh_mac: hmac::Key::new(hmac::HMAC_SHA256, refresh_secret.as_ref()) })
    }

    pub fn kid(&self) -> &str {
        self.jwk.common.key_id.as_deref().unwrap_or_default()
    }

    pub fn jwks(&self) -> JwkSet {
        JwkSet { keys: vec![self.jwk.clone()] }
    }

    pub fn sign(&self, claims: &impl Serialize) -> Result<String, String> {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(self.kid().to_string());
        jsonwebtoken::encode(&header, claims, &self.encoding).map_err(|e| e.to_string())
    }

    /// The claims of a token this key signed for `issuer`, still valid.
    pub fn verify(&self, token: &str, issuer: &str) -> Option<Map<String, Value>> {
        let mut validation = Validation::new(Algorithm::RS256);
        validation.leeway = 0;
        validation.validate_aud = false;
        validation.set_issuer(&[issuer]);
        jsonwebtoken::decode::<Map<String, Value>>(token, &self.decoding, &validation).ok().map(|data| data.claims)
    }

    /// `payload.mac`, both base64url: a token only this key's holder can make.
    pub fn seal(&self, payload: &Value) -> String {
        let payload = b64(payload.to_string().as_bytes());
        let mac = hmac::sign(&self.refresh_mac, payload.as_bytes());
        format!("{payload}.{}", b64(mac.as_ref()))
    }

    pub fn unseal(&self, sealed: &str) -> Option<Value> {
        use base64::Engine;
        let (payload, mac) = sealed.split_once('.')?;
        let mac = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(mac).ok()?;
        hmac::verify(&self.refresh_mac, payload.as_bytes(), &mac).ok()?;
        serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).ok()?).ok()
    }
}

fn b64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn generate_pem() -> Result<String, String> {
    let pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).map_err(|e| format!("generating the issuer's RSA key: {e}"))?;
    Ok(pair.serialize_pem())
}

/// Written readable by its owner only, and whole (renamed into place), so that a crash or
/// a second process never leaves half a key.
fn write_private(path: &Path, pem: &str) -> Result<(), String> {
    use std::os::unix::fs::OpenOptionsExt;
    let fail = |e: std::io::Error| format!("{}: {e}", path.display());
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(fail)?;
    }
    let partial = path.with_extension(format!("partial-{}", std::process::id()));
    let mut file = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&partial).map_err(fail)?;
    file.write_all(pem.as_bytes()).map_err(fail)?;
    file.sync_all().map_err(fail)?;
    std::fs::rename(&partial, path).map_err(fail)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn given_a_state_folder_when_loaded_twice_then_the_same_key_signs() {
        let folder = std::env::temp_dir().join(format!("tributary-signing-key-{}", uuid::Uuid::new_v4()));
        let path = folder.join("oidc/signing-key.pem");
        let first = SigningKey::load_or_create(&path).unwrap();
        let again = SigningKey::load_or_create(&path).unwrap();
        assert_eq!(first.kid(), again.kid());
        let token = first.sign(&json!({"iss": "me", "exp": u32::MAX})).unwrap();
        assert_eq!(again.verify(&token, "me").unwrap()["iss"], "me");
        assert!(again.verify(&token, "someone-else").is_none());
        let sealed = first.seal(&json!({"u": "dev"}));
        assert_eq!(again.unseal(&sealed), Some(json!({"u": "dev"})));
        assert_eq!(again.unseal(&sealed.replace('.', ".A")), None);
        std::fs::remove_dir_all(folder).unwrap();
    }
}
