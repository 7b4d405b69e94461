//! Files the commands read: a transform's code (zipped when it is not a zip) and the
//! records of a dry run.

use base64::Engine;
use serde_json::{json, Value};
use std::io::Write;
use std::path::Path;

/// `{"ZipFile": base64}` of a .zip as it is, of a source file zipped under its name, or of
/// a folder zipped with its files at the archive's root.
pub fn zip_file(path: &Path) -> Result<Value, String> {
    let bytes = if path.is_dir() {
        zip_folder(path)?
    } else if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("zip")) {
        std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?
    } else {
        let name = path.file_name().and_then(|n| n.to_str()).ok_or_else(|| format!("{}: not a file name", path.display()))?;
        let content = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        zip_entries(vec![(name.to_string(), content)])?
    };
    Ok(json!({ "ZipFile": base64::engine::general_purpose::STANDARD.encode(bytes) }))
}

fn zip_folder(root: &Path) -> Result<Vec<u8>, String> {
    let mut entries = Vec::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(folder) = pending.pop() {
        let listing = std::fs::read_dir(&folder).map_err(|e| format!("{}: {e}", folder.display()))?;
        for entry in listing {
            let path = entry.map_err(|e| format!("{}: {e}", folder.display()))?.path();
            if path.is_dir() {
                pending.push(path);
            } else {
                let name = path.strip_prefix(root).expect("walked from the root").to_string_lossy().replace('\\', "/");
                entries.push((name, std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?));
            }
        }
    }
    if entries.is_empty() {
        return Err(format!("{}: the folder holds no files", root.display()));
    }
    entries.sort();
    zip_entries(entries)
}

fn zip_entries(entries: Vec<(String, Vec<u8>)>) -> Result<Vec<u8>, String> {
    let mut archive = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (name, content) in entries {
        archive.start_file(name, options).map_err(|e| e.to_string())?;
        archive.write_all(&content).map_err(|e| e.to_string())?;
    }
    Ok(archive.finish().map_err(|e| e.to_string())?.into_inner())
}

/// Each non-empty line of a CSV or JSON-lines file, as the record's text.
pub fn records_of(path: &Path, header: bool) -> Result<Vec<String>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let records: Vec<String> = text.lines().skip(usize::from(header)).filter(|l| !l.trim().is_empty()).map(str::to_string).collect();
    if records.is_empty() {
        return Err(format!("{}: no records in the file", path.display()));
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn names_in(zip: &Value) -> Vec<(String, String)> {
        let bytes = base64::engine::general_purpose::STANDARD.decode(zip["ZipFile"].as_str().unwrap()).unwrap();
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
        (0..archive.len())
            .map(|i| {
                let mut file = archive.by_index(i).unwrap();
                let mut content = String::new();
                file.read_to_string(&mut content).unwrap();
                (file.name().unwrap().to_string(), content)
            })
            .collect()
    }

    #[test]
    fn given_a_folder_or_a_file_when_zipped_then_the_files_sit_at_the_root() {
        let folder = std::env::temp_dir().join(format!("tributary-cli-zip-{}", std::process::id()));
        std::fs::create_dir_all(folder.join("lib")).unwrap();
        std::fs::write(folder.join("filter.py"), "def handler(e, c): pass\n").unwrap();
        std::fs::write(folder.join("lib/util.py"), "X = 1\n").unwrap();
        assert_eq!(
            names_in(&zip_file(&folder).unwrap()),
            vec![("filter.py".into(), "def handler(e, c): pass\n".into()), ("lib/util.py".into(), "X = 1\n".into())]
        );
        assert_eq!(names_in(&zip_file(&folder.join("lib/util.py")).unwrap()), vec![("util.py".into(), "X = 1\n".into())]);
        std::fs::remove_dir_all(&folder).unwrap();
    }

    #[test]
    fn given_a_csv_with_a_header_when_read_then_each_other_line_is_a_record() {
        let file = std::env::temp_dir().join(format!("tributary-cli-records-{}.csv", std::process::id()));
        std::fs::write(&file, "symbol,price\nAMZN,1\n\nMSFT,2\n").unwrap();
        assert_eq!(records_of(&file, true).unwrap(), vec!["AMZN,1", "MSFT,2"]);
        assert_eq!(records_of(&file, false).unwrap().len(), 3);
        std::fs::remove_file(&file).unwrap();
    }
}
