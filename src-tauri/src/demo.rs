//! The demo kit built into the app, so a newcomer can enrol without an ID authority or a
//! camera: the issuer library on loopback with a one-person demo registry, and a recording of
//! that person answering liveness actions. Both are marked as demo everywhere the UI shows
//! them. The recording is synthetic frames made from a public-domain NASA portrait (see
//! `crates/face/testdata/liveness/PROVENANCE.md`).

use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tessera_face::analysis::FaceAnalyzer;
use tessera_issuer::{Clock, Config, SystemClock};
use tessera_wallet::trust::TrustAnchor;

macro_rules! frames {
    ($action:literal: $($n:literal),+) => {
        &[$(include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../crates/face/testdata/liveness/astronaut/", $action, "/", $n, ".jpg"
        ))),+]
    };
}

static FRONT: &[&[u8]] = frames!("front": "00", "01", "02", "03");
static LEFT: &[&[u8]] = frames!("left": "00", "01", "02", "03", "04");
static RIGHT: &[&[u8]] = frames!("right": "00", "01", "02", "03", "04");
static BLINK: &[&[u8]] = frames!("blink": "00", "01", "02", "03", "04");

/// The demo person's recorded frames for one liveness action (`front`, `left`, `right`,
/// `blink`); empty for anything else.
pub fn recording(action: &str) -> &'static [&'static [u8]] {
    match action {
        "front" => FRONT,
        "left" => LEFT,
        "right" => RIGHT,
        "blink" => BLINK,
        _ => &[],
    }
}

/// The demo person's ID number (a valid PRC citizen ID in the demo registry).
pub const DEMO_ID_NUMBER: &str = "110101199003071524";

const REGISTRY_CSV: &str = "id_number,full_name,date_of_birth,sex,photo\n\
110101199003071524,王小红,1990-03-07,F,astronaut.jpg\n";
static REGISTRY_PHOTO: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../crates/face/testdata/photos/astronaut.jpg"
));

/// Where the demo issuer listens unless `TESSERA_DEMO_ISSUER_LISTEN` says otherwise; a fixed
/// port keeps the status-list URLs in issued credentials valid across restarts.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:47143";

/// Why the demo issuer could not start.
#[derive(Debug, thiserror::Error)]
pub enum DemoIssuerError {
    /// Files in its data directory.
    #[error("demo issuer files in {path}: {source}")]
    Files {
        /// Where.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The registry.
    #[error("demo registry: {0}")]
    Registry(String),
    /// The issuer library.
    #[error(transparent)]
    Start(#[from] tessera_issuer::StartError),
}

/// Binds the demo issuer's socket now (so its URL is known before the face models load).
pub fn bind(listen: Option<&str>) -> std::io::Result<std::net::TcpListener> {
    bind_or_default(listen, DEFAULT_LISTEN)
}

/// Binds `listen`, or else `default`, or, when something else holds the default (another app
/// instance or program), any free loopback port.
pub fn bind_or_default(
    listen: Option<&str>,
    default: &str,
) -> std::io::Result<std::net::TcpListener> {
    let wanted = listen.unwrap_or(default);
    match std::net::TcpListener::bind(wanted) {
        Ok(l) => Ok(l),
        Err(_) if listen.is_none() => std::net::TcpListener::bind("127.0.0.1:0"),
        Err(e) => Err(e),
    }
}

/// Runs the demo issuer on `listener` until the app exits: SQLite and keys under `data_dir`,
/// the demo registry imported (idempotent).
pub async fn serve(
    listener: std::net::TcpListener,
    data_dir: &Path,
    faces: Arc<FaceAnalyzer>,
    validity: Duration,
    trust_anchor: Arc<OnceLock<TrustAnchor>>,
    shop: Option<std::net::TcpListener>,
) -> Result<(), DemoIssuerError> {
    let files = |source| DemoIssuerError::Files {
        path: data_dir.display().to_string(),
        source,
    };
    let registry_dir = data_dir.join("registry");
    std::fs::create_dir_all(&registry_dir).map_err(files)?;
    std::fs::write(registry_dir.join("registry.csv"), REGISTRY_CSV).map_err(files)?;
    std::fs::write(registry_dir.join("astronaut.jpg"), REGISTRY_PHOTO).map_err(files)?;
    let records = tessera_issuer::registry::read_csv(&registry_dir.join("registry.csv"), &faces)
        .map_err(|e| DemoIssuerError::Registry(e.to_string()))?;
    let addr: SocketAddr = listener.local_addr().map_err(files)?;
    let config = Config {
        issuer_name: "Tessera Demo ID Authority (not a real issuer)".into(),
        public_url: format!("http://{addr}"),
        credential_validity: validity,
        ..Config::default()
    };
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let issuer = tessera_issuer::open(data_dir, None, config, clock.clone(), faces).await?;
    // The wallet's anchor for this issuer, handed over in process (DESIGN §11).
    let anchor = TrustAnchor::from_pem(&issuer.trust_list_key_pem(), "the demo issuer's key")
        .map_err(|e| DemoIssuerError::Registry(e.to_string()))?;
    let _ = trust_anchor.set(anchor);
    issuer
        .store()
        .import_registry(&records, clock.now())
        .await
        .map_err(|e| DemoIssuerError::Registry(e.to_string()))?;
    if let Some(shop) = shop {
        let (store, url) = (issuer.store().clone(), format!("http://{addr}"));
        tokio::spawn(async move {
            if let Err(e) = crate::demo_rp::serve(store, url, shop).await {
                tracing::error!(error = %e, "the demo ticket shop stopped");
            }
        });
    }
    listener.set_nonblocking(true).map_err(files)?;
    let listener = tokio::net::TcpListener::from_std(listener).map_err(files)?;
    tracing::info!(%addr, "demo issuer listening");
    tessera_issuer::api::serve(Arc::new(issuer), listener, std::future::pending())
        .await
        .map_err(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_recording_has_frames_for_every_action_and_they_decode() {
        for action in ["front", "left", "right", "blink"] {
            let frames = recording(action);
            assert!(frames.len() >= 4, "{action}");
            for f in frames {
                tessera_face::source::decode_image_bytes(f).expect("a JPEG");
            }
        }
        assert!(recording("wave").is_empty());
    }

    #[test]
    fn the_demo_id_number_is_valid() {
        tessera_issuer_api::ids::IdNumber::parse(DEMO_ID_NUMBER).expect("valid");
    }
}
