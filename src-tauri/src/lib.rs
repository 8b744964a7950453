//! Tessera's wallet app: the Tauri v2 shell around the web UI in `ui/`.
//!
//! Commands stay thin: they translate between the webview and `tessera-wallet`, and each one
//! is gated by a permission in `capabilities/` (see `build.rs`). The shell must never send the
//! web layer more than a screen shows (no keys, no credentials beyond the QR text, no full
//! name or ID number), never load remote content, and never write frames to disk.
//!
//! Environment (for support staff and tests; the settings screen covers people's needs):
//! `TESSERA_DATA_DIR` (instead of the platform's app-data folder), `TESSERA_KEYSTORE_SERVICE`,
//! `TESSERA_ISSUER_URL`, `TESSERA_FRAMES` (`camera` or `demo`),
//! `TESSERA_DEMO_ISSUER_LISTEN`, `TESSERA_DEMO_RP_LISTEN`, `TESSERA_DEMO_VALIDITY_DAYS`.

pub mod capture;
pub mod commands;
#[cfg(feature = "demo")]
pub mod demo;
#[cfg(feature = "demo")]
pub mod demo_rp;
pub mod error;
pub mod scan;
pub mod sign_in;
pub mod state;

use std::path::PathBuf;

use tauri::Manager as _;

use crate::capture::FramesMode;
use crate::state::{AppState, DemoIssuer, KEYSTORE_SERVICE};

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// Where frames come from at start: `TESSERA_FRAMES`, else a camera if one is found.
fn frames_mode() -> FramesMode {
    match env("TESSERA_FRAMES").as_deref() {
        #[cfg(feature = "demo")]
        Some("demo") => return FramesMode::DemoRecording,
        Some("camera") => return FramesMode::Camera,
        _ => {}
    }
    #[cfg(feature = "camera")]
    if tessera_face::camera::list_cameras().is_ok_and(|c| !c.is_empty()) {
        return FramesMode::Camera;
    }
    FramesMode::None
}

fn data_dir(app: &tauri::App) -> PathBuf {
    env("TESSERA_DATA_DIR").map_or_else(
        || {
            app.path()
                .app_data_dir()
                .unwrap_or_else(|_| std::env::temp_dir().join("tessera"))
        },
        PathBuf::from,
    )
}

