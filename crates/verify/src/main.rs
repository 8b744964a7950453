//! `tessera-verify`: check a Tessera ID QR code from the command line.
//!
//! Exit codes: 0 valid, 1 invalid (including a QR that cannot be parsed), 2 usage or I/O.

use std::io::Read;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tessera_credential::{StatusLists, Tier, VerifyOptions};
use tessera_verify::{Report, UsageError};

#[derive(Parser)]
#[command(name = "tessera-verify", version, about = "Check Tessera ID QR codes")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Verify one QR code and print a JSON verdict.
    Check {
        /// Issuer public key (SPKI PEM) or a signed trust list.
        #[arg(long, value_name = "FILE")]
        trust: String,
        /// The trust-list public key (SPKI PEM), when --trust is a signed trust list.
        #[arg(long, value_name = "FILE")]
        trust_list_key: Option<String>,
        /// Status List Token files (CWT) to check revocation against; repeatable.
        #[arg(long, value_name = "FILE")]
        status: Vec<String>,
        /// Refuse when no status list covers the credential.
        #[arg(long)]
        require_status: bool,
        /// The tier this venue requires.
        #[arg(long, value_name = "TIER")]
        tier: Option<Tier>,
        /// Verify as of this time (Unix seconds) instead of now.
        #[arg(long, value_name = "UNIX_SECONDS")]
        at: Option<u64>,
        /// Allowed clock difference, in seconds.
        #[arg(long, default_value_t = tessera_credential::verify::DEFAULT_SKEW)]
        skew: u64,
        /// QR text, a PNG/JPEG image file holding the QR, or - for QR text on standard input.
        input: String,
    },
}

enum Failure {
    Usage(String),
}

impl From<UsageError> for Failure {
    fn from(e: UsageError) -> Failure {
        Failure::Usage(e.to_string())
    }
}

fn read_file(path: &str) -> Result<Vec<u8>, Failure> {
    // A file larger than this is not a key, a list or a photo of a QR code.
    const LIMIT: u64 = 64 << 20;
    let meta = std::fs::metadata(path).map_err(|e| Failure::Usage(format!("{path}: {e}")))?;
    if meta.len() > LIMIT {
        return Err(Failure::Usage(format!("{path}: larger than 64 MiB")));
    }
    std::fs::read(path).map_err(|e| Failure::Usage(format!("{path}: {e}")))
}

fn read_text_file(path: &str) -> Result<String, Failure> {
    String::from_utf8(read_file(path)?)
        .map_err(|_| Failure::Usage(format!("{path}: not UTF-8 text")))
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn run(cli: Cli) -> Result<Report, Failure> {
    let Command::Check {
        trust,
        trust_list_key,
        status,
        require_status,
        tier,
        at,
        skew,
        input,
    } = cli.command;
    let key_pem = trust_list_key.as_deref().map(read_text_file).transpose()?;
    let trust_list = tessera_verify::load_trust(&trust, &read_file(&trust)?, key_pem.as_deref())?;
    let now = at.unwrap_or_else(now);
    let mut lists = StatusLists::default();
    for path in &status {
        tessera_verify::load_status_list(&mut lists, path, &read_file(path)?, &trust_list, now)?;
    }
    let options = VerifyOptions {
        skew,
        required_tier: tier,
        require_status,
        ..VerifyOptions::at(now)
    };
    let text = if input == "-" {
        let mut buf = Vec::new();
        std::io::stdin()
            .take(1 << 20)
            .read_to_end(&mut buf)
            .map_err(|e| Failure::Usage(format!("standard input: {e}")))?;
        // Not UTF-8 cannot be a QR text; let the decoder say so.
        String::from_utf8_lossy(&buf).into_owned()
    } else if input.starts_with(tessera_credential::QR_PREFIX) {
        input
    } else if std::path::Path::new(&input).exists() {
        let bytes = read_file(&input)?;
        if !tessera_verify::is_image(&bytes) {
            return Err(Failure::Usage(format!(
                "{input}: not a PNG or JPEG image (give QR text directly, or - to read it from standard input)"
            )));
        }
        match tessera_verify::qr_text_from_image(&input, &bytes)? {
            Ok(text) => text,
            Err(message) => return Ok(Report::no_qr(message)),
        }
    } else if looks_like_a_path(&input) {
        return Err(Failure::Usage(format!("{input}: no such file")));
    } else {
        input
    };
    Ok(tessera_verify::check_text(
        &text,
        &trust_list,
        &options,
        &lists,
    ))
}

fn looks_like_a_path(s: &str) -> bool {
    let lower = s.to_ascii_lowercase();
    // A URL read from some other QR code is text to refuse, not a file to look for.
    !s.contains("://")
        && (s.contains(std::path::MAIN_SEPARATOR)
            || [".png", ".jpg", ".jpeg", ".txt"]
                .iter()
                .any(|ext| lower.ends_with(ext)))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(report) => {
            match serde_json::to_string_pretty(&report) {
                Ok(json) => println!("{json}"),
                Err(e) => {
                    eprintln!("tessera-verify: cannot print the verdict: {e}");
                    return ExitCode::from(2);
                }
            }
            eprintln!("{}", report.summary());
            match report {
                Report::Valid { .. } => ExitCode::SUCCESS,
                Report::Invalid { .. } => ExitCode::from(1),
            }
        }
        Err(Failure::Usage(message)) => {
            eprintln!("tessera-verify: {message}");
            ExitCode::from(2)
        }
    }
}
