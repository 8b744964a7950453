//! Registering relying parties for Sign in with Tessera: the authority's decision, made with
//! `tessera-issuer clients …`, each change audited.

use tessera_issuer_api::{Problem, ProblemType};
use tessera_oidc::client::{Client, NewClient, Registration};

use super::store_error;
use crate::config::random_bytes;
use crate::store::{Audit, Store};

fn client_audit<'a>(outcome: &'a str, detail: &'a str) -> Audit<'a> {
    Audit {
        event: "oidc_client",
        id_number: None,
        outcome,
        detail,
    }
}

/// Registers a relying party; the new client and its secret (shown once: only its SHA-256
/// is stored).
pub async fn add_client(
    store: &Store,
    registration: &Registration<'_>,
    now: u64,
) -> Result<NewClient, Problem> {
    let new = Client::register(registration, &random_bytes::<48>())
        .map_err(|e| Problem::new(ProblemType::Malformed, e.to_string()))?;
    let c = &new.client;
    let detail = format!(
        "{} {:?} tier={} claims={} redirect_uris={}",
        c.client_id,
        c.name,
        tessera_oidc::claims::tier_name(c.tier),
        tessera_oidc::claims::join(&c.claims),
        c.redirect_uris.join(" ")
    );
    store
        .add_client(c, now, &client_audit("added", &detail))
        .await
        .map_err(store_error)?;
    Ok(new)
}

/// Removes relying party `client_id` (its open sign-ins and unspent codes go with it);
/// false if there is none.
pub async fn remove_client(store: &Store, client_id: &str, now: u64) -> Result<bool, Problem> {
    store
        .remove_client(client_id, now, &client_audit("removed", client_id))
        .await
        .map_err(store_error)
}
