//! `tributary`: the command line of the Tributary API (design §8). Exit codes: 0 done,
//! 1 the job failed (its error printed), 2 a usage error, 3 the API refused (each problem
//! field printed) or could not be reached.

mod args;
mod calls;
mod client;
mod code;
mod output;
mod wait;

use args::{Cli, Output};
use clap::Parser;
use std::io::IsTerminal;
use std::process::ExitCode;

const JOB_FAILED: u8 = 1;
const USAGE: u8 = 2;
const API_ERROR: u8 = 3;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let cli = Cli::parse(); // exits 2 on a usage error
    let call = match calls::call_of(&cli.resource) {
        Ok(call) => call,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(USAGE);
        }
    };
    let client = client::Client::new(&cli.url, &cli.token);
    let print = |answer: &serde_json::Value, view: &calls::View| match cli.output {
        Output::Json => println!("{}", output::json(answer)),
        Output::Table => println!("{}", output::table(answer, view)),
    };
    let answer = match client.send(&call).await {
        Ok(answer) => answer,
        Err(error) => {
            eprintln!("{}", error.report());
            return ExitCode::from(API_ERROR);
        }
    };
    // The job a change started (202), or the job asked for (`jobs wait`).
    let job_id = answer["Job"]["JobId"].as_str().or_else(|| answer["JobId"].as_str()).map(str::to_string);
    let Some(job_id) = job_id.filter(|_| call.wait) else {
        print(&answer, &call.view);
        return ExitCode::SUCCESS;
    };
    let job = match wait::until_done(&client, &job_id, std::io::stderr().is_terminal()).await {
        Ok(job) => job,
        Err(error) => {
            eprintln!("{}", error.report());
            return ExitCode::from(API_ERROR);
        }
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
