//! Firehose's `CompressionFormat` for the objects it writes to S3 (design §10): the
//! containers, their object-name extensions and `Content-Encoding`s, as Firehose writes them
//! (`../shared/notes/dataplane.md` §2.3), and reading them back by their extension.
//!
//! - `GZIP`: one gzip stream, `.gz`, `gzip`.
//! - `ZIP`: a zip archive holding one deflated entry named with a UUID, `.zip`, `zip`.
//! - `Snappy`: snappy-java's stream (`SnappyOutputStream`): a 16-byte header, then chunks of
//!   up to 32 KiB of input as [compressed length, 4 bytes big-endian][raw Snappy], `.snappy`,
//!   `snappy-java`.
//! - `HADOOP_SNAPPY`: Hadoop's block format: blocks of up to 256 KiB of input as
//!   [input length][compressed length][raw Snappy] (both 4 bytes big-endian). Firehose names
//!   it `.snappy` too (a probe found `.hsnappy` in the docs but not in S3), `hadoop-snappy`.

use serde::{Deserialize, Serialize};
use std::io::{Read, Write};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Compression {
    #[default]
    #[serde(rename = "UNCOMPRESSED")]
    Uncompressed,
    #[serde(rename = "GZIP")]
    Gzip,
    #[serde(rename = "ZIP")]
    Zip,
    #[serde(rename = "Snappy")]
    Snappy,
    #[serde(rename = "HADOOP_SNAPPY")]
    HadoopSnappy,
}

/// snappy-java's stream header: its magic, then version 1 and the oldest compatible, 1.
const SNAPPY_JAVA_HEADER: [u8; 16] = [0x82, b'S', b'N', b'A', b'P', b'P', b'Y', 0, 0, 0, 0, 1, 0, 0, 0, 1];
/// snappy-java's default block size.
const SNAPPY_JAVA_BLOCK: usize = 32 * 1024;
/// Hadoop's `io.compression.codec.snappy.buffersize` default.
const HADOOP_SNAPPY_BLOCK: usize = 256 * 1024;

impl Compression {
    pub const ALL: [Compression; 5] = [Compression::Uncompressed, Compression::Gzip, Compression::Zip, Compression::Snappy, Compression::HadoopSnappy];

