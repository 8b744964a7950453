//! `tessera-issuer`: run the issuer service, import the registry, rotate keys, manage the
//! verifiers allowed to fetch portraits.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, Subcommand};
use tessera_face::analysis::FaceAnalyzer;
use tessera_issuer::config::{Clock, Config, SystemClock};
use tessera_issuer::registry::{self, ImportError};

#[derive(Parser)]
#[command(name = "tessera-issuer", version, about = "The Tessera issuer service")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args, Clone)]
struct Storage {
    /// Where keys, the admin token and the SQLite database live.
    #[arg(long, default_value = "tessera-issuer-data")]
    data_dir: PathBuf,
    /// A PostgreSQL URL (postgres://user:pass@host/db); without it, SQLite in --data-dir.
    #[arg(long, env = "TESSERA_DATABASE_URL")]
    database_url: Option<String>,
}

#[derive(Subcommand)]
enum Command {
    /// Runs the HTTP API.
    Serve {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8443")]
        listen: SocketAddr,
        #[command(flatten)]
        storage: Storage,
        /// The base URL clients reach this service at (for status list URIs); defaults to
        /// http://LISTEN.
        #[arg(long)]
        public_url: Option<String>,
        /// Import the bundled demo registry at start (development and demos only).
        #[arg(long)]
        demo_registry: bool,
        /// Credential validity in days.
        #[arg(long, default_value_t = 365)]
        validity_days: u64,
        /// Enrolment/renewal attempts allowed per client IP per hour.
        #[arg(long, default_value_t = 20)]
        attempts_per_ip: u32,
        /// Refused face checks allowed per ID number per hour (junk requests that fail the
        /// cheap checks cost the person nothing).
        #[arg(long, default_value_t = 5)]
        attempts_per_id: u32,
        /// Portrait requests allowed per client per hour.
        #[arg(long, default_value_t = 600)]
        portraits_per_ip: u32,
        /// Days audit records are kept (purged every hour).
        #[arg(long, default_value_t = 400)]
        audit_retention_days: u64,
        /// A reverse proxy whose X-Forwarded-For header is believed (repeatable).
        #[arg(long = "trusted-proxy")]
        trusted_proxies: Vec<std::net::IpAddr>,
        /// One-time credentials per batch tier (lightweight, age only) a person holds:
        /// issued at enrolment and renewal, topped up by refills.
        #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=50))]
        batch_size: u32,
        /// Refills (no face check) allowed per person per day.
        #[arg(long, default_value_t = 24)]
        refills_per_day: u32,
        /// Days a one-time credential is valid (never past the enrolment's end).
        #[arg(long, default_value_t = 90, value_parser = clap::value_parser!(u64).range(1..=366))]
        one_time_validity_days: u64,
        /// TPM key attestation: a directory of trusted TPM manufacturer certificates (PEM
        /// or DER; roots and the intermediates that issue EK certificates). Without it,
        /// wallets' TPM attestations are ignored and every credential says software keys.
        #[arg(long)]
        tpm_roots: Option<std::path::PathBuf>,
    },
    /// Registry administration.
    Registry {
        #[command(subcommand)]
        command: RegistryCommand,
    },
    /// Key administration.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Verifiers (hotel desks, banks) allowed to fetch registry portraits.
    Verifiers {
        #[command(subcommand)]
        command: VerifiersCommand,
    },
    /// Relying parties (websites and apps) registered for Sign in with Tessera.
    Clients {
        #[command(subcommand)]
        command: ClientsCommand,
    },
    /// The audit trail.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Deletes audit records older than the retention period (`serve` does this hourly).
    Purge {
        #[command(flatten)]
        storage: Storage,
        /// Days audit records are kept.
        #[arg(long, default_value_t = 400)]
        retention_days: u64,
    },
}

#[derive(Subcommand)]
enum ClientsCommand {
    /// Registers a relying party and prints its client_id and client_secret as JSON (the
    /// secret is shown once: only its SHA-256 is stored).
    Add {
        #[command(flatten)]
        storage: Storage,
        /// The name people see when it asks them to sign in.
        #[arg(long)]
        name: String,
        /// Its Chinese name.
        #[arg(long)]
        name_zh: Option<String>,
        /// Where the sign-in returns (https, or http only to a loopback address); repeat
        /// for several, all on one host.
        #[arg(long = "redirect-uri", required = true)]
        redirect_uris: Vec<String>,
        /// The highest tier it may ask for: lightweight or upgraded.
        #[arg(long)]
        tier: String,
        /// The claims it may ask for, comma-separated (age_over_18, masked_name, name,
        /// birthdate, gender, id_number); empty for only the pseudonymous sub.
        #[arg(long, default_value = "")]
        claims: String,
    },
    /// Lists the registered relying parties.
    List {
        #[command(flatten)]
        storage: Storage,
    },
    /// Removes a relying party: its sign-ins and codes stop working at once.
    Remove {
        #[command(flatten)]
        storage: Storage,
        /// Its client_id.
        client_id: String,
    },
}

