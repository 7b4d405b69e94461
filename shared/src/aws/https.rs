//! The one HTTPS client that every AWS SDK client of a process shares.
//!
//! Left to itself the SDK gives each service client its own HTTPS client, and building a
//! service client builds a TLS connector it throws away, only to load the system's root
//! certificates early; a handler with a dozen clients paid for a dozen before its first
//! invocation. Here the connector is built once, on the first request, and cached for every
//! client. AWS endpoints present certificates of Amazon Trust Services, so the trust store is
//! its five roots, embedded (the set amazontrust.com recommends for custom trust stores),
//! rather than a scan of the system's ~140. Certificates are still verified.

use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode, TlsContext, TrustStore};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::connector_metadata::ConnectorMetadata;
use aws_smithy_runtime_api::client::http::{HttpClient, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

/// Amazon Root CA 1–4 and Starfield Services Root CA G2 (https://www.amazontrust.com/repository).
pub const AMAZON_TRUST_SERVICES_ROOTS: &[u8] = include_bytes!("../../certs/amazon-trust-services.pem");

/// The shared client: hyper 1, rustls on aws-lc, the embedded roots — or, when
/// `AWS_CA_BUNDLE` names a PEM file (the SDKs' shared setting for a custom bundle, e.g. of
/// a TLS-inspecting proxy), the certificates of that file instead.
pub fn shared_https_client() -> SharedHttpClient {
    let roots = match std::env::var_os("AWS_CA_BUNDLE").filter(|p| !p.is_empty()) {
        Some(path) => std::fs::read(&path).unwrap_or_else(|e| panic!("AWS_CA_BUNDLE {}: {e}", path.to_string_lossy())),
        None => AMAZON_TRUST_SERVICES_ROOTS.to_vec(),
    };
    let trust_store = TrustStore::empty().with_native_roots(false).with_pem_certificate(roots);
    let tls_context = TlsContext::builder().with_trust_store(trust_store).build().expect("the trust store holds PEM certificates");
    let client = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc))
        .tls_context(tls_context)
        .build_https();
    SharedHttpClient::new(ConnectOnFirstRequest(client))
}

/// The SDK's client without its construction-time warm-up (`validate_base_client_config`
/// builds and drops a connector); everything else is the SDK's.
#[derive(Debug)]
struct ConnectOnFirstRequest(SharedHttpClient);

impl HttpClient for ConnectOnFirstRequest {
    fn http_connector(&self, settings: &HttpConnectorSettings, components: &RuntimeComponents) -> SharedHttpConnector {
        self.0.http_connector(settings, components)
    }

    fn validate_final_config(&self, components: &RuntimeComponents, cfg: &ConfigBag) -> Result<(), BoxError> {
        self.0.validate_final_config(components, cfg)
    }

    fn connector_metadata(&self) -> Option<ConnectorMetadata> {
        self.0.connector_metadata()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_trust_store_holds_the_five_amazon_trust_services_roots() {
        let text = std::str::from_utf8(AMAZON_TRUST_SERVICES_ROOTS).unwrap();
        assert_eq!(text.matches("-----BEGIN CERTIFICATE-----").count(), 5);
        let context = TlsContext::builder().with_trust_store(TrustStore::empty().with_pem_certificate(AMAZON_TRUST_SERVICES_ROOTS)).build();
        assert!(context.is_ok());
    }
}
