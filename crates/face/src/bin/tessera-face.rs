//! `tessera-face`: compare two face photos, inspect one, list cameras, or replay a liveness
//! answer. Exit codes: 0 yes / ok, 1 no (different people, liveness failed), 2 error.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use serde_json::json;
use tessera_face::analysis::{FaceAnalyzer, FaceError};
use tessera_face::liveness::{Action, Challenge};
use tessera_face::source::{ReplaySource, image_files, load_image_file};
use tessera_face::template::MATCH_THRESHOLD;

#[derive(Parser)]
#[command(
    name = "tessera-face",
    version,
    about = "Face detection, matching and liveness for Tessera"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Are the faces in two photos the same person? Exit 0 yes, 1 no, 2 error.
    Compare {
        /// First photo (JPEG or PNG).
        a: PathBuf,
        /// Second photo.
        b: PathBuf,
    },
    /// The faces in a photo and the capture-quality verdict.
    Detect {
        /// The photo (JPEG or PNG).
        image: PathBuf,
    },
    /// The cameras of this device.
    Cameras,
    /// Replays recorded frames answering a challenge: DIR holds one folder of frames per
    /// action (front/, left/, right/, blink/), played in the order of --actions.
    Liveness {
        /// Folder of recorded frames.
        dir: PathBuf,
        /// The challenge, e.g. front,left,right,blink.
        #[arg(long, value_delimiter = ',', default_value = "front,left,right,blink")]
        actions: Vec<String>,
    },
}

/// Four decimals, printed as written (an f32 widened to f64 would print 0.3630000054836273).
fn round4(x: f32) -> f64 {
    (f64::from(x) * 10_000.0).round() / 10_000.0
}

fn fail(message: String) -> ExitCode {
    eprintln!("tessera-face: {message}");
    ExitCode::from(2)
}

fn analyzer() -> Result<FaceAnalyzer, ExitCode> {
    FaceAnalyzer::load().map_err(|e| fail(format!("cannot load the face models: {e}")))
}

fn template_of(
    analyzer: &FaceAnalyzer,
    path: &Path,
) -> Result<tessera_face::template::Template, ExitCode> {
    let frame = load_image_file(path).map_err(|e| fail(e.to_string()))?;
    match analyzer.template(&frame) {
        Ok(face) => Ok(face.template),
        Err(FaceError::NoFace) => Err(fail(format!("{}: no face found", path.display()))),
        Err(FaceError::MultipleFaces(n)) => Err(fail(format!(
            "{}: {n} faces found; use a photo of one person",
            path.display()
        ))),
        Err(e) => Err(fail(format!("{}: {e}", path.display()))),
    }
}

fn run(cli: Cli) -> Result<ExitCode, ExitCode> {
    match cli.command {
        Command::Compare { a, b } => {
            let analyzer = analyzer()?;
            let ta = template_of(&analyzer, &a)?;
            let tb = template_of(&analyzer, &b)?;
            let similarity = ta.similarity(&tb);
            let same = similarity >= MATCH_THRESHOLD;
            println!(
                "{}",
                json!({
                    "similarity": round4(similarity),
                    "same_person": same,
                    "threshold": round4(MATCH_THRESHOLD),
                })
            );
            Ok(if same {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        Command::Detect { image } => {
            let analyzer = analyzer()?;
            let frame = load_image_file(&image).map_err(|e| fail(e.to_string()))?;
            let (faces, quality) = analyzer
                .quality(&frame)
                .map_err(|e| fail(format!("{}: {e}", image.display())))?;
            let out = json!({
                "width": frame.width,
                "height": frame.height,
                "faces": faces,
                "quality": quality,
            });
            println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
            Ok(ExitCode::SUCCESS)
        }
        Command::Cameras => cameras(),
        Command::Liveness { dir, actions } => {
            let mut parsed = Vec::new();
            for a in &actions {
                parsed.push(match a.as_str() {
                    "front" => Action::Front,
                    "left" => Action::TurnLeft,
                    "right" => Action::TurnRight,
                    "blink" => Action::Blink,
                    other => {
                        return Err(fail(format!(
                            "unknown action {other:?}: use front, left, right, blink"
                        )));
                    }
                });
            }
            let mut files = Vec::new();
            for a in &parsed {
                files.extend(image_files(&dir.join(a.name())).map_err(|e| fail(e.to_string()))?);
            }
            let challenge = Challenge {
                nonce: [0; 16],
                actions: parsed,
                issued_at: 0,
                expires_at: u64::MAX,
            };
            let analyzer = analyzer()?;
            let mut replay = ReplaySource::from_files(files);
            let mut t = 0;
            let verdict = analyzer
                .check_liveness(&challenge, &mut replay, 10_000, &mut || {
                    t += 1;
                    t
                })
                .map_err(|e| fail(e.to_string()))?;
            println!(
                "{}",
                serde_json::to_string_pretty(&verdict).unwrap_or_default()
            );
            Ok(if verdict.passed {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
    }
}

#[cfg(feature = "camera")]
fn cameras() -> Result<ExitCode, ExitCode> {
    let cams = tessera_face::camera::list_cameras().map_err(|e| fail(e.to_string()))?;
    if cams.is_empty() {
        eprintln!("tessera-face: no camera found on this device");
    }
    println!(
        "{}",
        serde_json::to_string_pretty(&json!({ "cameras": cams })).unwrap_or_default()
    );
    Ok(ExitCode::SUCCESS)
}

#[cfg(not(feature = "camera"))]
fn cameras() -> Result<ExitCode, ExitCode> {
    Err(fail(
        "this build has no camera support (feature `camera`)".into(),
    ))
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(code) | Err(code) => code,
    }
}
