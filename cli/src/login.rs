//! `tributary login`: the browser signs in at the issuer, which sends it back with a code to
//! the CLI listening on the loopback redirect; the code (with the PKCE verifier) becomes the
//! tokens the CLI stores. `tributary logout` forgets them.

use crate::args::Login;
use crate::credentials;
use crate::oidc;
use std::path::PathBuf;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

/// The redirect's port, on the loopback address only: nobody else's machine can call it.
const LISTEN_ON: &str = "127.0.0.1:8976";
/// A person signs in within this, or the CLI stops listening.
const SIGN_IN_TIME: Duration = Duration::from_secs(600);
/// A connection that sends no request within this is dropped (browsers open spare ones).
const REQUEST_TIME: Duration = Duration::from_secs(30);
/// A request head longer than this is not the issuer's redirect.
const MAX_REQUEST_HEAD: usize = 16 * 1024;
/// A GUI browser opens at once; a text browser (lynx) keeps the call until it closes.
const BROWSER_START_TIME: Duration = Duration::from_secs(3);

/// What one request to the listener was.
#[derive(Debug, PartialEq)]
pub enum Callback {
    /// Another path (a favicon): answered 404, the CLI keeps waiting.
    NotOurs,
    /// The issuer's redirect with the code, for the state this sign-in sent.
    Code(String),
    /// The issuer's redirect with an error, or not for this sign-in.
    Failed(String),
}

/// The request target (`/callback?code=…&state=…`) read against the state that was sent.
pub fn read_callback(target: &str, expected_state: &str) -> Callback {
    let Ok(url) = reqwest::Url::parse(&format!("http://localhost{target}")) else { return Callback::NotOurs };
    if url.path() != "/callback" {
        return Callback::NotOurs;
    }
    let parameter = |name: &str| url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned());
    if parameter("state").as_deref() != Some(expected_state) {
        // A redirect of another sign-in (a stale tab), or a forged one: never exchanged.
        return Callback::Failed("the redirect's state is not this sign-in's; run `tributary login` again".into());
    }
    if let Some(error) = parameter("error") {
        let description = parameter("error_description").map(|d| format!(": {d}")).unwrap_or_default();
        return Callback::Failed(format!("the issuer refused the sign-in: {error}{description}"));
    }
    match parameter("code") {
        Some(code) if !code.is_empty() => Callback::Code(code),
        _ => Callback::Failed("the issuer's redirect carries no code".into()),
    }
}

/// Signs in; the file the tokens are stored in.
pub async fn sign_in(login: &Login, api_url: &str) -> Result<PathBuf, String> {
    let issuer_url = login.issuer.clone().unwrap_or_else(|| format!("{}/_local/oidc", api_url.trim_end_matches('/')));
    let path = credentials::path()?;
    let http = reqwest::Client::new();
    let issuer = oidc::discover(&http, &issuer_url).await?;
    // Listening before the URL is shown: the redirect can never come before the listener.
    let listener = TcpListener::bind(LISTEN_ON)
        .await
        .map_err(|e| format!("cannot listen on {LISTEN_ON} for the sign-in's redirect: {e} (is another `tributary login` running?)"))?;
    let verifier = oidc::random_token(32)?;
    let state = oidc::random_token(16)?;
    let url = oidc::authorization_url(&issuer, &login.client_id, &oidc::challenge(&verifier), &state)?;

    eprintln!("Sign in at:\n\n  {url}\n");
    if !login.no_browser {
        open_browser(&url).await;
    }
    eprintln!("Waiting for the browser to come back to {} (the browser must run on this machine; from another one, forward the port: ssh -L 8976:127.0.0.1:8976 …)", oidc::REDIRECT_URI);

    let code = tokio::time::timeout(SIGN_IN_TIME, receive_code(listener, state))
        .await
        .map_err(|_| format!("no sign-in came back within {} minutes", SIGN_IN_TIME.as_secs() / 60))??;
    let signed_in = oidc::exchange_code(&http, &issuer, &login.client_id, &code, &verifier).await?;
    credentials::save(&path, &signed_in)?;
    // Who signed in, for the person to check: from the ID token, else the access token.
    let tokens = [signed_in.id_token.as_deref().map(oidc::claims).unwrap_or_default(), oidc::claims(&signed_in.access_token)];
    let claim = |names: &[&str]| tokens.iter().find_map(|claims| names.iter().find_map(|name| claims[*name].as_str().map(str::to_string)));
    let who = claim(&["cognito:username", "preferred_username", "username", "email", "sub"]);
    let tenant = claim(&["tenant", "custom:tenant"]);
    match (who, tenant) {
        (Some(who), Some(tenant)) => println!("Signed in as {who} (tenant {tenant}) at {}.", issuer.issuer),
        (Some(who), None) => println!("Signed in as {who} at {}.", issuer.issuer),
        _ => println!("Signed in at {}.", issuer.issuer),
    }
    println!("The tokens are in {}; commands use them unless TRIBUTARY_TOKEN or --token is given.", path.display());
    Ok(path)
}

