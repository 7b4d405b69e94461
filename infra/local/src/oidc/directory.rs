//! Who may sign in (`TRIBUTARY_USERS`) and through which app clients: the user pool and
//! its app clients, as the template creates them on AWS.

/// Public app clients (no secret, code flow with PKCE). Their ids are fixed: the console
/// and the CLI name them.
pub const CONSOLE_CLIENT_ID: &str = "tributary-console";
pub const CLI_CLIENT_ID: &str = "tributary-cli";
/// Where `tributary login` listens for the redirect.
pub const CLI_REDIRECT_URI: &str = "http://localhost:8976/callback";
/// The scopes every client may ask for (all of them when it asks for none, as Cognito does).
pub const CLIENT_SCOPES: &[&str] = &["openid", "profile", "email"];

#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub name: String,
    pub password: String,
    pub tenant: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Client {
    pub id: String,
    /// Redirect URIs compared exactly, as Cognito compares its callback URLs.
    pub redirect_uris: Vec<String>,
}

/// The two clients, the console's at its place on the API port.
pub fn clients(api_port: u16) -> Vec<Client> {
    vec![
        Client {
            id: CONSOLE_CLIENT_ID.into(),
            redirect_uris: vec![format!("http://127.0.0.1:{api_port}/console/"), format!("http://127.0.0.1:{api_port}/console/callback")],
        },
        Client { id: CLI_CLIENT_ID.into(), redirect_uris: vec![CLI_REDIRECT_URI.into()] },
    ]
}

/// Parses `name:password=tenant[,…]` (a password may hold `:` and `=`; the tenant follows the last `=`).
pub fn parse_users(spec: &str) -> Result<Vec<User>, String> {
    let mut users: Vec<User> = vec![];
    for item in spec.split(',').map(str::trim).filter(|item| !item.is_empty()) {
        let parsed = item.split_once(':').and_then(|(name, rest)| rest.rsplit_once('=').map(|(password, tenant)| (name, password, tenant)));
        match parsed {
            Some((name, password, tenant)) if !name.is_empty() && !password.is_empty() && !tenant.is_empty() => {
                if users.iter().any(|user| user.name == name) {
                    return Err(format!("{name}: named twice"));
                }
                users.push(User { name: name.into(), password: password.into(), tenant: tenant.into() });
            }
            _ => return Err(format!("{item}: expected name:password=tenant")),
        }
    }
    Ok(users)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_parse_with_their_tenants() {
        let users = parse_users("dev:dev=dev, ann:s3:cr=t=acme").unwrap();
        assert_eq!(users[1], User { name: "ann".into(), password: "s3:cr=t".into(), tenant: "acme".into() });
        assert!(parse_users("dev=dev").is_err());
        assert!(parse_users("dev:=dev").is_err());
        assert!(parse_users("a:b=c,a:d=e").is_err());
    }

    #[test]
    fn the_console_redirects_only_to_its_own_place_on_the_api_port() {
        let console = &clients(3200)[0];
        assert_eq!(console.redirect_uris, ["http://127.0.0.1:3200/console/", "http://127.0.0.1:3200/console/callback"]);
    }
}
