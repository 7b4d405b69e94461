//! tributary-local: the whole Tributary system on one machine (see the library).

use tributary_local::endpoint::{self, Endpoint};
use tributary_local::lambda::{self, FunctionSpec, LambdaService};
use tributary_local::{apigw, bootstrap, console, eventbridge, faults, firehose, jwt_authorizer, moto, oidc, template, triggers};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).ok().filter(|v| !v.is_empty()).unwrap_or_else(|| default.to_string())
}

fn port(name: &str, default: u16) -> Result<u16, String> {
    env_or(name, &default.to_string()).parse().map_err(|_| format!("{name} must be a port number"))
}

#[tokio::main]
async fn main() {
    tributary::telemetry::init();
    if let Err(error) = run().await {
        eprintln!("tributary-local: {error}");
        std::process::exit(1);
    }
}

async fn run() -> Result<(), String> {
    // Absolute, since functions run in their own working directories.
    let root = PathBuf::from(env_or("TRIBUTARY_ROOT", ".")).canonicalize().map_err(|e| format!("TRIBUTARY_ROOT: {e}"))?;
    let bin_dir = match std::env::var("TRIBUTARY_BIN_DIR") {
        Ok(dir) => PathBuf::from(dir),
        Err(_) => std::env::current_exe().map_err(|e| e.to_string())?.parent().map(PathBuf::from).unwrap_or_default(),
    };
    // Where logs and function code live; a second stack on other ports takes a folder of its own.
    let state_dir = std::env::var("TRIBUTARY_STATE_DIR").map(PathBuf::from).unwrap_or_else(|_| root.join(".local"));
    let log_dir = state_dir.join("logs");
    std::fs::create_dir_all(&log_dir).map_err(|e| format!("{}: {e}", log_dir.display()))?;
    let aws_port = port("TRIBUTARY_AWS_PORT", 4566)?;
    let api_port = port("TRIBUTARY_API_PORT", 3000)?;
    let moto_port = port("TRIBUTARY_MOTO_PORT", 4599)?;
    let tokens = apigw::parse_tokens(&env_or("TRIBUTARY_TOKENS", "dev-token=dev"))?;
    let schedule = Duration::from_secs(env_or("TRIBUTARY_SCHEDULE_SECONDS", "10").parse().map_err(|_| "TRIBUTARY_SCHEDULE_SECONDS must be a number")?);
    let users = oidc::directory::parse_users(&env_or("TRIBUTARY_USERS", "dev:dev=dev"))?;
    // The local sign-in is the template's issuer, its clients the audience, unless
    // TRIBUTARY_PARAMETER_JwtIssuer / …JwtAudience name others.
    let issuer_url = oidc::issuer_url(api_port);
    let local_parameters = BTreeMap::from([
        ("JwtIssuer".to_string(), issuer_url.clone()),
        ("JwtAudience".to_string(), [oidc::directory::CONSOLE_CLIENT_ID, oidc::directory::CLI_CLIENT_ID].join(",")),
    ]);
    let wiring = template::load_with(&root.join("infra/template.yaml"), &local_parameters)?;
    let endpoint_url = format!("http://127.0.0.1:{aws_port}");

    let http = reqwest::Client::new();
    // moto's server with tributary-local's fixes (infra/local/moto_server.py), on the .venv's Python.
    let moto_command = vec![
        env_or("TRIBUTARY_PYTHON", &root.join(".venv/bin/python").to_string_lossy()),
        root.join("infra/local/moto_server.py").to_string_lossy().into_owned(),
    ];
    let mut moto = moto::Moto::start_or_reuse(&http, &moto_command, moto_port, aws_port, &log_dir.join("moto.log")).await?;

    let faults = faults::Faults::default();
    for fault in faults::Faults::parse(&env_or("TRIBUTARY_FAULTS", ""))? {
        faults.add(fault);
    }
    let lambda = LambdaService::default();
    let functions = tributary_local::functions::UserFunctions::new(
        lambda.clone(),
        state_dir.join("functions"),
        log_dir.clone(),
        root.join(".venv/bin/python"),
        endpoint_url.clone(),
        moto.url.clone(),
        http.clone(),
    );
    // What AWS services publish to CloudWatch, which moto's services do not.
    let metrics = tributary_local::metrics::Metrics::new(http.clone(), moto.url.clone());
    tokio::spawn(metrics.clone().run());
    // IAM as AWS enforces it, for producer keys (moto's enforcement stays off).
    let moto_config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(&moto.url)
        .region(aws_config::Region::new(template::REGION))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new("test", "test", None, None, "tributary-local"))
        .load()
        .await;
    let gate = tributary_local::producer_gate::ProducerGate::load(
        aws_sdk_iam::Client::new(&moto_config),
        tributary_local::moto_client::MotoJson::new(http.clone(), moto.url.clone()),
        template::ACCOUNT,
    )
    .await;
    let endpoint = Endpoint {
        lambda: lambda.clone(),
        functions,
        faults,
        moto_url: moto.url.clone(),
        http: http.clone(),
        counts: Default::default(),
        dynamodb_isolation: Default::default(),
        dynamodb_rollbacks: Default::default(),
        kinesis_puts: Default::default(),
        metrics: metrics.clone(),
        gate,
    };
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", aws_port)).await.map_err(|e| format!("port {aws_port}: {e}"))?;
    let aws_router = axum::Router::new().fallback(endpoint::handle).with_state(endpoint.clone());
    tokio::spawn(async move { axum::serve(listener, aws_router).await });

    // Our own clients talk to the local endpoint, like the functions do.
    let aws = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(&endpoint_url)
        .region(aws_config::Region::new(template::REGION))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new("test", "test", None, None, "tributary-local"))
        .load()
        .await;
    let table = bootstrap::create_table(&http, &moto.url, &wiring).await?;
    bootstrap::create_bus(&aws_sdk_eventbridge::Client::new(&aws), &wiring.bus_name).await?;
    bootstrap::create_buckets(&http, &moto.url, &wiring).await?;
    bootstrap::create_roles(&aws_sdk_iam::Client::new(&aws), &wiring).await?;
    let role = bootstrap::create_states_role(&aws_sdk_iam::Client::new(&aws)).await?;
    http.put(format!("{}/{}", moto.url, moto::STATE_BUCKET))
        .header("authorization", tributary_local::aws_wire::fake_signature("s3"))
        .send()
        .await
        .map_err(|e| format!("state bucket: {e}"))?;
    endpoint.functions.restore().await;
    let machines = bootstrap::create_state_machines(&aws_sdk_sfn::Client::new(&aws), &wiring, &role).await?;

    let grace = env_or("TRIBUTARY_RECONCILE_GRACE_SECONDS", "30");
    for function in &wiring.functions {
        let mut environment = function.environment.clone();
        environment.extend([
            ("AWS_ENDPOINT_URL".to_string(), endpoint_url.clone()),
            ("AWS_ACCESS_KEY_ID".to_string(), function.name.clone()),
            ("AWS_SECRET_ACCESS_KEY".to_string(), "test".to_string()),
            ("AWS_REGION".to_string(), template::REGION.to_string()),
            ("KINESIS_PUBLIC_ENDPOINT".to_string(), endpoint_url.clone()),
            ("RUST_LOG".to_string(), env_or("TRIBUTARY_FUNCTION_LOG", "info")),
        ]);
        if environment.contains_key("RECONCILE_GRACE_SECONDS") {
            environment.insert("RECONCILE_GRACE_SECONDS".into(), grace.clone());
        }
        lambda.register(FunctionSpec {
            name: function.name.clone(),
            arn: template::function_arn(&function.name),
            command: bin_dir.join(&function.binary),
            args: vec![],
            working_dir: None,
            environment,
            timeout: Duration::from_secs(function.timeout_seconds),
            memory_mb: function.memory_mb,
            max_instances: 4,
            log_file: log_dir.join(format!("{}.log", function.name)),
        });
        lambda::wait_until_idle(&lambda, &function.name, Duration::from_secs(10)).await;
    }

    for function in &wiring.functions {
        if let Some(unsupported) = function.event_types.iter().find(|t| !template::SUPPORTED_EVENT_TYPES.contains(&t.as_str())) {
            return Err(format!("{}: tributary-local cannot drive {unsupported} events", function.name));
        }
    }
    let triggered = |event_type: &str| wiring.functions.iter().find(|f| f.event_types.iter().any(|t| t == event_type)).map(|f| f.name.clone());
    let http_routes: Vec<_> = wiring.functions.iter().flat_map(|f| f.http_routes.iter().map(|r| (r.clone(), f.name.clone()))).collect();
    if http_routes.is_empty() {
        return Err("no function has an HttpApi event".into());
    }
    // API Gateway reads the issuer as on AWS: its discovery document, over HTTP.
    let authorizer = wiring.jwt_authorizer.as_ref().filter(|a| !a.issuer.is_empty()).map(|a| {
        let configuration = jwt_authorizer::JwtConfiguration { issuer: a.issuer.clone(), audience: a.audience.clone() };
        Arc::new(jwt_authorizer::JwtAuthorizer::new(configuration, http.clone()))
    });
    let throttle = wiring.route_throttle.map(|t| Arc::new(apigw::RouteThrottle::new(t.rate_per_second, t.burst)));
    let gateway = apigw::Gateway { endpoint: endpoint.clone(), routes: http_routes, tokens: tokens.clone(), authorizer, throttle };
    // The sign-in standing in for Cognito's managed login, with a key that outlives restarts.
    let signing_key = oidc::signing_key::SigningKey::load_or_create(&state_dir.join("oidc/signing-key.pem"))?;
    let issuer = oidc::Issuer::new(issuer_url.clone(), signing_key, users, oidc::directory::clients(api_port));
    let api_listener = tokio::net::TcpListener::bind(("127.0.0.1", api_port)).await.map_err(|e| format!("port {api_port}: {e}"))?;
    // The console as its distribution serves it, the build folder standing for its bucket.
    let console_dist = std::env::var("TRIBUTARY_CONSOLE_DIST").map(PathBuf::from).unwrap_or_else(|_| root.join("console/dist"));
    let console_config = console::RuntimeConfig { api_url: format!("http://127.0.0.1:{api_port}"), issuer: issuer_url.clone(), client_id: oidc::directory::CONSOLE_CLIENT_ID.into() };
    let api_router = axum::Router::new()
        .fallback(apigw::handle)
        .with_state(gateway)
        .nest(oidc::PATH, oidc::router(issuer))
        .merge(console::router(console::Console::new(console_dist, &console_config)));
    tokio::spawn(async move { axum::serve(api_listener, api_router).await });

    if let Some(status_function) = triggered("DynamoDB") {
        let streams = aws_sdk_dynamodbstreams::Client::new(&aws);
        let dynamodb = aws_sdk_dynamodb::Client::new(&aws);
        let filters = wiring.functions.iter().find(|f| f.name == status_function).map(|f| f.table_stream_filters.clone()).unwrap_or_default();
        tokio::spawn(triggers::poll_table_stream(endpoint.clone(), streams, dynamodb, table.clone(), status_function, filters));
    }
    if let Some(automation) = triggered("Schedule") {
        tokio::spawn(triggers::fire_schedule(endpoint.clone(), automation, schedule));
    }
    // EventBridge: rules with function targets, and the events moto's services do not send.
    let moto_calls = tributary_local::moto_client::MotoJson::new(http.clone(), moto.url.clone());
    let rule_targets = eventbridge::install(&moto_calls, &wiring).await?;
    tokio::spawn(eventbridge::deliver(endpoint.invoker(), moto_calls.clone(), rule_targets));
    tokio::spawn(triggers::watch_executions(moto_calls, aws_sdk_sfn::Client::new(&aws), machines));

    // Firehose delivery, which moto only configures.
    tokio::spawn(firehose::run(endpoint.invoker(), metrics.clone(), http.clone(), moto.url.clone()));

    if let Ok(pid_file) = std::env::var("TRIBUTARY_LOCAL_PIDFILE") {
        std::fs::write(&pid_file, std::process::id().to_string()).map_err(|e| format!("{pid_file}: {e}"))?;
    }
    let first_token = tokens.iter().next().map(|(t, tenant)| format!("{t} (tenant {tenant})")).unwrap_or_default();
    println!("tributary-local is up");
    println!("  API:          http://127.0.0.1:{api_port}   (Authorization: Bearer {first_token})");
    println!("  sign-in:      {issuer_url}   (OpenID issuer; users from TRIBUTARY_USERS, default dev/dev)");
    println!("  console:      http://127.0.0.1:{api_port}{}/   (console/dist, built by `make build`)", console::PATH);
    println!("  AWS endpoint: {endpoint_url}   (any credentials, region {})", template::REGION);
    println!("  logs:         {}", log_dir.display());
    println!("Ctrl-C stops everything.");

    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).map_err(|e| e.to_string())?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
    }
    println!("stopping");
    metrics.publish().await;
    lambda.stop_all();
    moto.stop().await;
    Ok(())
}
