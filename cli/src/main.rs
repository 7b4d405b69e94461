//! `tributary`: the command line of the Tributary API (design §8). Exit codes: 0 done,
//! 1 the job failed (its error printed), 2 a usage error, 3 the API refused (each problem
//! field printed) or could not be reached, or signing in failed.

mod args;
mod calls;
mod chart;
mod client;
mod code;
mod credentials;
mod follow;
mod login;
mod oidc;
mod output;
mod wait;
mod when;

use args::{Cli, Command, Output, Resource};
use clap::Parser;
use std::io::IsTerminal;
use std::process::ExitCode;

const JOB_FAILED: u8 = 1;
const USAGE: u8 = 2;
const API_ERROR: u8 = 3;

/// The local stack's token, when none is given and nobody signed in.
const LOCAL_TOKEN: &str = "dev-token";

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let cli = Cli::parse(); // exits 2 on a usage error
    let signing = match &cli.command {
        Command::Resource(resource) => return run(&cli, resource).await,
        Command::Login(login) => login::sign_in(login, &cli.url).await.map(|_| ()),
        Command::Logout => login::sign_out().await,
    };
    match signing {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::from(API_ERROR)
        }
    }
}

/// Where the bearer token came from: an API refusing a stored sign-in calls for a new one.
#[derive(PartialEq)]
enum TokenSource {
    Given,
    SignIn,
    Local,
}

/// `--token` / `TRIBUTARY_TOKEN` (an empty one counts as none); else the stored sign-in's
/// access token, refreshed (and stored again) when it has expired; else the local stack's.
async fn bearer_token(cli: &Cli) -> Result<(String, TokenSource), String> {
    if let Some(token) = cli.token.as_ref().filter(|t| !t.is_empty()) {
        return Ok((token.clone(), TokenSource::Given));
    }
    let Ok(path) = credentials::path() else { return Ok((LOCAL_TOKEN.into(), TokenSource::Local)) };
    let Some(stored) = credentials::load(&path)? else { return Ok((LOCAL_TOKEN.into(), TokenSource::Local)) };
    if !credentials::needs_refresh(stored.expires_at, time::OffsetDateTime::now_utc()) {
        return Ok((stored.access_token, TokenSource::SignIn));
    }
    let refreshed = oidc::refresh(&reqwest::Client::new(), &stored).await?;
    credentials::save(&path, &refreshed)?;
    Ok((refreshed.access_token, TokenSource::SignIn))
}

/// The width of the terminal standard output prints to; none when it goes elsewhere.
fn terminal_width() -> Option<usize> {
    console::Term::stdout().size_checked().map(|(_rows, columns)| usize::from(columns))
}

async fn run(cli: &Cli, resource: &Resource) -> ExitCode {
    let call = match calls::call_of(resource) {
        Ok(call) => call,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(USAGE);
        }
    };
    let (token, source) = match bearer_token(cli).await {
        Ok(token) => token,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(API_ERROR);
        }
    };
    let client = client::Client::new(&cli.url, &token);
    let api_error = |error: client::ApiError| {
        eprintln!("{}", error.report());
        if matches!(error, client::ApiError::Refused { status: 401, .. }) && source == TokenSource::SignIn {
            eprintln!("  the stored sign-in was refused: run `tributary login` again");
        }
        ExitCode::from(API_ERROR)
    };
    let width = terminal_width();
    let print = |answer: &serde_json::Value, view: &calls::View| match cli.output {
        Output::Json => println!("{}", output::json(answer)),
        Output::Table => println!("{}", output::table(answer, view, width)),
    };
    if call.follow {
        let following = follow::follow(&client, call, cli.output, width);
        return tokio::select! {
            ended = following => ended.map_or_else(api_error, |()| ExitCode::SUCCESS),
            _ = tokio::signal::ctrl_c() => ExitCode::SUCCESS,
        };
    }
    let answer = match client.send(&call).await {
        Ok(answer) => answer,
        Err(error) => return api_error(error),
    };
    // The job a change started (202), or the job asked for (`jobs wait`).
    let job_id = answer["Job"]["JobId"].as_str().or_else(|| answer["JobId"].as_str()).map(str::to_string);
    let Some(job_id) = job_id.filter(|_| call.wait) else {
        print(&answer, &call.view);
        return ExitCode::SUCCESS;
    };
    let job = match wait::until_done(&client, &job_id, std::io::stderr().is_terminal()).await {
        Ok(job) => job,
        Err(error) => return api_error(error),
    };
    // The change's answer with the job as it ended (one document), or the job alone.
    let shown = match answer.get("Job") {
        Some(_) => {
            let mut answer = answer.clone();
            answer["Job"] = job.clone();
            answer
        }
        None => job.clone(),
    };
    print(&shown, &calls::View::Object);
    if job["Status"] == "FAILED" {
        eprintln!("error: job {job_id} failed: {} {}", job["Error"]["Code"].as_str().unwrap_or(""), job["Error"]["Message"].as_str().unwrap_or(""));
        return ExitCode::from(JOB_FAILED);
    }
    ExitCode::SUCCESS
}
