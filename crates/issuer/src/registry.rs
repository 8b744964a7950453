//! Registry import: a CSV of `id_number,full_name,date_of_birth,sex,photo` (UTF-8, date
//! `YYYY-MM-DD`, sex `M`/`F`, photo path relative to the CSV). Every row is checked —
//! the ID number's check character, that its embedded birth date and sex agree with the
//! columns, and that the photo shows exactly one usable face — and a file with any bad row
//! imports nothing.
//!
//! Photo paths are confined to the CSV's folder: relative, without `..`, and still inside
//! it once symbolic links are resolved. A CSV from elsewhere cannot make the issuer read
//! (and store as a registry photo) any file the operator's account can read.

use std::path::{Component, Path, PathBuf};

use sha2::{Digest, Sha256};
use tessera_face::analysis::{FaceAnalyzer, FaceError};
use tessera_face::source::decode_image_bytes;

use crate::ids::{CivilDate, IdNumber};
use crate::store::RegistryRecord;

/// Largest registry photo file accepted.
pub const MAX_PHOTO_BYTES: u64 = 10 * 1024 * 1024;

/// A row that cannot be imported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    /// The line in the file (1 is the header).
    pub line: u64,
    /// What is wrong, for a person to fix.
    pub message: String,
}

impl std::fmt::Display for RowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// Why an import failed.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The file cannot be read at all.
    #[error("{0}")]
    File(String),
    /// Some rows are bad; nothing was imported.
    #[error("{} bad row(s); nothing was imported:\n{}", .0.len(), .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Rows(Vec<RowError>),
}

const HEADER: [&str; 5] = ["id_number", "full_name", "date_of_birth", "sex", "photo"];

/// Reads and checks every row of `csv_path`; returns the records only if all are good.
pub fn read_csv(csv_path: &Path, faces: &FaceAnalyzer) -> Result<Vec<RegistryRecord>, ImportError> {
    let folder = csv_path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let base = folder
        .canonicalize()
        .map_err(|e| ImportError::File(format!("{}: {e}", folder.display())))?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .trim(csv::Trim::All)
        .from_path(csv_path)
        .map_err(|e| ImportError::File(format!("{}: {e}", csv_path.display())))?;
    let headers = reader
        .headers()
        .map_err(|e| ImportError::File(format!("{}: {e}", csv_path.display())))?
        .clone();
    if headers.iter().collect::<Vec<_>>() != HEADER {
        return Err(ImportError::File(format!(
            "{}: the header must be exactly {}",
            csv_path.display(),
            HEADER.join(",")
        )));
    }
    let mut records = Vec::new();
    let mut errors = Vec::new();
    let mut seen = std::collections::HashMap::new();
    for row in reader.records() {
        let row = match row {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                errors.push(RowError {
                    line,
                    message: format!("not a valid CSV row: {e}"),
                });
                continue;
            }
        };
        let line = row.position().map_or(0, |p| p.line());
        match check_row(&row, &base, faces) {
            Ok(r) => {
                if let Some(first) = seen.insert(r.id_number.clone(), line) {
                    errors.push(RowError {
                        line,
                        message: format!("ID number {} is already on line {first}", r.id_number),
                    });
                } else {
                    records.push(r);
                }
            }
            Err(message) => errors.push(RowError { line, message }),
        }
    }
    if !errors.is_empty() {
        return Err(ImportError::Rows(errors));
    }
    if records.is_empty() {
        return Err(ImportError::File(format!(
            "{}: no rows to import",
            csv_path.display()
        )));
    }
    Ok(records)
}

fn check_row(
    row: &csv::StringRecord,
    base: &Path,
    faces: &FaceAnalyzer,
) -> Result<RegistryRecord, String> {
    if row.len() != HEADER.len() {
        return Err(format!("expected 5 columns, found {}", row.len()));
    }
    let id = IdNumber::parse(&row[0]).map_err(|e| format!("id_number: {e}"))?;
    let full_name = row[1].to_owned();
    if full_name.is_empty() || full_name.chars().count() > 100 {
        return Err("full_name: must be 1 to 100 characters".into());
    }
    if full_name.chars().any(char::is_control) {
        return Err("full_name: contains control characters".into());
    }
    let dob = CivilDate::parse_iso(&row[2])
        .ok_or_else(|| format!("date_of_birth: {:?} is not a date YYYY-MM-DD", &row[2]))?;
    if dob != id.birth_date() {
        return Err(format!(
            "date_of_birth {} does not match the birth date in the ID number ({})",
            &row[2],
            id.birth_date().compact()
        ));
    }
    let sex = match &row[3] {
        "M" => "M",
        "F" => "F",
        other => return Err(format!("sex: {other:?} must be M or F")),
    };
    if (sex == "M") != id.is_male() {
        return Err(format!(
            "sex {sex} does not match the ID number (its 17th digit is {} for {})",
            if id.is_male() { "odd" } else { "even" },
            if id.is_male() { "men" } else { "women" }
        ));
    }
    let photo_path = confined(base, &row[4])?;
    let size = std::fs::metadata(&photo_path)
        .map_err(|e| format!("photo {}: {e}", &row[4]))?
        .len();
    if size > MAX_PHOTO_BYTES {
        return Err(format!("photo {}: larger than 10 MiB", &row[4]));
    }
    let photo = std::fs::read(&photo_path).map_err(|e| format!("photo {}: {e}", &row[4]))?;
    let frame = decode_image_bytes(&photo).map_err(|e| format!("photo {}: {e}", &row[4]))?;
    let template = match faces.template(&frame) {
        Ok(face) => face.template,
        Err(FaceError::NoFace) => return Err(format!("photo {}: no face found", &row[4])),
        Err(FaceError::MultipleFaces(n)) => {
            return Err(format!(
                "photo {}: {n} faces found; a registry photo shows one person",
                &row[4]
            ));
        }
        Err(e) => return Err(format!("photo {}: {e}", &row[4])),
    };
    Ok(RegistryRecord {
        id_number: id.as_str().to_owned(),
        full_name,
        date_of_birth: dob.compact(),
        sex: sex.to_owned(),
        photo_sha256: Sha256::digest(&photo).to_vec(),
        photo,
        template: template.to_bytes(),
    })
}

/// `relative` inside the (canonical) folder `base`, or why not.
fn confined(base: &Path, relative: &str) -> Result<PathBuf, String> {
    let path = Path::new(relative);
    if relative.is_empty() {
        return Err("photo: empty path".into());
    }
    if !path
        .components()
        .all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
    {
        return Err(format!(
            "photo {relative}: must be a path inside the CSV's folder (no absolute path, no ..)"
        ));
    }
    let full = base
        .join(path)
        .canonicalize()
        .map_err(|e| format!("photo {relative}: {e}"))?;
    if !full.starts_with(base) {
        return Err(format!(
            "photo {relative}: a symbolic link leads outside the CSV's folder"
        ));
    }
    Ok(full)
}