fn setup(app: &mut tauri::App) -> Result<(), Box<dyn std::error::Error>> {
    let data_dir = data_dir(app);
    std::fs::create_dir_all(&data_dir)?;
    let settings = state::Settings::load(&data_dir.join("settings.json"));
    let env_issuer_url = env("TESSERA_ISSUER_URL")
        .as_deref()
        .and_then(state::normalised_issuer_url);
    if let Some(url) = &env_issuer_url {
        // Refuse to start rather than quietly use another issuer than the one asked for.
        state::check_issuer_url(url).map_err(|why| format!("TESSERA_ISSUER_URL: {why}"))?;
    }
    // The demo issuer runs only when no issuer is configured. Its socket is bound now so
    // its URL is known at once; it answers once the face models are loaded.
    #[cfg(feature = "demo")]
    let demo_listener = if settings.issuer_url.is_none() && env_issuer_url.is_none() {
        match demo::bind(env("TESSERA_DEMO_ISSUER_LISTEN").as_deref()) {
            Ok(l) => Some(l),
            Err(e) => {
                tracing::error!(error = %e, "the demo issuer cannot listen");
                None
            }
        }
    } else {
        None
    };
    // The demo ticket shop (a relying party for Sign in with Tessera) beside the demo issuer.
    #[cfg(feature = "demo")]
    let shop_listener = demo_listener.as_ref().and_then(|_| {
        demo_rp::bind(env("TESSERA_DEMO_RP_LISTEN").as_deref())
            .inspect_err(|e| tracing::error!(error = %e, "the demo ticket shop cannot listen"))
            .ok()
    });
    #[cfg(feature = "demo")]
    let demo_issuer = demo_listener
        .as_ref()
        .and_then(|l| l.local_addr().ok())
        .map(|addr| DemoIssuer {
            url: format!("http://{addr}"),
            trust_anchor: Default::default(),
        });
    #[cfg(feature = "demo")]
    let demo_anchor = demo_issuer.as_ref().map(|d| d.trust_anchor.clone());
    #[cfg(not(feature = "demo"))]
    let demo_issuer: Option<DemoIssuer> = {
        let _ = &settings;
        None
    };
    let service = env("TESSERA_KEYSTORE_SERVICE").unwrap_or_else(|| KEYSTORE_SERVICE.into());
    app.manage(AppState::new(
        data_dir.clone(),
        &service,
        frames_mode(),
        demo_issuer,
        env_issuer_url,
    ));
    // A sign-in link the desktop launched the app with (`tessera-app tessera://sign-in?…`),
    // and later ones handed over while it runs (deep link; single instance forwards a second
    // launch's arguments to this one).
    if let Some(link) = sign_in::link_in_args(std::env::args().skip(1)) {
        sign_in::receive(app.handle(), &link);
    }
    #[cfg(desktop)]
    {
        use tauri_plugin_deep_link::DeepLinkExt as _;
        let handle = app.handle().clone();
        app.deep_link().on_open_url(move |event| {
            for url in event.urls() {
                sign_in::receive(&handle, url.as_str());
            }
        });
        // A development or demo build registers the scheme for this user at run time; a
        // package registers it in its desktop entry (MimeType=x-scheme-handler/tessera).
        #[cfg(feature = "demo")]
        if let Err(e) = app.deep_link().register_all() {
            tracing::warn!(error = %e, "could not register the tessera: link scheme");
        }
    }
    // Load the face models off the main thread (the window shows meanwhile), then start the
    // demo issuer with the same models.
    let handle = app.handle().clone();
    tauri::async_runtime::spawn(async move {
        let state = handle.state::<AppState>();
        let faces = match tokio::task::block_in_place(|| state.faces()) {
            Ok(f) => f,
            Err(e) => {
                tracing::error!(error = %e.message, "face models");
                return;
            }
        };
        #[cfg(feature = "demo")]
        if let Some(listener) = demo_listener {
            let days = env("TESSERA_DEMO_VALIDITY_DAYS")
                .and_then(|d| d.parse::<u64>().ok())
                .unwrap_or(365)
                .max(1);
            let dir = data_dir.join("demo-issuer");
            let validity = std::time::Duration::from_secs(days * 86_400);
            let anchor = demo_anchor.unwrap_or_default();
            if let Err(e) =
                demo::serve(listener, &dir, faces, validity, anchor, shop_listener).await
            {
                tracing::error!(error = %e, "the demo issuer stopped");
            }
        }
        #[cfg(not(feature = "demo"))]
        let _ = (faces, data_dir);
    });
    Ok(())
}

/// Builds and runs the app; returns when the last window closes.
///
/// # Panics
///
/// If the webview cannot start (for example, no display); there is nothing to show an error in.
#[cfg_attr(mobile, tauri::mobile_entry_point)]
pub fn run() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("TESSERA_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .try_init();
    let builder = tauri::Builder::default();
    // First: a second launch (a clicked tessera: link) hands its arguments to this instance.
    #[cfg(desktop)]
    let builder = builder.plugin(tauri_plugin_single_instance::init(|app, argv, _cwd| {
        if let Some(link) = sign_in::link_in_args(argv.into_iter().skip(1)) {
            sign_in::receive(app, &link);
        }
    }));
    builder
        .plugin(tauri_plugin_deep_link::init())
        .setup(setup)
        .invoke_handler(tauri::generate_handler![
            commands::app_info,
            commands::wallet_status,
            commands::settings_get,
            commands::settings_set,
            commands::check_id_number,
            commands::use_demo_recording,
            commands::use_photo,
            commands::enrol,
            commands::set_pin,
            commands::unlock_upgraded,
            commands::show_begin,
            commands::show_qr,
            commands::show_end,
            commands::lock_upgraded,
            commands::renew,
            commands::cancel_capture,
            commands::history,
            commands::remove_id,
            sign_in::sign_in_pending,
            sign_in::sign_in_open,
            sign_in::sign_in_scan,
            sign_in::sign_in_approve,
            sign_in::sign_in_refuse,
            sign_in::sign_in_history,
        ])
        .run(tauri::generate_context!())
        .expect("error while running the Tessera app");
}