#[derive(Subcommand)]
enum VerifiersCommand {
    /// Registers a verifier and prints its API key once (only its SHA-256 is stored).
    Add {
        #[command(flatten)]
        storage: Storage,
        /// A name for the verifier (shown in the audit log).
        name: String,
    },
    /// Lists the registered verifiers: name, when registered, when last given a portrait.
    List {
        #[command(flatten)]
        storage: Storage,
        /// Print JSON (an array) instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Removes a verifier: its API key is refused from the next request on (a lost or
    /// retired desk).
    Remove {
        #[command(flatten)]
        storage: Storage,
        /// The verifier's name, as given to `add`.
        name: String,
    },
}

#[derive(Subcommand)]
enum RegistryCommand {
    /// Imports a CSV (id_number,full_name,date_of_birth,sex,photo); all rows or none.
    /// People already in the registry with the same data are left as they are; if any row
    /// would change a held record, nothing is imported unless --replace is given.
    Import {
        #[command(flatten)]
        storage: Storage,
        /// Replace the records of people already in the registry (photo, template, name,
        /// birth date, sex); each replacement is written to the audit log.
        #[arg(long)]
        replace: bool,
        /// The CSV file; photo paths are relative to its folder and must stay inside it.
        file: PathBuf,
    },
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Makes a new credential-signing key; the old one stays in the trust list until its
    /// credentials expire. Restart the service to use the new key.
    Rotate {
        /// The data directory.
        #[arg(long, default_value = "tessera-issuer-data")]
        data_dir: PathBuf,
        /// The old keys leaked: end their trust now instead of when their credentials
        /// expire (verifiers refuse those credentials at their next refresh; holders enrol
        /// again).
        #[arg(long)]
        compromised: bool,
    },
}

fn fail(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("tessera-issuer: {message}");
    ExitCode::from(2)
}

fn faces() -> Result<Arc<FaceAnalyzer>, ExitCode> {
    FaceAnalyzer::load()
        .map(Arc::new)
        .map_err(|e| fail(format!("cannot load the face models: {e}")))
}

/// The database `storage` names (created if it is a new SQLite file).
async fn open_store(storage: &Storage) -> Result<tessera_issuer::store::Store, ExitCode> {
    std::fs::create_dir_all(&storage.data_dir)
        .map_err(|e| fail(format!("{}: {e}", storage.data_dir.display())))?;
    let url = storage
        .database_url
        .clone()
        .unwrap_or_else(|| tessera_issuer::default_database_url(&storage.data_dir));
    tessera_issuer::store::Store::connect(&url)
        .await
        .map_err(fail)
}

async fn import(
    storage: &Storage,
    file: &std::path::Path,
    faces: &FaceAnalyzer,
    replace: bool,
) -> Result<tessera_issuer::store::ImportOutcome, ExitCode> {
    let records = registry::read_csv(file, faces).map_err(|e| match e {
        ImportError::Rows(_) | ImportError::File(_) => fail(e),
    })?;
    let store = open_store(storage).await?;
    let outcome = store
        .import_registry_checked(&records, SystemClock.now(), replace)
        .await;
    store.close().await;
    outcome.map_err(fail)
}

async fn run(cli: Cli) -> Result<ExitCode, ExitCode> {
    match cli.command {
        Command::Serve {
            listen,
            storage,
            public_url,
            demo_registry,
            validity_days,
            attempts_per_ip,
            attempts_per_id,
            portraits_per_ip,
            audit_retention_days,
            trusted_proxies,
            batch_size,
            refills_per_day,
            one_time_validity_days,
            tpm_roots,
        } => {
            let tpm_roots = match tpm_roots {
                Some(dir) => {
                    let roots = tessera_tpm_attestation::TrustedRoots::from_dir(&dir)
                        .map_err(|e| fail(format!("--tpm-roots {}: {e}", dir.display())))?;
                    tracing::info!(
                        dir = %dir.display(),
                        certificates = roots.len(),
                        anchors = roots.anchor_count(),
                        "TPM attestation roots loaded"
                    );
                    Some(roots)
                }
                None => None,
            };
            let faces = faces()?;
            if demo_registry {
                let n = import(
                    &storage,
                    &tessera_issuer::demo_registry_csv(),
                    &faces,
                    false,
                )
                .await?
                .added
                .len();
                tracing::info!(people = n, "demo registry imported");
            }
            let config = Config {
                public_url: public_url.unwrap_or_else(|| format!("http://{listen}")),
                credential_validity: Duration::from_secs(validity_days.max(1) * 86_400),
                attempts_per_ip,
                attempts_per_id,
                portraits_per_ip,
                audit_retention: Duration::from_secs(audit_retention_days.max(1) * 86_400),
                trusted_proxies,
                batch_size,
                refills_per_day,
                one_time_validity: Duration::from_secs(one_time_validity_days * 86_400),
                tpm_roots,
                ..Config::default()
            };
            let issuer = tessera_issuer::open(
                &storage.data_dir,
                storage.database_url.as_deref(),
                config,
                Arc::new(SystemClock),
                faces,
            )
            .await
            .map_err(fail)?;
            let listener = tokio::net::TcpListener::bind(listen)
                .await
                .map_err(|e| fail(format!("cannot listen on {listen}: {e}")))?;
            let addr = listener.local_addr().map_err(fail)?;
            tracing::info!(%addr, "listening");
            // Tests and scripts read this line to find an ephemeral port.
            println!("listening on http://{addr}");
            let issuer = Arc::new(issuer);
            tokio::spawn(purge_audit_hourly(issuer.clone()));
            tessera_issuer::api::serve(issuer, listener, shutdown())
                .await
                .map_err(fail)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Registry {
            command:
                RegistryCommand::Import {
                    storage,
                    replace,
                    file,
                },
        } => {
            let faces = faces()?;
            let done = import(&storage, &file, &faces, replace).await?;
            println!(
                "imported {} new registry record(s); replaced {}; unchanged {}",
                done.added.len(),
                done.replaced.len(),
                done.unchanged.len()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Verifiers {
            command: VerifiersCommand::Add { storage, name },
        } => {
            let name = name.trim();
            if !tessera_issuer::service::valid_verifier_name(name) {
                return Err(fail(
                    "the verifier name must be 1-100 bytes of visible text (no control or invisible formatting characters)",
                ));
            }
            let store = open_store(&storage).await?;
            let added = tessera_issuer::service::add_verifier(&store, name, SystemClock.now())
                .await
                .map_err(|p| fail(p.detail.unwrap_or(p.title)))?;
            store.close().await;
            let Some(key) = added else {
                return Err(fail(format!("a verifier named {name:?} already exists")));
            };
            // The only time the key is shown: the issuer keeps its hash.
            println!("{key}");
            eprintln!("verifier {name:?} registered; give it this API key (shown once)");
            Ok(ExitCode::SUCCESS)
        }
        Command::Verifiers {
            command: VerifiersCommand::List { storage, json },
        } => {
            let store = open_store(&storage).await?;
            let rows = store.verifiers().await.map_err(fail)?;
            store.close().await;
            if json {
                println!("{}", serde_json::to_string_pretty(&rows).map_err(fail)?);
            } else if rows.is_empty() {
                eprintln!("no verifiers registered (add one with `tessera-issuer verifiers add`)");
            } else {
                println!("{:<32}  {:<20}  LAST PORTRAIT", "NAME", "REGISTERED");
                for r in rows {
                    let last = r.last_used_at.map_or_else(|| "never".to_owned(), utc);
                    println!("{:<32}  {:<20}  {last}", r.name, utc(r.created_at));
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Verifiers {
            command: VerifiersCommand::Remove { storage, name },
        } => {
            let store = open_store(&storage).await?;
            let removed =
                tessera_issuer::service::remove_verifier(&store, name.trim(), SystemClock.now())
                    .await
                    .map_err(|p| fail(p.detail.unwrap_or(p.title)))?;
            store.close().await;
            if !removed {
                return Err(fail(format!(
                    "no verifier named {:?} (see `tessera-issuer verifiers list`)",
                    name.trim()
                )));
            }
            println!(
                "verifier {:?} removed; its API key is no longer accepted",
                name.trim()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Clients {
            command:
                ClientsCommand::Add {
                    storage,
                    name,
                    name_zh,
                    redirect_uris,
                    tier,
                    claims,
                },
        } => {
            let tier = tessera_oidc::claims::parse_tier(&tier)
                .ok_or_else(|| fail(format!("--tier {tier:?}: use lightweight or upgraded")))?;
            let claims = tessera_oidc::claims::parse_list(&claims).map_err(|unknown| {
                fail(format!(
                    "unknown claim {unknown:?}: use age_over_18, masked_name, name, birthdate, gender or id_number"
                ))
            })?;
            let registration = tessera_oidc::client::Registration {
                name: &name,
                name_zh: name_zh.as_deref(),
                redirect_uris: &redirect_uris,
                tier,
                claims: &claims,
            };
            let store = open_store(&storage).await?;
            let added =
                tessera_issuer::service::add_client(&store, &registration, SystemClock.now()).await;
            store.close().await;
            let new = added.map_err(|p| fail(p.detail.unwrap_or(p.title)))?;
            let c = &new.client;
            let out = serde_json::json!({
                "client_id": c.client_id,
                "client_secret": new.secret.as_str(),
                "name": c.name,
                "name_zh": c.name_zh,
                "redirect_uris": c.redirect_uris,
                "tier": tessera_oidc::claims::tier_name(c.tier),
                "claims": c.claims.iter().map(|c| c.name()).collect::<Vec<_>>(),
                "token_endpoint_auth_method": "client_secret_basic",
            });
            println!("{}", serde_json::to_string_pretty(&out).map_err(fail)?);
            eprintln!(
                "relying party registered; give it the client_id and client_secret (shown once)"
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Clients {
            command: ClientsCommand::List { storage },
        } => {
            let store = open_store(&storage).await?;
            let clients = store.clients().await.map_err(fail)?;
            store.close().await;
            let out: Vec<_> = clients
                .iter()
                .map(|c| {
                    serde_json::json!({
                        "client_id": c.client_id,
                        "name": c.name,
                        "name_zh": c.name_zh,
                        "redirect_uris": c.redirect_uris,
                        "tier": tessera_oidc::claims::tier_name(c.tier),
                        "claims": c.claims.iter().map(|c| c.name()).collect::<Vec<_>>(),
                    })
                })
                .collect();
            println!("{}", serde_json::to_string_pretty(&out).map_err(fail)?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Clients {
            command: ClientsCommand::Remove { storage, client_id },
        } => {
            let store = open_store(&storage).await?;
            let removed =
                tessera_issuer::service::remove_client(&store, client_id.trim(), SystemClock.now())
                    .await;
            store.close().await;
            if !removed.map_err(|p| fail(p.detail.unwrap_or(p.title)))? {
                return Err(fail(format!(
                    "no relying party {:?} (see `tessera-issuer clients list`)",
                    client_id.trim()
                )));
            }
            println!("relying party {:?} removed", client_id.trim());
            Ok(ExitCode::SUCCESS)
        }
        Command::Audit {
            command:
                AuditCommand::Purge {
                    storage,
                    retention_days,
                },
        } => {
            let config = Config {
                audit_retention: Duration::from_secs(retention_days.max(1) * 86_400),
                ..Config::default()
            };
            let store = open_store(&storage).await?;
            let deleted =
                tessera_issuer::purge_expired_audit(&store, &config, SystemClock.now()).await;
            store.close().await;
            println!(
                "deleted {} audit record(s) older than {} days",
                deleted.map_err(fail)?,
                retention_days.max(1)
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Keys {
            command:
                KeysCommand::Rotate {
                    data_dir,
                    compromised,
                },
        } => {
            let now = SystemClock.now();
            let kid = if compromised {
                tessera_issuer::keys::KeyRing::rotate_compromised(&data_dir, now)
            } else {
                tessera_issuer::keys::KeyRing::rotate(&data_dir, now)
            }
            .map_err(fail)?;
            println!("new issuer key {kid}; start the service again to sign with it");
            if compromised {
                println!(
                    "the older keys are no longer trusted: their credentials are refused from the next trust-list refresh, and their holders must enrol again"
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Deletes expired audit records now and every hour after (each replica does; the
/// deletes are idempotent).
async fn purge_audit_hourly(issuer: Arc<tessera_issuer::Issuer>) {
    let mut every = tokio::time::interval(Duration::from_secs(3600));
    loop {
        every.tick().await;
        match tessera_issuer::purge_expired_audit(issuer.store(), &issuer.config, SystemClock.now())
            .await
        {
            Ok(n) => tracing::info!(deleted = n, "audit purge"),
            Err(e) => tracing::error!(error = %e, "audit purge failed"),
        }
    }
}

/// `YYYY-MM-DD HH:MM UTC`.
fn utc(secs: u64) -> String {
    let d = tessera_issuer_api::ids::CivilDate::from_unix(secs);
    let minutes = secs % 86_400 / 60;
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02} UTC",
        d.year,
        d.month,
        d.day,
        minutes / 60,
        minutes % 60
    )
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
    tracing_subscriber::fmt()
        .json()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,sqlx=warn,tract_onnx=error".into()),
        )
        .init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => return fail(format!("cannot start the runtime: {e}")),
    };
    match runtime.block_on(run(Cli::parse())) {
        Ok(code) | Err(code) => code,
    }
}
