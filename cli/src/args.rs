//! The command line: `tributary [--output table|json] <resource> <verb> [ARGS] [--wait]`,
//! and `tributary login` / `logout`.

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
    /// The bearer token; without it, the token `tributary login` stored, else `dev-token`
    /// (the local stack's).
    #[arg(long, env = "TRIBUTARY_TOKEN", global = true, hide_env_values = true)]
    pub token: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    #[command(flatten)]
    Resource(Resource),
    /// Sign in with a browser (OIDC authorization code with PKCE); later commands use the
    /// stored token.
    Login(Login),
    /// Forget the stored sign-in.
    Logout,
}

#[derive(Args, Debug)]
pub struct Login {
    /// The OIDC issuer (default: the local stack's, `<url>/_local/oidc`).
    #[arg(long)]
    pub issuer: Option<String>,
    /// The issuer's public client for the CLI.
    #[arg(long, default_value = "tributary-cli")]
    pub client_id: String,
    /// Only print the sign-in URL; do not open a browser.
    #[arg(long)]
    pub no_browser: bool,
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
    /// What you use of each of your quotas, and their limits.
    Quotas,
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

/// The time window of metrics. Times are ISO-8601, or a duration back from now
/// (`90s`, `30m`, `6h`, `2d`, `1w`).
#[derive(Args, Debug, Default)]
pub struct Window {
    /// Start of the window (default: 3 hours ago).
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// End of the window (default: now).
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,
    /// Seconds per point, a multiple of 60 (or `5m`, `1h`); default: at most 360 points.
    #[arg(long, value_name = "SECONDS")]
    pub period: Option<String>,
}

/// Where in a stream reading starts (Kinesis's shard iterator types).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
#[value(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Position {
    /// The most recent records.
    Newest,
    /// The oldest records the stream still holds.
    TrimHorizon,
    /// From `--timestamp`.
    AtTimestamp,
    /// From `--sequence-number` in `--shard-id`.
    AtSequenceNumber,
}

impl Position {
    pub fn name(self) -> &'static str {
        match self {
            Position::Newest => "NEWEST",
            Position::TrimHorizon => "TRIM_HORIZON",
            Position::AtTimestamp => "AT_TIMESTAMP",
            Position::AtSequenceNumber => "AT_SEQUENCE_NUMBER",
        }
    }
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
    /// Charts of the stream's metrics: incoming records and bytes, throttled writes, utilization.
    Metrics {
        id: String,
        #[command(flatten)]
        window: Window,
    },
    /// The stream's records (the data viewer); `--follow` prints new ones as they arrive.
    Records {
        id: String,
        /// Where to start (default NEWEST: the most recent records). `--timestamp` alone
        /// means AT_TIMESTAMP, `--sequence-number` alone AT_SEQUENCE_NUMBER.
        #[arg(long, value_enum, ignore_case = true)]
        position: Option<Position>,
        /// ISO-8601, or a duration back from now (`10m`).
        #[arg(long, value_name = "TIME")]
        timestamp: Option<String>,
        /// Only this shard (`shardId-000000000000`); with AT_SEQUENCE_NUMBER, the number's shard.
        #[arg(long)]
        shard_id: Option<String>,
        /// From this record of `--shard-id` on (AT_SEQUENCE_NUMBER).
        #[arg(long)]
        sequence_number: Option<String>,
        /// Records per answer (1–100).
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..=100))]
        limit: Option<u32>,
        /// Continue where an earlier answer ended (the token holds the position).
        #[arg(long, conflicts_with_all = ["follow", "position", "timestamp", "shard_id", "sequence_number"])]
        next_token: Option<String>,
        /// Keep reading and print each new record as it arrives, until Ctrl-C.
        #[arg(long)]
        follow: bool,
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
    /// The deployed version's files (their text; `--json` for the whole answer).
    Code {
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
    /// Dry run on records: each line of a CSV or JSON-lines file, or a sample of the
    /// stream's records; of the saved code, or of code not saved yet (`--code`).
    #[command(group(clap::ArgGroup::new("input").required(true).args(["file", "sample"])))]
    Test {
        stream: String,
        id: String,
        /// The records, one per line.
        file: Option<PathBuf>,
        /// The file's first line is a header, not a record.
        #[arg(long, conflicts_with = "sample")]
        header: bool,
        /// Test on this many of the stream's records (1–500), read as `streams records` reads.
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=500))]
        sample: Option<u32>,
        /// Where the sample starts (default NEWEST).
        // `conflicts_with` the file rather than `requires` the sample: clap does not hold
        // `requires` against a member of a group (`input`).
        #[arg(long, value_enum, ignore_case = true, conflicts_with = "file")]
        position: Option<Position>,
        /// The sample's start with AT_TIMESTAMP: ISO-8601, or a duration back from now.
        #[arg(long, value_name = "TIME", conflicts_with = "file")]
        timestamp: Option<String>,
        /// Test this code instead of the saved one: a .zip, a source file, or a folder.
        #[arg(long)]
        code: Option<PathBuf>,
        /// `module.function` of `--code` (default: the saved one).
        #[arg(long, requires = "code")]
        handler: Option<String>,
        /// The runtime of `--code` (default: the saved one).
        #[arg(long, requires = "code")]
        runtime: Option<String>,
        /// Also run the saved code and show each record before and after, and how many changed.
        #[arg(long, requires = "code")]
        compare: bool,
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
        /// Of the delivered objects: UNCOMPRESSED, GZIP, ZIP, Snappy or HADOOP_SNAPPY (Redshift: GZIP only).
        #[arg(long)]
        compression: Option<String>,
        /// Inside Parquet files, when records are converted to Parquet: SNAPPY, GZIP or UNCOMPRESSED.
        #[arg(long)]
        parquet_compression: Option<String>,
        /// Dynamic partitioning by a key from each record: NAME=JQ-QUERY (e.g. sector=.sector); repeatable.
        #[arg(long = "partition-key", value_name = "NAME=QUERY")]
        partition_keys: Vec<String>,
        /// Dynamic partitioning also by the transform's metadata.partitionKeys.
        #[arg(long)]
        partition_from_transform: bool,
        /// Where each partition goes under the dataset (default: NAME=!{partitionKeyFromQuery:NAME}/ per key).
        #[arg(long)]
        partition_prefix: Option<String>,
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
    /// Charts of the consumer's metrics: records read, delivered, dropped and failed, bytes, freshness, lag.
    Metrics {
        stream: String,
        id: String,
        #[command(flatten)]
        window: Window,
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
