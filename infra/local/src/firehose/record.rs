//! Records on their way through a delivery stream: what failed, and where Firehose puts it.

use tributary::firehose::processing::SourceRecord;

/// The error outputs Firehose writes under `!{firehose:error-output-type}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ErrorOutput {
    ProcessingFailed,
    FormatConversionFailed,
    /// Dynamic partitioning could not give the record a partition.
    MetadataExtractionFailed,
    /// An Iceberg table refused the record.
    IcebergFailed,
}

impl ErrorOutput {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorOutput::ProcessingFailed => "processing-failed",
            ErrorOutput::FormatConversionFailed => "format-conversion-failed",
            ErrorOutput::MetadataExtractionFailed => "metadata-extraction-failed",
            ErrorOutput::IcebergFailed => "iceberg-failed",
        }
    }
}

/// One failed record, as Firehose writes it under the error prefix.
#[derive(Clone, Debug)]
pub struct Failure {
    pub output: ErrorOutput,
    pub record: SourceRecord,
    pub code: String,
    pub message: String,
    pub attempts: u32,
}

impl Failure {
    pub fn conversion(record: SourceRecord, code: &str, message: &str) -> Failure {
        Failure { output: ErrorOutput::FormatConversionFailed, record, code: code.into(), message: message.into(), attempts: 1 }
    }

    pub fn partitioning(record: SourceRecord, code: &str, message: &str) -> Failure {
        Failure { output: ErrorOutput::MetadataExtractionFailed, record, code: code.into(), message: message.into(), attempts: 1 }
    }

    pub fn iceberg(record: SourceRecord, code: &str, message: &str) -> Failure {
        Failure { output: ErrorOutput::IcebergFailed, record, code: code.into(), message: message.into(), attempts: 1 }
    }

    pub fn processing(record: SourceRecord, code: &str, message: &str, attempts: u32) -> Failure {
        Failure { output: ErrorOutput::ProcessingFailed, record, code: code.into(), message: message.into(), attempts }
    }
}