    /// The name Firehose's API uses (`CompressionFormat`), which the API takes too.
    pub fn as_str(self) -> &'static str {
        match self {
            Compression::Uncompressed => "UNCOMPRESSED",
            Compression::Gzip => "GZIP",
            Compression::Zip => "ZIP",
            Compression::Snappy => "Snappy",
            Compression::HadoopSnappy => "HADOOP_SNAPPY",
        }
    }

    pub fn parse(name: &str) -> Option<Compression> {
        Compression::ALL.into_iter().find(|c| c.as_str() == name)
    }

    /// What Firehose appends to an object's name.
    pub fn extension(self) -> &'static str {
        match self {
            Compression::Uncompressed => "",
            Compression::Gzip => ".gz",
            Compression::Zip => ".zip",
            Compression::Snappy | Compression::HadoopSnappy => ".snappy",
        }
    }

    /// The object's `Content-Encoding`.
    pub fn content_encoding(self) -> Option<&'static str> {
        match self {
            Compression::Uncompressed => None,
            Compression::Gzip => Some("gzip"),
            Compression::Zip => Some("zip"),
            Compression::Snappy => Some("snappy-java"),
            Compression::HadoopSnappy => Some("hadoop-snappy"),
        }
    }

    /// An object's body made of `data`.
    pub fn compress(self, data: &[u8]) -> Vec<u8> {
        match self {
            Compression::Uncompressed => data.to_vec(),
            Compression::Gzip => {
                let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
                encoder.write_all(data).expect("writing to memory");
                encoder.finish().expect("writing to memory")
            }
            Compression::Zip => {
                let mut archive = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
                let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
                archive.start_file(uuid::Uuid::new_v4().to_string(), options).expect("writing to memory");
                archive.write_all(data).expect("writing to memory");
                archive.finish().expect("writing to memory").into_inner()
            }
            Compression::Snappy => {
                let mut out = SNAPPY_JAVA_HEADER.to_vec();
                for chunk in data.chunks(SNAPPY_JAVA_BLOCK) {
                    let compressed = raw_snappy(chunk);
                    out.extend((compressed.len() as u32).to_be_bytes());
                    out.extend(compressed);
                }
                out
            }
            Compression::HadoopSnappy => {
                let mut out = Vec::new();
                for block in data.chunks(HADOOP_SNAPPY_BLOCK) {
                    let compressed = raw_snappy(block);
                    out.extend((block.len() as u32).to_be_bytes());
                    out.extend((compressed.len() as u32).to_be_bytes());
                    out.extend(compressed);
                }
                out
            }
        }
    }

    /// The compression an object's name says it has (Firehose's extensions).
    pub fn of_key(key: &str) -> Compression {
        if key.ends_with(".gz") {
            Compression::Gzip
        } else if key.ends_with(".zip") {
            Compression::Zip
        } else if key.ends_with(".snappy") || key.ends_with(".hsnappy") {
            Compression::Snappy
        } else {
            Compression::Uncompressed
        }
    }

    /// An object's name without its compression's extension.
    pub fn strip_extension(key: &str) -> &str {
        [".gz", ".zip", ".snappy", ".hsnappy"].iter().find_map(|extension| key.strip_suffix(extension)).unwrap_or(key)
    }

    /// The data of a body compressed this way; both Snappy formats share `.snappy`, so
    /// snappy-java's header tells them apart.
    pub fn decompress(self, body: &[u8]) -> Result<Vec<u8>, String> {
        match self {
            Compression::Uncompressed => Ok(body.to_vec()),
            Compression::Gzip => {
                let mut data = Vec::new();
                flate2::read::MultiGzDecoder::new(body).read_to_end(&mut data).map_err(|e| format!("not gzip: {e}"))?;
                Ok(data)
            }
            Compression::Zip => {
                let mut archive = zip::ZipArchive::new(std::io::Cursor::new(body)).map_err(|e| format!("not a zip archive: {e}"))?;
                let mut data = Vec::new();
                for i in 0..archive.len() {
                    archive.by_index(i).and_then(|mut entry| Ok(entry.read_to_end(&mut data)?)).map_err(|e| e.to_string())?;
                }
                Ok(data)
            }
            Compression::Snappy | Compression::HadoopSnappy => {
                let decoded = match body.strip_prefix(&SNAPPY_JAVA_HEADER[..8]) {
                    Some(_) => snappy_java(&body[SNAPPY_JAVA_HEADER.len().min(body.len())..]),
                    None => hadoop_snappy(body),
                };
                decoded.ok_or_else(|| "not Snappy as Firehose writes it".to_string())
            }
        }
    }
}

/// The compression inside the Parquet files Firehose converts records to
/// (`ParquetSerDe.Compression`); the object around them stays UNCOMPRESSED.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum ParquetCompression {
    #[default]
    Snappy,
    Gzip,
    Uncompressed,
}

impl ParquetCompression {
    pub const ALL: [ParquetCompression; 3] = [ParquetCompression::Snappy, ParquetCompression::Gzip, ParquetCompression::Uncompressed];

    pub fn as_str(self) -> &'static str {
        match self {
            ParquetCompression::Snappy => "SNAPPY",
            ParquetCompression::Gzip => "GZIP",
            ParquetCompression::Uncompressed => "UNCOMPRESSED",
        }
    }

    pub fn parse(name: &str) -> Option<ParquetCompression> {
        ParquetCompression::ALL.into_iter().find(|c| c.as_str() == name)
    }
}

fn raw_snappy(input: &[u8]) -> Vec<u8> {
    snap::raw::Encoder::new().compress_vec(input).expect("a block below snappy's limit")
}

/// The data of an object Firehose wrote under `key`, as its extension says it is compressed.
pub fn decompress_object(key: &str, body: &[u8]) -> Result<Vec<u8>, String> {
    Compression::of_key(key).decompress(body).map_err(|e| format!("{key}: {e}"))
}

fn be_u32(bytes: &[u8], at: usize) -> Option<usize> {
    Some(u32::from_be_bytes(bytes.get(at..at + 4)?.try_into().ok()?) as usize)
}

fn snappy_java(mut chunks: &[u8]) -> Option<Vec<u8>> {
    let mut data = Vec::new();
    let mut decoder = snap::raw::Decoder::new();
    while !chunks.is_empty() {
        let length = be_u32(chunks, 0)?;
        data.extend(decoder.decompress_vec(chunks.get(4..4 + length)?).ok()?);
        chunks = &chunks[4 + length..];
    }
    Some(data)
}

