//! Sign in with Tessera in the app: thin commands over the wallet core's sign-in
//! (`tessera_wallet::wallet::sign_in`), and the hand-over of `tessera://sign-in` links from
//! the desktop (a command-line argument at launch, or the deep-link and single-instance
//! plugins while running).
//!
//! The web layer never sees the request's nonce or the holder proof: it gets what the consent
//! screen shows (who asks, which claims, the tier, the numbers to pick from) and answers with
//! the person's choice.

use serde::Serialize;
use tauri::{AppHandle, Manager as _, State};
use tessera_credential::claims::Tier;
use tessera_oidc::sign_in::SignInLink;
use tessera_wallet::wallet::WalletError;

use crate::commands::{client, now};
use crate::error::CommandError;
use crate::state::{AppState, lock};

type Result<T> = std::result::Result<T, CommandError>;

/// The first `tessera:` sign-in link among `args` (a desktop launches the app with the link
/// as an argument).
pub fn link_in_args<I: IntoIterator<Item = String>>(args: I) -> Option<String> {
    args.into_iter()
        .find(|a| a.starts_with("tessera:") && SignInLink::parse(a).is_ok())
}

/// Keeps `link` for the UI (which asks with `sign_in_pending`) and brings the window forward.
/// Links that are not Tessera sign-in links are dropped (logged without their content).
pub fn receive(app: &AppHandle, link: &str) {
    if SignInLink::parse(link).is_err() {
        tracing::warn!("ignored a tessera: link that is not a sign-in link");
        return;
    }
    *lock(&app.state::<AppState>().sign_in_link) = Some(link.to_owned());
    if let Some(window) = app.get_webview_window("main") {
        let _ = window.unminimize();
        let _ = window.show();
        let _ = window.set_focus();
    }
}

/// One claim as the consent screen lists it.
#[derive(Debug, Clone, Serialize)]
pub struct ClaimView {
    /// The claim's name (`age_over_18`, `name`, …); the UI words it.
    name: &'static str,
}

/// What the consent screen shows (`SignInView` in `ui/src/api.ts`).
#[derive(Debug, Clone, Serialize)]
pub struct SignInView {
    request_id: String,
    client_name: String,
    client_name_zh: Option<String>,
    claims: Vec<ClaimView>,
    tier: &'static str,
    /// The numbers to pick from; empty when the link carried the number (same device).
    match_choices: Vec<u8>,
    expires_at: u64,
    now: u64,
}

/// The link the desktop handed over, if any (taken: asked once).
#[tauri::command]
pub fn sign_in_pending(state: State<'_, AppState>) -> Option<String> {
    let link = lock(&state.sign_in_link).take();
    if link.is_some() {
        lock(&state.handed_over).clone_from(&link);
    }
    link
}

/// Opens a sign-in link (handed over, scanned or pasted): fetches the request from this app's
/// issuer and checks the issuer signed it, then returns what to ask the person.
///
/// Only a link the desktop handed over (this device's own sign-in page's "Open Tessera") may
/// carry the number to match; a scanned or pasted one is asked for it, whatever it carries:
/// whoever starts a sign-in can read the number off their own page and put it into a code
/// or a message they send someone.
#[tauri::command]
pub async fn sign_in_open(state: State<'_, AppState>, link: String) -> Result<SignInView> {
    let mut parsed = SignInLink::parse(&link).map_err(WalletError::from)?;
    if lock(&state.handed_over).as_deref() != Some(link.as_str()) {
        parsed.match_code = None;
    }
    let client = client(&state).await?;
    let consent = state
        .wallet()?
        .fetch_sign_in(&client, &parsed, now())
        .await?;
    let r = &consent.request;
    let view = SignInView {
        request_id: r.request_id.clone(),
        client_name: r.client_name.clone(),
        client_name_zh: r.client_name_zh.clone(),
        claims: r
            .claims
            .iter()
            .map(|c| ClaimView { name: c.name() })
            .collect(),
        tier: tessera_oidc::claims::tier_name(consent.tier),
        match_choices: if consent.match_code.is_some() {
            Vec::new()
        } else {
            r.match_choices.clone()
        },
        expires_at: r.expires_at,
        now: now(),
    };
    *lock(&state.sign_in) = Some(consent);
    Ok(view)
}

