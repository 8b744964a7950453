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
        /// The lowest tier this venue takes: age_only, lightweight or upgraded (in this
        /// order); a code of a lower tier is refused (tier_requirement_not_met).
        #[arg(long, value_name = "TIER")]
        tier: Option<Tier>,
        /// Take only this tier (repeatable), e.g. --accept age_only where no name may be
        /// seen: a code of another tier is refused (tier_not_accepted) and its claims are
        /// not printed.
        #[arg(long, value_name = "TIER")]
        accept: Vec<Tier>,
        /// Verify as of this time (Unix seconds) instead of now.
        #[arg(long, value_name = "UNIX_SECONDS")]
        at: Option<u64>,
        /// Allowed clock difference, in seconds.
        #[arg(long, default_value_t = tessera_credential::verify::DEFAULT_SKEW)]
        skew: u64,
        /// QR text, a PNG/JPEG image file holding the QR, or - for QR text on standard input.
        input: String,
    },
    /// Run the front-desk web page and API.
    Serve {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: std::net::SocketAddr,
        /// Where the desk database, the list cache and the issuer API key file live.
        #[arg(long, default_value = "tessera-desk-data")]
        data_dir: std::path::PathBuf,
        /// The issuer's base URL (trust list, status lists, portraits).
        #[arg(long)]
        issuer: Option<String>,
        /// The venue policy (TOML); without it, the defaults.
        #[arg(long, value_name = "FILE")]
        venue_policy: Option<std::path::PathBuf>,
    },
    /// Staff accounts of the front desk.
    Staff {
        #[command(subcommand)]
        command: StaffCommand,
    },
}

#[derive(Subcommand)]
enum StaffCommand {
    /// Adds a staff member (or sets a new password), reading the password from standard
    /// input. A new password ends that name's sessions.
    Add {
        /// The desk's data directory.
        #[arg(long, default_value = "tessera-desk-data")]
        data_dir: std::path::PathBuf,
        /// The staff member's login name.
        name: String,
    },
    /// Removes a staff member and ends their sessions at once.
    Remove {
        /// The desk's data directory.
        #[arg(long, default_value = "tessera-desk-data")]
        data_dir: std::path::PathBuf,
        /// The staff member's login name.
        name: String,
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
    let command = cli.command;
    let Command::Check {
        trust,
        trust_list_key,
        status,
        require_status,
        tier,
        accept,
        at,
        skew,
        input,
    } = command
    else {
        return Err(Failure::Usage("not a check command".into()));
    };
    if let Some(required) = tier
        && let Some(below) = accept.iter().find(|t| **t < required)
    {
        return Err(Failure::Usage(format!(
            "--accept {} is below --tier {}: no code of it could pass",
            below.name(),
            required.name()
        )));
    }
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
    Ok(tessera_verify::check_text(&text, &trust_list, &options, &lists).accept_only(&accept))
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

fn runtime() -> Result<tokio::runtime::Runtime, ExitCode> {
    tokio::runtime::Runtime::new().map_err(|e| {
        eprintln!("tessera-verify: cannot start the runtime: {e}");
        ExitCode::from(2)
    })
}

fn desk_fail(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("tessera-verify: {message}");
    ExitCode::from(2)
}

async fn serve(
    listen: std::net::SocketAddr,
    data_dir: std::path::PathBuf,
    issuer: Option<String>,
    venue_policy: Option<std::path::PathBuf>,
) -> Result<(), ExitCode> {
    use tessera_verify::desk;
    let policy = match venue_policy {
        Some(path) => desk::VenuePolicy::load(&path).map_err(desk_fail)?,
        None => desk::VenuePolicy::default(),
    };
    let d = desk::Desk::open(&data_dir, issuer, policy, desk::system_clock())
        .await
        .map_err(desk_fail)?;
    let now = d.now();
    if d.cache.has_issuer()
        && let Err(e) = d.cache.refresh(now).await
    {
        tracing::warn!(error = %e, "first refresh failed; verifying from the cache");
    }
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| desk_fail(format!("cannot listen on {listen}: {e}")))?;
    let addr = listener.local_addr().map_err(desk_fail)?;
    tracing::info!(%addr, "listening");
    // Tests and scripts read this line to find an ephemeral port.
    println!("listening on http://{addr}");
    desk::serve(std::sync::Arc::new(d), listener, shutdown())
        .await
        .map_err(desk_fail)
}

async fn add_staff(data_dir: std::path::PathBuf, name: String) -> Result<(), ExitCode> {
    use tessera_verify::desk;
    let name = name.trim().to_owned();
    if name.is_empty() || name.chars().count() > 64 || name.chars().any(char::is_control) {
        return Err(desk_fail(
            "the staff name must be 1-64 printable characters",
        ));
    }
    let mut password = String::new();
    std::io::stdin()
        .take(1024)
        .read_to_string(&mut password)
        .map_err(|e| desk_fail(format!("standard input: {e}")))?;
    let password = password.trim_end_matches(['\r', '\n']);
    let phc = desk::auth::hash_password(password).map_err(desk_fail)?;
    std::fs::create_dir_all(&data_dir)
        .map_err(|e| desk_fail(format!("{}: {e}", data_dir.display())))?;
    let store = desk::store::DeskStore::open(&data_dir)
        .await
        .map_err(desk_fail)?;
    let now = desk::system_clock()();
    store.set_staff(&name, &phc, now).await.map_err(desk_fail)?;
    store.close().await;
    eprintln!("staff member {name:?} saved");
    Ok(())
}

async fn remove_staff(data_dir: std::path::PathBuf, name: String) -> Result<(), ExitCode> {
    use tessera_verify::desk;
    if !data_dir.join("desk.sqlite3").exists() {
        return Err(desk_fail(format!(
            "{}: no desk database here",
            data_dir.display()
        )));
    }
    let store = desk::store::DeskStore::open(&data_dir)
        .await
        .map_err(desk_fail)?;
    let removed = store.remove_staff(name.trim()).await.map_err(desk_fail)?;
    store.close().await;
    if !removed {
        return Err(desk_fail(format!("there is no staff member {name:?}")));
    }
    eprintln!("staff member {name:?} removed; their sessions have ended");
    Ok(())
}

async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve {
            listen,
            data_dir,
            issuer,
            venue_policy,
        } => {
            tracing_subscriber::fmt()
                .json()
                .with_writer(std::io::stderr)
                .with_env_filter(
                    tracing_subscriber::EnvFilter::try_from_default_env()
                        .unwrap_or_else(|_| "info,sqlx=warn".into()),
                )
                .init();
            return match runtime()
                .and_then(|rt| rt.block_on(serve(listen, data_dir, issuer, venue_policy)))
            {
                Ok(()) => ExitCode::SUCCESS,
                Err(code) => code,
            };
        }
        Command::Staff {
            command: StaffCommand::Add { data_dir, name },
        } => {
            return match runtime().and_then(|rt| rt.block_on(add_staff(data_dir, name))) {
                Ok(()) => ExitCode::SUCCESS,
                Err(code) => code,
            };
        }
        Command::Staff {
            command: StaffCommand::Remove { data_dir, name },
        } => {
            return match runtime().and_then(|rt| rt.block_on(remove_staff(data_dir, name))) {
                Ok(()) => ExitCode::SUCCESS,
                Err(code) => code,
            };
        }
        Command::Check { .. } => {}
    }
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
