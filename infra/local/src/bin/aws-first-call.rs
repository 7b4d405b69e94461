//! Where a handler's AWS set-up time goes, and what its first AWS call costs, TLS handshake
//! included: each round is a fresh process that loads the AWS configuration, builds the
//! dozen service clients a handler builds, and calls DynamoDB twice over HTTPS, against a
//! local TLS endpoint with a certificate made for the run. Two set-ups are compared:
//! `sdk-default` (what `aws_config::load_defaults` gives: an HTTPS client per service
//! client, the system's root certificates) and `tributary` (`tributary::config::load_aws_config`:
//! one shared client, the embedded Amazon roots; here `AWS_CA_BUNDLE` holds them plus the
//! run's certificate).
//!
//! Usage: aws-first-call [ROUNDS]

use std::io::Write;
use std::sync::Arc;
use std::time::Instant;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const MODES: &[&str] = &["sdk-default", "tributary"];
const SYSTEM_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--child") {
        child(&args[2]).await;
        return;
    }
    let rounds: usize = args.get(1).and_then(|r| r.parse().ok()).unwrap_or(20);
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).expect("a certificate for localhost");
    let dir = std::env::temp_dir().join(format!("aws-first-call-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // The default client reads the system's store: the system bundle plus the run's certificate.
    let system = std::fs::read_to_string(SYSTEM_BUNDLE).unwrap_or_else(|e| panic!("{SYSTEM_BUNDLE}: {e}"));
    let system_bundle = dir.join("system-and-run.pem");
    std::fs::write(&system_bundle, format!("{system}\n{}", certified.cert.pem())).unwrap();
    let amazon_bundle = dir.join("amazon-and-run.pem");
    let amazon = std::str::from_utf8(tributary::aws::https::AMAZON_TRUST_SERVICES_ROOTS).unwrap();
    std::fs::write(&amazon_bundle, format!("{amazon}\n{}", certified.cert.pem())).unwrap();
    let port = serve_tls(certified).await;

    println!("| set-up | process ms | config ms | 12 clients ms | first call ms | second call ms |");
    println!("|---|---|---|---|---|---|");
    for mode in MODES {
        let mut samples: Vec<[f64; 5]> = Vec::new();
        for _ in 0..rounds {
            let mut command = std::process::Command::new(std::env::current_exe().unwrap());
            command
                .args(["--child", mode])
                .env_clear()
                .env("AWS_REGION", "us-east-1")
                .env("AWS_ACCESS_KEY_ID", "bench")
                .env("AWS_SECRET_ACCESS_KEY", "bench")
                .env("AWS_ENDPOINT_URL", format!("https://localhost:{port}"))
                .env("AWS_EC2_METADATA_DISABLED", "true");
            match *mode {
                "sdk-default" => command.env("SSL_CERT_FILE", &system_bundle),
                _ => command.env("AWS_CA_BUNDLE", &amazon_bundle),
            };
            let started = Instant::now();
            let output = command.output().expect("the child runs");
            let process_ms = started.elapsed().as_secs_f64() * 1000.0;
            let line = String::from_utf8_lossy(&output.stdout);
            let parts: Vec<f64> = line.split_whitespace().filter_map(|p| p.parse().ok()).collect();
            if !output.status.success() || parts.len() != 4 {
                eprintln!("aws-first-call: {mode} failed: {}{}", line, String::from_utf8_lossy(&output.stderr));
                std::process::exit(1);
            }
            samples.push([process_ms, parts[0], parts[1], parts[2], parts[3]]);
        }
        let median = |i: usize| {
            let mut values: Vec<f64> = samples.iter().map(|s| s[i]).collect();
            values.sort_by(|a, b| a.total_cmp(b));
            values[values.len() / 2]
        };
        println!("| {mode} | {:.1} | {:.2} | {:.2} | {:.1} | {:.2} |", median(0), median(1), median(2), median(3), median(4));
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// One measurement: milliseconds of config, clients, first and second call, on one line.
async fn child(mode: &str) {
    let ms = |since: Instant| since.elapsed().as_secs_f64() * 1000.0;
    let started = Instant::now();
    let config = match mode {
        "sdk-default" => aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await,
        _ => tributary::config::load_aws_config().await,
    };
    let config_ms = ms(started);
    let started = Instant::now();
    let dynamodb = aws_sdk_dynamodb::Client::new(&config);
    let others = (
        aws_sdk_sfn::Client::new(&config),
        aws_sdk_secretsmanager::Client::new(&config),
        aws_sdk_kinesis::Client::new(&config),
        aws_sdk_iam::Client::new(&config),
        aws_sdk_lambda::Client::new(&config),
        aws_sdk_firehose::Client::new(&config),
        aws_sdk_cloudwatch::Client::new(&config),
        aws_sdk_glue::Client::new(&config),
        aws_sdk_lakeformation::Client::new(&config),
        aws_sdk_s3::Client::new(&config),
        aws_sdk_eventbridge::Client::new(&config),
    );
    let clients_ms = ms(started);
    let mut calls = [0.0; 2];
    for call in &mut calls {
        let started = Instant::now();
        dynamodb.list_tables().send().await.unwrap_or_else(|e| panic!("ListTables: {}", aws_smithy_types::error::display::DisplayErrorContext(e)));
        *call = ms(started);
    }
    drop(others);
    println!("{config_ms:.3} {clients_ms:.3} {:.3} {:.3}", calls[0], calls[1]);
    let _ = std::io::stdout().flush();
}

/// A TLS endpoint on 127.0.0.1 that answers every request as DynamoDB's ListTables does.
async fn serve_tls(certified: rcgen::CertifiedKey<rcgen::KeyPair>) -> u16 {
    use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(certified.signing_key.serialize_der()));
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![certified.cert.der().clone()], key)
        .expect("the run's certificate and key");
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                if let Ok(mut stream) = acceptor.accept(socket).await {
                    while answer_one(&mut stream).await.is_some() {}
                }
            });
        }
    });
    port
}

/// Reads one HTTP/1.1 request and answers it; `None` when the connection ends.
async fn answer_one<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(stream: &mut S) -> Option<()> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte).await.ok()? == 0 {
            return None;
        }
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head).to_ascii_lowercase();
    let length: usize = head.lines().find_map(|l| l.strip_prefix("content-length:")).and_then(|v| v.trim().parse().ok()).unwrap_or(0);
    let mut body = vec![0u8; length];
    stream.read_exact(&mut body).await.ok()?;
    let answer = br#"{"TableNames":[]}"#;
    let mut response = format!("HTTP/1.1 200 OK\r\ncontent-type: application/x-amz-json-1.0\r\nx-amzn-requestid: bench\r\ncontent-length: {}\r\n\r\n", answer.len()).into_bytes();
    response.extend_from_slice(answer);
    stream.write_all(&response).await.ok()?;
    stream.flush().await.ok()
}
