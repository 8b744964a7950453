//! The demo ticket shop beside the demo issuer (demo builds only): a relying party that
//! signs in with Tessera through the third-party `openidconnect` library
//! (`tessera-demo-rp`), so a newcomer running `./scripts/run.sh` can open it in a browser and
//! sign in with the app. Registered at the demo issuer on every start (its redirect URI
//! names the port it got), as the authority would register a real one.

use std::sync::Arc;
use std::time::Duration;

use tessera_credential::claims::Tier;
use tessera_demo_rp::rp::RelyingParty;
use tessera_demo_rp::shop::{Shop, router};
use tessera_oidc::claims::Claim;
use tessera_oidc::client::Registration;

/// Where the shop listens unless `TESSERA_DEMO_RP_LISTEN` says otherwise.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:47180";

/// The shop's registration at the demo issuer: what it may ask for.
const CLAIMS: [Claim; 2] = [Claim::AgeOver18, Claim::MaskedName];

/// Binds the shop's port (any free loopback port when the default one is taken).
pub fn bind(listen: Option<&str>) -> std::io::Result<std::net::TcpListener> {
    crate::demo::bind_or_default(listen, DEFAULT_LISTEN)
}

/// Registers the shop at the demo issuer whose store is `store` and serves it on `listener`
/// once the issuer at `issuer_url` answers discovery. Runs until the app exits.
pub async fn serve(
    store: tessera_issuer::store::Store,
    issuer_url: String,
    listener: std::net::TcpListener,
) -> Result<(), String> {
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let redirect = format!("http://{addr}/callback");
    let uris = [redirect.clone()];
    let registration = Registration {
        name: "Demo ticket shop",
        name_zh: Some("演示票务"),
        redirect_uris: &uris,
        tier: Tier::Lightweight,
        claims: &CLAIMS,
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    // Earlier starts' registrations (other ports) go: only this one may receive codes.
    for old in store.clients().await.map_err(|e| e.to_string())? {
        if old.name == registration.name {
            let _ = tessera_issuer::service::remove_client(&store, &old.client_id, now).await;
        }
    }
    let new = tessera_issuer::service::add_client(&store, &registration, now)
        .await
        .map_err(|p| p.detail.unwrap_or(p.title))?;
    let mut tries = 0;
    let rp = loop {
        match RelyingParty::discover(&issuer_url, &new.client.client_id, &new.secret, &redirect)
            .await
        {
            Ok(rp) => break rp,
            Err(e) if tries < 100 => {
                tries += 1;
                tracing::debug!(error = %e, "waiting for the demo issuer");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => return Err(e.to_string()),
        }
    };
    listener.set_nonblocking(true).map_err(|e| e.to_string())?;
    let listener = tokio::net::TcpListener::from_std(listener).map_err(|e| e.to_string())?;
    let scopes = CLAIMS.iter().map(|c| c.name().to_owned()).collect();
    tracing::info!(url = %format!("http://{addr}/"), "demo ticket shop: open it in a browser to sign in with Tessera");
    axum::serve(listener, router(Arc::new(Shop::new(rp, scopes))))
        .await
        .map_err(|e| e.to_string())
}