fn open_consent(
    state: &AppState,
    request_id: &str,
) -> Result<tessera_wallet::wallet::SignInConsent> {
    lock(&state.sign_in)
        .as_ref()
        .filter(|c| c.request.request_id == request_id)
        .cloned()
        .ok_or_else(|| {
            CommandError::new(
                "sign_in_ended",
                "this sign-in is no longer open here: start it again on the website",
            )
        })
}

/// Scans the sign-in page's QR code with the camera (or the photo chosen for demo use),
/// previewing frames over `on_event`; returns the link, for `sign_in_open`.
#[tauri::command]
pub async fn sign_in_scan(
    state: State<'_, AppState>,
    on_event: tauri::ipc::Channel<crate::capture::CaptureEvent>,
) -> Result<String> {
    let _one = state.capture_lock.lock().await;
    let capture = crate::commands::capture(&state, on_event)?;
    tokio::task::block_in_place(|| crate::scan::scan_sign_in_link(&capture)).map_err(|e| match e {
        WalletError::Frames(why) => CommandError::new("no_sign_in_code", why),
        other => other.into(),
    })
}

/// One approved sign-in (`SignInRecord` in `ui/src/api.ts`).
pub type SignInRecord = tessera_wallet::wallet::SignInRecord;

/// Approves the open request `request_id` with the number the person picked (none for a
/// same-device link). An upgraded sign-in uses the unlock from `unlock_upgraded` (PIN and a
/// fresh face check), which it then forgets.
#[tauri::command]
pub async fn sign_in_approve(
    state: State<'_, AppState>,
    request_id: String,
    match_code: Option<u8>,
) -> Result<SignInRecord> {
    let consent = open_consent(&state, &request_id)?;
    let unlock = match consent.tier {
        Tier::Upgraded => *lock(&state.unlock),
        Tier::Lightweight | Tier::AgeOnly => None,
    };
    let client = client(&state).await?;
    let result = state
        .wallet()?
        .approve_sign_in(&client, &consent, match_code, unlock.as_ref(), now())
        .await;
    if consent.tier == Tier::Upgraded {
        *lock(&state.unlock) = None;
    }
    // Answered (or refused by the issuer, which ends it): it cannot be approved again.
    if !matches!(result, Err(WalletError::Unlock(_))) {
        *lock(&state.sign_in) = None;
    }
    Ok(result?)
}

/// Refuses the open request `request_id`: the website hears that the person said no.
#[tauri::command]
pub async fn sign_in_refuse(state: State<'_, AppState>, request_id: String) -> Result<()> {
    let consent = open_consent(&state, &request_id)?;
    *lock(&state.sign_in) = None;
    let client = client(&state).await?;
    state.wallet()?.refuse_sign_in(&client, &consent).await?;
    Ok(())
}

/// Every approved sign-in: which website or app, when, what was shared.
#[tauri::command(async)]
pub fn sign_in_history(state: State<'_, AppState>) -> Result<Vec<SignInRecord>> {
    Ok(state.wallet()?.sign_in_history()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_sign_in_links_are_taken_from_the_command_line() {
        let link = "tessera://sign-in?issuer=http%3A%2F%2F127.0.0.1%3A8443&request=0123456789abcdef0123456789abcdef";
        let args = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            link_in_args(args(&["tessera-app", link])).as_deref(),
            Some(link)
        );
        assert_eq!(link_in_args(args(&["tessera-app", "--flag"])), None);
        assert_eq!(
            link_in_args(args(&["tessera-app", "tessera://other"])),
            None
        );
    }
}
