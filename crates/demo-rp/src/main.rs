//! `tessera-demo-rp`: the demo ticket shop. Register it at the issuer first
//! (`tessera-issuer clients add … --redirect-uri http://127.0.0.1:PORT/callback`), then give
//! it the client id and secret.

use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use tessera_demo_rp::rp::RelyingParty;
use tessera_demo_rp::shop::{Shop, router};

#[derive(Parser)]
#[command(
    name = "tessera-demo-rp",
    version,
    about = "A demo ticket shop that signs in with Tessera"
)]
struct Cli {
    /// The Tessera issuer (the OpenID provider).
    #[arg(
        long,
        env = "TESSERA_ISSUER_URL",
        default_value = "http://127.0.0.1:8443"
    )]
    issuer: String,
    /// The client id the issuer registered.
    #[arg(long, env = "TESSERA_DEMO_RP_CLIENT_ID")]
    client_id: String,
    /// The client secret (from the environment, so it is not in the process list).
    #[arg(long, env = "TESSERA_DEMO_RP_CLIENT_SECRET", hide_env_values = true)]
    client_secret: String,
    /// Where to listen.
    #[arg(long, default_value = "127.0.0.1:8090")]
    listen: String,
    /// The claims to ask for (scopes), comma-separated.
    #[arg(long, default_value = "age_over_18,masked_name")]
    claims: String,
}

async fn run(cli: Cli) -> Result<(), String> {
    let listener = tokio::net::TcpListener::bind(&cli.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", cli.listen))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let redirect = format!("http://{addr}/callback");
    let rp = RelyingParty::discover(&cli.issuer, &cli.client_id, &cli.client_secret, &redirect)
        .await
        .map_err(|e| e.to_string())?;
    let scopes = cli
        .claims
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    eprintln!("demo ticket shop on http://{addr}/");
    axum::serve(listener, router(Arc::new(Shop::new(rp, scopes))))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .map_err(|e| e.to_string())
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("tessera-demo-rp: cannot start: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(run(Cli::parse())) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tessera-demo-rp: {e}");
            ExitCode::from(2)
        }
    }
}