fn hadoop_snappy(mut blocks: &[u8]) -> Option<Vec<u8>> {
    let mut data = Vec::new();
    let mut decoder = snap::raw::Decoder::new();
    while !blocks.is_empty() {
        let expected = be_u32(blocks, 0)?;
        blocks = &blocks[4..];
        let start = data.len();
        // A block's input may have been compressed in several pieces.
        while data.len() - start < expected {
            let length = be_u32(blocks, 0)?;
            data.extend(decoder.decompress_vec(blocks.get(4..4 + length)?).ok()?);
            blocks = &blocks[4 + length..];
        }
        if data.len() - start != expected {
            return None;
        }
    }
    Some(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(count: usize) -> Vec<u8> {
        (0..count).flat_map(|i| format!("AAPL,{i}.5,{},TECHNOLOGY\n", i * 7).into_bytes()).collect()
    }

    #[test]
    fn every_format_reads_back_what_it_wrote_under_its_extension() {
        // across several snappy-java chunks and Hadoop blocks
        let data = lines(20_000);
        assert!(data.len() > 2 * HADOOP_SNAPPY_BLOCK);
        for compression in Compression::ALL {
            let key = format!("datasets/d/2026/12/06/05/tributary-c-1-2026-12-06-05-00-00-id{}", compression.extension());
            let body = compression.compress(&data);
            assert_eq!(decompress_object(&key, &body).unwrap(), data, "{compression:?}");
            if compression != Compression::Uncompressed {
                assert!(body.len() < data.len() / 2, "{compression:?} compresses: {} of {}", body.len(), data.len());
            }
        }
    }

    #[test]
    fn the_containers_are_firehoses() {
        let data = lines(3);
        assert_eq!(&Compression::Gzip.compress(&data)[..2], [0x1f, 0x8b]);
        assert_eq!(&Compression::Zip.compress(&data)[..4], b"PK\x03\x04");
        let snappy = Compression::Snappy.compress(&data);
        assert_eq!(snappy[..16], SNAPPY_JAVA_HEADER);
        assert_eq!(be_u32(&snappy, 16), Some(snappy.len() - 20), "one chunk: its length, then it");
        let hadoop = Compression::HadoopSnappy.compress(&data);
        assert_eq!((be_u32(&hadoop, 0), be_u32(&hadoop, 4)), (Some(data.len()), Some(hadoop.len() - 8)));
        let mut zip = zip::ZipArchive::new(std::io::Cursor::new(Compression::Zip.compress(&data))).unwrap();
        assert_eq!(zip.len(), 1);
        assert_eq!(zip.by_index(0).unwrap().compression(), zip::CompressionMethod::Deflated);
    }

    #[test]
    fn names_and_encodings_are_firehoses() {
        assert_eq!(Compression::parse("Snappy"), Some(Compression::Snappy));
        assert_eq!(Compression::parse("SNAPPY"), None, "case matters, as in Firehose");
        assert_eq!(serde_json::to_value(Compression::HadoopSnappy).unwrap(), "HADOOP_SNAPPY");
        assert_eq!((Compression::Gzip.extension(), Compression::Gzip.content_encoding()), (".gz", Some("gzip")));
        assert_eq!((Compression::HadoopSnappy.extension(), Compression::HadoopSnappy.content_encoding()), (".snappy", Some("hadoop-snappy")));
        assert_eq!(serde_json::to_value(ParquetCompression::Gzip).unwrap(), "GZIP");
        assert_eq!(ParquetCompression::parse("SNAPPY"), Some(ParquetCompression::default()));
        assert_eq!(Compression::of_key("errors/x/processing-failed/2026/12/06/05/f-1-2026-12-06-05-00-00-id"), Compression::Uncompressed);
        assert_eq!(Compression::strip_extension("a/f-1-id.gz"), "a/f-1-id");
        assert_eq!(Compression::strip_extension("a/f-1-id"), "a/f-1-id");
    }

    #[test]
    fn a_damaged_object_is_an_error_naming_it() {
        for (key, body) in [("k.gz", b"not gzip".to_vec()), ("k.zip", b"PK".to_vec()), ("k.snappy", vec![0, 0, 0, 9, 0, 0, 0, 50, 1])] {
            assert!(decompress_object(key, &body).unwrap_err().starts_with(key), "{key}");
        }
    }
}
