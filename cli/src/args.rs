//! The command line: `tributary [--output table|json] <resource> <verb> [ARGS] [--wait]`.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(name = "tributary", version, about = "Streams, transforms, consumers, datasets and jobs of a Tributary API")]
pub struct Cli {
    /// How answers are printed.
    #[arg(long, value_enum, default_value_t = Output::Table, global = true)]
    pub output: Output,
    /// The API's base URL.
    #[arg(long, env = "TRIBUTARY_URL", default_value = "http://127.0.0.1:3000", global = true)]
    pub url: String,
    /// The bearer token.
    #[arg(long, env = "TRIBUTARY_TOKEN", default_value = "dev-token", global = true, hide_env_values = true)]
    pub token: String,
    #[command(subcommand)]
    pub resource: Resource,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Output {
    Table,
    Json,
}

#[derive(Subcommand, Debug)]
pub enum Resource {
    /// Kinesis streams, their producer credentials, status and cost.
    Streams {
        #[command(subcommand)]
        verb: StreamVerb,
    },
    /// Transformation functions of a stream.
    Transforms {
        #[command(subcommand)]
        verb: TransformVerb,
    },
    /// Consumers (delivery streams) of a stream, their health, failed records, redrive and replay.
    Consumers {
        #[command(subcommand)]
        verb: ConsumerVerb,
    },
    /// Datasets consumers deliver to.
    Datasets {
        #[command(subcommand)]
        verb: DatasetVerb,
    },
    /// Jobs: the asynchronous changes.
    Jobs {
        #[command(subcommand)]
        verb: JobVerb,
    },
}

/// Waiting for the job a change starts.
#[derive(Args, Debug, Default)]
pub struct Wait {
    /// Wait until the job ends, showing its progress.
    #[arg(long)]
    pub wait: bool,
}

/// Members of the request body the flags do not cover.
#[derive(Args, Debug, Default)]
pub struct Extra {
    /// A body member, `Key=Value`; the value is read as JSON when it parses, else as text
    /// (`--set Tags='{"team":"a"}'`, `--set Description=hello`).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
}

/// Paging of a list.
#[derive(Args, Debug, Default)]
pub struct Page {
    #[arg(long)]
    pub limit: Option<u32>,
    #[arg(long)]
    pub next_token: Option<String>,
}

/// Optimistic concurrency of a change.
#[derive(Args, Debug, Default)]
pub struct IfMatch {
    /// Only if the resource is still at this Version (else 412).
    #[arg(long)]
    pub if_match: Option<u64>,
}

#[derive(Subcommand, Debug)]
pub enum StreamVerb {
    List {
        #[command(flatten)]
        page: Page,
    },
    Get {
        id: String,
    },
    Create {
        name: String,
        #[arg(long)]
        shard_count: Option<u32>,
        /// PROVISIONED or ON_DEMAND.
        #[arg(long)]
        mode: Option<String>,
        /// Hours (24–8760).
        #[arg(long)]
        retention: Option<u32>,
        #[arg(long)]
        description: Option<String>,
        #[command(flatten)]
        extra: Extra,
        #[command(flatten)]
        wait: Wait,
    },
    Update {
        id: String,
        #[arg(long)]
        shard_count: Option<u32>,
        #[arg(long)]
        mode: Option<String>,
        #[arg(long)]
        retention: Option<u32>,
        #[arg(long)]
        description: Option<String>,
        #[command(flatten)]
        if_match: IfMatch,
        #[command(flatten)]
        extra: Extra,
        #[command(flatten)]
        wait: Wait,
    },
    Delete {
        id: String,
        #[command(flatten)]
        if_match: IfMatch,
        #[command(flatten)]
        wait: Wait,
    },
    /// What a producer needs: a key pair, the stream's name, ARN, Region and endpoint.
    Credentials {
        id: String,
    },
    /// A new producer key; the old one stops working when its overlap ends.
    Rotate {
        id: String,
        #[command(flatten)]
        wait: Wait,
    },
    /// The stream's producer keys.
    Keys {
        id: String,
    },
    /// The datasets the stream's consumers deliver to.
    Datasets {
        id: String,
    },
    Status {
        id: String,
    },
    Cost {
        id: String,
    },
    /// Bring the stream back to what Tributary recorded.
    Repair {
        id: String,
        #[command(flatten)]
        wait: Wait,
    },
}

#[derive(Subcommand, Debug)]
pub enum TransformVerb {
    List {
        stream: String,
        #[command(flatten)]
        page: Page,
    },
    Get {
        stream: String,
        id: String,
    },
    Create {
        stream: String,
        /// The function's name.
        name: String,
        /// `module.function`.
        #[arg(long)]
        handler: String,
        /// A .zip, a source file, or a folder (zipped for you).
        #[arg(long)]
        code: PathBuf,
        #[arg(long)]
        runtime: Option<String>,
        #[arg(long)]
        memory: Option<u32>,
        #[arg(long)]
        timeout: Option<u32>,
        #[command(flatten)]
        extra: Extra,
        #[command(flatten)]
        wait: Wait,
    },
    Update {
        stream: String,
        id: String,
        #[arg(long)]
        handler: Option<String>,
        #[arg(long)]
        code: Option<PathBuf>,
        #[arg(long)]
        runtime: Option<String>,
        #[arg(long)]
        memory: Option<u32>,
        #[arg(long)]
        timeout: Option<u32>,
        #[command(flatten)]
        if_match: IfMatch,
        #[command(flatten)]
        extra: Extra,
        #[command(flatten)]
        wait: Wait,
    },
    Delete {
        stream: String,
        id: String,
        #[command(flatten)]
        if_match: IfMatch,
        #[command(flatten)]
        wait: Wait,
    },
    /// Dry run: each line of a CSV or JSON-lines file is one record.
    Test {
        stream: String,
        id: String,
        file: PathBuf,
        /// The file's first line is a header, not a record.
        #[arg(long)]
        header: bool,
    },
    Repair {
        stream: String,
        id: String,
        #[command(flatten)]
        wait: Wait,
    },
}

#[derive(Subcommand, Debug)]
pub enum ConsumerVerb {
    List {
        stream: String,
        #[command(flatten)]
        page: Page,
    },
    Get {
        stream: String,
        id: String,
    },
    Create {
        stream: String,
        name: String,
        /// s3, s3athena, lakeformation or redshift.
        #[arg(long)]
        target: String,
        /// An existing dataset to deliver to.
        #[arg(long, conflicts_with = "create_dataset")]
        dataset: Option<String>,
        /// Create a dataset of this name for the consumer.
        #[arg(long)]
        create_dataset: Option<String>,
        /// The new dataset's domain.
        #[arg(long, requires = "create_dataset")]
        domain: Option<String>,
        /// The new dataset's file type (csv, parquet…).
        #[arg(long, requires = "create_dataset")]
        file_type: Option<String>,
        /// A transform of the stream that records go through first.
        #[arg(long)]
        transform: Option<String>,
        /// MiB (1–128).
        #[arg(long)]
        buffer_size: Option<u32>,
        /// Seconds (0–900).
        #[arg(long)]
        buffer_interval: Option<u32>,
        #[command(flatten)]
        extra: Extra,
        #[command(flatten)]
        wait: Wait,
    },
    Update {
        stream: String,
        id: String,
        #[arg(long)]
        transform: Option<String>,
        #[arg(long)]
        buffer_size: Option<u32>,
        #[arg(long)]
        buffer_interval: Option<u32>,
        #[command(flatten)]
        if_match: IfMatch,
        #[command(flatten)]
        extra: Extra,
        #[command(flatten)]
        wait: Wait,
    },
    Delete {
        stream: String,
        id: String,
        #[command(flatten)]
        if_match: IfMatch,
        #[command(flatten)]
        wait: Wait,
    },
    /// Health, throughput, lag and failures.
    Status {
        stream: String,
        id: String,
    },
    /// Records that failed, from the error objects.
    FailedRecords {
        stream: String,
        id: String,
        /// ProcessingFailed, FormatConversionFailed or DeliveryFailed.
        #[arg(long)]
        error_type: Option<String>,
        #[command(flatten)]
        page: Page,
    },
    /// Send failed records through again.
    Redrive {
        stream: String,
        id: String,
        #[command(flatten)]
        extra: Extra,
        #[command(flatten)]
        wait: Wait,
    },
    /// Deliver again what the stream still holds between two times (ISO-8601).
    Replay {
        stream: String,
        id: String,
        #[arg(long)]
        from: String,
        #[arg(long)]
        to: String,
        #[command(flatten)]
        extra: Extra,
        #[command(flatten)]
        wait: Wait,
    },
    Repair {
        stream: String,
        id: String,
        #[command(flatten)]
        wait: Wait,
    },
}

#[derive(Subcommand, Debug)]
pub enum DatasetVerb {
    List {
        #[command(flatten)]
        page: Page,
    },
    Get {
        id: String,
    },
    Create {
        name: String,
        #[arg(long)]
        domain: String,
        #[arg(long)]
        target: String,
        #[arg(long)]
        file_type: String,
        #[arg(long)]
        description: Option<String>,
        #[command(flatten)]
        extra: Extra,
        #[command(flatten)]
        wait: Wait,
    },
    Update {
        id: String,
        #[arg(long)]
        description: Option<String>,
        /// NONE or ADD_COLUMNS.
        #[arg(long)]
        schema_evolution: Option<String>,
        #[command(flatten)]
        extra: Extra,
        #[command(flatten)]
        wait: Wait,
    },
    Delete {
        id: String,
        #[command(flatten)]
        wait: Wait,
    },
    Repair {
        id: String,
        #[command(flatten)]
        wait: Wait,
    },
}

#[derive(Subcommand, Debug)]
pub enum JobVerb {
    List {
        /// Only the jobs of this resource.
        #[arg(long)]
        resource_id: Option<String>,
        #[command(flatten)]
        page: Page,
    },
    Get {
        id: String,
    },
    /// Wait until the job ends, showing its progress.
    Wait {
        id: String,
    },
}