/// Opens the URL in the default browser when there is one. A text browser keeps the call
/// until it is closed, so the call runs beside the listener, which must answer meanwhile.
async fn open_browser(url: &str) {
    let url = url.to_string();
    let opening = tokio::task::spawn_blocking(move || webbrowser::open(&url));
    match tokio::time::timeout(BROWSER_START_TIME, opening).await {
        Ok(Ok(Ok(()))) | Err(_) => {}
        Ok(Ok(Err(error))) => eprintln!("(no browser could be opened: {error}; open the URL above)"),
        Ok(Err(error)) => eprintln!("(no browser could be opened: {error}; open the URL above)"),
    }
}

/// Answers each connection to the listener until one is the issuer's redirect; its code.
/// Connections are served side by side, as a browser may hold one open without a request.
async fn receive_code(listener: TcpListener, state: String) -> Result<String, String> {
    let (outcomes, mut outcome) = mpsc::channel::<Result<String, String>>(1);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (connection, _) = accepted.map_err(|e| format!("{LISTEN_ON}: {e}"))?;
                let (outcomes, state) = (outcomes.clone(), state.clone());
                tokio::spawn(async move {
                    if let Ok(Some(result)) = tokio::time::timeout(REQUEST_TIME, serve(connection, &state)).await {
                        let _ = outcomes.send(result).await;
                    }
                });
            }
            Some(result) = outcome.recv() => return result,
        }
    }
}

/// One request: the page the browser shows, and the sign-in's outcome when it was the redirect.
async fn serve(mut connection: TcpStream, state: &str) -> Option<Result<String, String>> {
    let mut head = Vec::new();
    let mut buffer = [0u8; 2048];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let read = connection.read(&mut buffer).await.ok()?;
        if read == 0 || head.len() > MAX_REQUEST_HEAD {
            return None;
        }
        head.extend_from_slice(&buffer[..read]);
    }
    let head = String::from_utf8_lossy(&head);
    let mut request_line = head.lines().next().unwrap_or("").split_whitespace();
    let (method, target) = (request_line.next().unwrap_or(""), request_line.next().unwrap_or(""));
    let callback = if method == "GET" { read_callback(target, state) } else { Callback::NotOurs };
    let (status, page, outcome) = match callback {
        Callback::NotOurs => ("404 Not Found", "Not found.".to_string(), None),
        Callback::Code(code) => ("200 OK", "Signed in to Tributary. You can close this tab and go back to the terminal.".to_string(), Some(Ok(code))),
        Callback::Failed(reason) => ("400 Bad Request", format!("The sign-in did not complete: {}", html_escape(&reason)), Some(Err(reason))),
    };
    let body = format!("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Tributary CLI</title></head><body><p>{page}</p></body></html>");
    let answer = format!("HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n{body}", body.len());
    let _ = connection.write_all(answer.as_bytes()).await;
    let _ = connection.shutdown().await;
    outcome
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// Forgets the sign-in: the issuer is asked to revoke the refresh token when it can, and the
/// file is removed either way.
pub async fn sign_out() -> Result<(), String> {
    let path = credentials::path()?;
    let stored = match credentials::load(&path) {
        Ok(stored) => stored,
        Err(unreadable) => {
            eprintln!("warning: {unreadable}");
            None
        }
    };
    if let Some(stored) = &stored {
        if let Err(error) = oidc::revoke(&reqwest::Client::new(), stored).await {
            eprintln!("warning: the issuer did not revoke the refresh token ({error}); it stays valid until it expires");
        }
    }
    match credentials::remove(&path)? {
        true => println!("Signed out: removed {}.", path.display()),
        false => println!("Not signed in: no {}.", path.display()),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_the_issuers_redirect_when_read_then_only_this_sign_ins_state_yields_the_code() {
        assert_eq!(read_callback("/callback?code=C1&state=S1", "S1"), Callback::Code("C1".into()));
        assert!(matches!(read_callback("/callback?code=C1&state=S2", "S1"), Callback::Failed(reason) if reason.contains("state")));
        assert!(matches!(read_callback("/callback?code=C1", "S1"), Callback::Failed(_)));
        assert_eq!(
            read_callback("/callback?error=access_denied&error_description=no%20such%20user&state=S1", "S1"),
            Callback::Failed("the issuer refused the sign-in: access_denied: no such user".into())
        );
        assert!(matches!(read_callback("/callback?state=S1", "S1"), Callback::Failed(_)));
        assert_eq!(read_callback("/favicon.ico", "S1"), Callback::NotOurs);
    }

    #[tokio::test]
    async fn given_a_listener_when_a_spare_connection_and_a_favicon_come_first_then_the_redirect_still_gives_the_code() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let receiving = tokio::spawn(receive_code(listener, "S1".into()));
        let _spare = TcpStream::connect(address).await.unwrap();
        let request = |target: &'static str| async move {
            let mut connection = TcpStream::connect(address).await.unwrap();
            connection.write_all(format!("GET {target} HTTP/1.1\r\nHost: localhost\r\n\r\n").as_bytes()).await.unwrap();
            let mut answer = String::new();
            connection.read_to_string(&mut answer).await.unwrap();
            answer
        };
        assert!(request("/favicon.ico").await.starts_with("HTTP/1.1 404"));
        assert!(request("/callback?code=C9&state=S1").await.starts_with("HTTP/1.1 200"));
        assert_eq!(receiving.await.unwrap(), Ok("C9".to_string()));
    }
}
