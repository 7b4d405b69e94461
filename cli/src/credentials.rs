//! The sign-in `tributary login` keeps: the issuer's tokens in
//! `$XDG_CONFIG_HOME/tributary/credentials.json` (else `~/.config/tributary/…`), readable by
//! its owner only, from the moment it exists.

use serde::{Deserialize, Serialize};
use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use time::{Duration, OffsetDateTime};

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct Credentials {
    pub issuer: String,
    pub client_id: String,
    /// Where the refresh token is exchanged (from the issuer's discovery document at sign-in).
    pub token_endpoint: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revocation_endpoint: Option<String>,
    pub access_token: String,
    #[serde(default)]
    pub id_token: Option<String>,
    #[serde(default)]
    pub refresh_token: Option<String>,
    /// When the access token expires; unknown: it is used until the API refuses it.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
}

/// A token this close to its expiry is refreshed first, so that it does not expire on its
/// way to the API (or on a clock a little ahead of ours).
const EXPIRY_MARGIN: Duration = Duration::seconds(60);

/// Whether the access token must be refreshed before it is sent.
pub fn needs_refresh(expires_at: Option<OffsetDateTime>, now: OffsetDateTime) -> bool {
    expires_at.is_some_and(|expires_at| now + EXPIRY_MARGIN >= expires_at)
}

/// The file's place: `$XDG_CONFIG_HOME` when it is set to an absolute path (the XDG rule),
/// else `$HOME/.config`.
pub fn path_from(xdg_config_home: Option<OsString>, home: Option<OsString>) -> Option<PathBuf> {
    let config = match xdg_config_home.map(PathBuf::from).filter(|p| p.is_absolute()) {
        Some(config) => config,
        None => PathBuf::from(home.filter(|h| !h.is_empty())?).join(".config"),
    };
    Some(config.join("tributary").join("credentials.json"))
}

pub fn path() -> Result<PathBuf, String> {
    path_from(std::env::var_os("XDG_CONFIG_HOME"), std::env::var_os("HOME")).ok_or_else(|| "neither XDG_CONFIG_HOME nor HOME is set: no place for the credentials".to_string())
}

/// The stored sign-in, if there is one.
pub fn load(path: &Path) -> Result<Option<Credentials>, String> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    warn_if_readable_by_others(path);
    serde_json::from_str(&text).map(Some).map_err(|e| format!("{}: not credentials of `tributary login` ({e}); run `tributary logout`, then `tributary login`", path.display()))
}

#[cfg(unix)]
fn warn_if_readable_by_others(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(metadata) = std::fs::metadata(path) {
        if metadata.permissions().mode() & 0o077 != 0 {
            eprintln!("warning: {} can be read by other users; `chmod 600` it (or sign in again)", path.display());
        }
    }
}

#[cfg(not(unix))]
fn warn_if_readable_by_others(_path: &Path) {}

/// Writes the file whole: a new file created with mode 0600 (never readable by others, not
/// even between its creation and a chmod), synced, then renamed over the old one, so that a
/// reader sees the old sign-in or the new one and never half of either.
pub fn save(path: &Path, credentials: &Credentials) -> Result<(), String> {
    let folder = path.parent().expect("the credentials file sits in a folder");
    create_private_folder(folder).map_err(|e| format!("{}: {e}", folder.display()))?;
    let mut nonce = [0u8; 8];
    getrandom::fill(&mut nonce).map_err(|e| format!("no randomness for a file name: {e}"))?;
    let temporary = folder.join(format!(".credentials-{}-{}.tmp", std::process::id(), u64::from_le_bytes(nonce)));
    let written = (|| {
        let mut file = create_private_file(&temporary)?;
        file.write_all(serde_json::to_string_pretty(credentials).expect("credentials serialise").as_bytes())?;
        file.write_all(b"\n")?;
        file.sync_all()?;
        std::fs::rename(&temporary, path)
    })();
    written.map_err(|e| {
        let _ = std::fs::remove_file(&temporary);
        format!("{}: {e}", path.display())
    })
}

#[cfg(unix)]
fn create_private_folder(folder: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(folder)
}

#[cfg(not(unix))]
fn create_private_folder(folder: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(folder)
}

#[cfg(unix)]
fn create_private_file(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)
}

#[cfg(not(unix))]
fn create_private_file(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new().write(true).create_new(true).open(path)
}

/// Removes the file; false when there was none.
pub fn remove(path: &Path) -> Result<bool, String> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn sample(access_token: &str) -> Credentials {
        Credentials {
            issuer: "http://127.0.0.1:3000/_local/oidc".into(),
            client_id: "tributary-cli".into(),
            token_endpoint: "http://127.0.0.1:3000/_local/oidc/token".into(),
            revocation_endpoint: None,
            access_token: access_token.into(),
            id_token: Some("id".into()),
            refresh_token: Some("refresh".into()),
            expires_at: Some(datetime!(2024-05-01 12:00 UTC)),
        }
    }

    #[test]
    fn given_an_expiry_when_asked_then_a_token_within_a_minute_of_it_is_refreshed() {
        let expires_at = Some(datetime!(2024-05-01 12:00 UTC));
        assert!(!needs_refresh(expires_at, datetime!(2024-05-01 11:58:59 UTC)));
        assert!(needs_refresh(expires_at, datetime!(2024-05-01 11:59:00 UTC)));
        assert!(needs_refresh(expires_at, datetime!(2024-05-01 13:00 UTC)));
        assert!(!needs_refresh(None, datetime!(2030-01-01 0:00 UTC)));
    }

    #[test]
    fn given_the_environment_when_placed_then_xdg_config_home_wins_else_home_config() {
        assert_eq!(path_from(Some("/x/conf".into()), Some("/home/u".into())), Some(PathBuf::from("/x/conf/tributary/credentials.json")));
        assert_eq!(path_from(None, Some("/home/u".into())), Some(PathBuf::from("/home/u/.config/tributary/credentials.json")));
        assert_eq!(path_from(Some("relative".into()), Some("/home/u".into())), Some(PathBuf::from("/home/u/.config/tributary/credentials.json")));
        assert_eq!(path_from(None, None), None);
    }

    #[cfg(unix)]
    #[test]
    fn given_credentials_when_saved_then_owner_only_modes_and_a_rewrite_replaces_a_readable_file() {
        use std::os::unix::fs::PermissionsExt;
        let root = std::env::temp_dir().join(format!("tributary-cli-credentials-{}", std::process::id()));
        let path = root.join("tributary").join("credentials.json");
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;

        save(&path, &sample("first")).unwrap();
        assert_eq!((mode(&path), mode(path.parent().unwrap())), (0o600, 0o700));
        assert_eq!(load(&path).unwrap(), Some(sample("first")));

        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        save(&path, &sample("second")).unwrap();
        assert_eq!(mode(&path), 0o600);
        assert_eq!(load(&path).unwrap().unwrap().access_token, "second");
        assert_eq!(std::fs::read_dir(path.parent().unwrap()).unwrap().count(), 1, "no temporary file is left");

        assert!(remove(&path).unwrap());
        assert!(!remove(&path).unwrap());
        assert_eq!(load(&path).unwrap(), None);
        std::fs::remove_dir_all(&root).unwrap();
    }
}
