//! Settings from the environment and the AWS clients built from them.
//!
//! The same code runs on AWS and on one machine: locally `AWS_ENDPOINT_URL` points every
//! client at tributary-local, which aws-config honours on its own.

use crate::model::Operation;

#[derive(Debug, thiserror::Error)]
#[error("missing environment variable {0}")]
pub struct MissingSetting(pub String);

/// What every handler needs to know about its deployment.
#[derive(Clone, Debug)]
pub struct Settings {
    pub table_name: String,
    pub event_bus_name: String,
    pub region: String,
    /// Endpoint producers use to reach Kinesis (answered with credentials).
    pub kinesis_public_endpoint: String,
    /// Bucket for code packages (transforms).
    pub artifacts_bucket: String,
    /// Execution role of tenants' transform functions.
    pub transform_role_arn: String,
    /// Bucket datasets live in.
    pub data_bucket: String,
    /// The tenants' quotas (the template's `Quota…` parameters; defaults where not given).
    pub quotas: crate::model::QuotaLimits,
    state_machine_arns: Vec<(Operation, String)>,
}

impl Settings {
    pub fn from_env() -> Result<Self, MissingSetting> {
        let var = |name: &str| std::env::var(name).map_err(|_| MissingSetting(name.to_string()));
        let region = std::env::var("AWS_REGION")
            .or_else(|_| std::env::var("AWS_DEFAULT_REGION"))
            .unwrap_or_else(|_| "us-east-1".to_string());
        let kinesis_public_endpoint = std::env::var("KINESIS_PUBLIC_ENDPOINT")
            .ok()
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| format!("https://kinesis.{region}.amazonaws.com"));
        let state_machine_arns = Operation::ALL
            .iter()
            .filter_map(|op| std::env::var(op.state_machine_env_var()).ok().map(|arn| (*op, arn)))
            .collect();
        Ok(Settings {
            table_name: var("TABLE_NAME")?,
            event_bus_name: std::env::var("EVENT_BUS_NAME").unwrap_or_else(|_| "default".into()),
            region,
            kinesis_public_endpoint,
            artifacts_bucket: std::env::var("ARTIFACTS_BUCKET").unwrap_or_default(),
            transform_role_arn: std::env::var("TRANSFORM_ROLE_ARN").unwrap_or_default(),
            data_bucket: std::env::var("DATA_BUCKET").unwrap_or_default(),
            quotas: crate::model::QuotaLimits::from_env(),
            state_machine_arns,
        })
    }

    /// The state machine that runs `operation`, if this function was given it.
    pub fn state_machine_arn(&self, operation: Operation) -> Result<&str, MissingSetting> {
        self.state_machine_arns
            .iter()
            .find(|(op, _)| *op == operation)
            .map(|(_, arn)| arn.as_str())
            .ok_or_else(|| MissingSetting(operation.state_machine_env_var()))
    }

    pub fn with_state_machine_arn(mut self, operation: Operation, arn: impl Into<String>) -> Self {
        self.state_machine_arns.retain(|(op, _)| *op != operation);
        self.state_machine_arns.push((operation, arn.into()));
        self
    }
}

/// Loads the shared AWS configuration (region, credentials, endpoint) once per cold start,
/// with the one HTTPS client every service client built from it shares.
///
/// Lambda hands a function its region and its execution role's credentials as environment
/// variables (`AWS_REGION`, `AWS_ACCESS_KEY_ID`, …). When they are there, they are named as
/// the providers: the default chains would find them first too, but build all their other
/// providers before asking — an STS client for web identity (which parses the SDK's
/// partition table and compiles its patterns), an IMDS client, a container-credentials
/// client — at every cold start. Without them the default chains decide, as before.
pub async fn load_aws_config() -> aws_config::SdkConfig {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest()).http_client(crate::aws::https::shared_https_client());
    if let Some(region) = std::env::var("AWS_REGION").ok().filter(|r| !r.is_empty()) {
        loader = loader.region(aws_config::Region::new(region));
    }
    if std::env::var_os("AWS_ACCESS_KEY_ID").is_some_and(|key| !key.is_empty()) {
        loader = loader.credentials_provider(aws_config::environment::EnvironmentVariableCredentialsProvider::new());
    }
    loader.load().await
}

/// What a handler builds its clients from: every invocation reads the table, so its client
/// is built at once; the rest are built from `aws` when first needed (`aws::lazy::Lazy::with`).
#[derive(Clone)]
pub struct Wiring {
    pub aws: aws_config::SdkConfig,
    pub settings: Settings,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub store: crate::store::Store,
}

impl Wiring {
    pub async fn load() -> Result<Self, MissingSetting> {
        let settings = Settings::from_env()?;
        let aws = load_aws_config().await;
        let dynamodb = aws_sdk_dynamodb::Client::new(&aws);
        let store = crate::store::Store::new(dynamodb.clone(), &settings.table_name).with_limits(settings.quotas);
        Ok(Wiring { aws, settings, dynamodb, store })
    }
}

/// An S3 client; path-style addressing when an endpoint is set (the local endpoint serves
/// buckets by path, not by host name).
pub fn s3_client(config: &aws_config::SdkConfig) -> aws_sdk_s3::Client {
    let builder = aws_sdk_s3::config::Builder::from(config).force_path_style(config.endpoint_url().is_some());
    aws_sdk_s3::Client::from_conf(builder.build())
}
