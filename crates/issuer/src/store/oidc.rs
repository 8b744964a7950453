//! Sign in with Tessera: registered relying parties and sign-in requests. Every step of a
//! sign-in is a row change here, never process memory, so any replica serves any step.

use sqlx::Row;
use sqlx::any::AnyRow;
use tessera_oidc::claims;
use tessera_oidc::client::Client;

use super::{Audit, Result, Store, StoreError, i, u};

/// A sign-in request as stored.
#[derive(Debug, Clone)]
pub struct SignInRow {
    /// 32 hex digits.
    pub id: String,
    /// The relying party.
    pub client_id: String,
    /// Its redirect URI for this request.
    pub redirect_uri: String,
    /// Echoed to the relying party.
    pub state: Option<String>,
    /// Put in the ID token.
    pub nonce: Option<String>,
    /// PKCE S256 challenge.
    pub code_challenge: String,
    /// Comma-joined claim names.
    pub claims: String,
    /// `lightweight` or `upgraded`.
    pub tier: String,
    /// Unix seconds.
    pub issued_at: u64,
    /// Unix seconds.
    pub expires_at: u64,
    /// What the holder proof is bound to.
    pub holder_nonce: Vec<u8>,
    /// The number the page shows.
    pub match_code: u8,
    /// The numbers the wallet offers.
    pub match_choices: Vec<u8>,
    /// SHA-256 of the page's secret.
    pub page_secret_sha256: Vec<u8>,
    /// `pending`, `approved`, `refused` or `redeemed`.
    pub outcome: String,
    /// Why it was refused (an OAuth error description).
    pub reason: Option<String>,
    /// Who approved (once approved).
    pub id_number: Option<String>,
    /// When.
    pub auth_time: Option<u64>,
    /// When the code stops being accepted (once approved).
    pub code_expires_at: Option<u64>,
}

/// What a token request found when it spent a code.
#[derive(Debug)]
pub enum SpentCode {
    /// Spent now: the request it was issued for.
    Fresh(Box<SignInRow>),
    /// Spent before (a replay).
    AlreadySpent,
    /// No such code.
    Unknown,
}

/// `SELECT <every sign-in column> FROM sign_ins <where>`, as one static string.
macro_rules! sign_in_query {
    ($where:literal) => {
        concat!(
            "SELECT id, client_id, redirect_uri, state, nonce, code_challenge, claims, tier, issued_at, expires_at, holder_nonce, match_code, match_choices, page_secret_sha256, outcome, reason, id_number, auth_time, code_expires_at FROM sign_ins ",
            $where
        )
    };
}

fn sign_in_row(r: &AnyRow) -> Result<SignInRow> {
    let corrupt = |what: &str| StoreError::Corrupt(format!("sign_ins.{what}"));
    let choices: String = r.try_get("match_choices")?;
    Ok(SignInRow {
        id: r.try_get("id")?,
        client_id: r.try_get("client_id")?,
        redirect_uri: r.try_get("redirect_uri")?,
        state: r.try_get("state")?,
        nonce: r.try_get("nonce")?,
        code_challenge: r.try_get("code_challenge")?,
        claims: r.try_get("claims")?,
        tier: r.try_get("tier")?,
        issued_at: u(r.try_get("issued_at")?),
        expires_at: u(r.try_get("expires_at")?),
        holder_nonce: r.try_get("holder_nonce")?,
        match_code: u8::try_from(r.try_get::<i64, _>("match_code")?)
            .map_err(|_| corrupt("match_code"))?,
        match_choices: choices
            .split(',')
            .map(|c| c.parse::<u8>().map_err(|_| corrupt("match_choices")))
            .collect::<Result<_>>()?,
        page_secret_sha256: r.try_get("page_secret_sha256")?,
        outcome: r.try_get("outcome")?,
        reason: r.try_get("reason")?,
        id_number: r.try_get("id_number")?,
        auth_time: r.try_get::<Option<i64>, _>("auth_time")?.map(u),
        code_expires_at: r.try_get::<Option<i64>, _>("code_expires_at")?.map(u),
    })
}

fn client_row(r: &AnyRow) -> Result<Client> {
    let corrupt = |what: &str| StoreError::Corrupt(format!("oidc_clients.{what}"));
    let uris: String = r.try_get("redirect_uris")?;
    let claim_list: String = r.try_get("claims")?;
    let tier: String = r.try_get("tier")?;
    let secret: Vec<u8> = r.try_get("secret_sha256")?;
    Ok(Client {
        client_id: r.try_get("client_id")?,
        name: r.try_get("name")?,
        name_zh: r.try_get("name_zh")?,
        redirect_uris: uris.lines().map(str::to_owned).collect(),
        tier: claims::parse_tier(&tier).ok_or_else(|| corrupt("tier"))?,
        claims: claims::parse_list(&claim_list).map_err(|_| corrupt("claims"))?,
        sector: r.try_get("sector")?,
        secret_sha256: secret.try_into().map_err(|_| corrupt("secret_sha256"))?,
    })
}

impl Store {
    // ---------------------------------------------------------------- relying parties

    /// Registers `c` and records `audit` in the same transaction.
    pub async fn add_client(&self, c: &Client, now: u64, audit: &Audit<'_>) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(self.sql(
            "INSERT INTO oidc_clients (client_id, name, name_zh, redirect_uris, tier, claims, sector, secret_sha256, created_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        ))
        .bind(&c.client_id)
        .bind(&c.name)
        .bind(c.name_zh.as_deref())
        .bind(c.redirect_uris.join("\n"))
        .bind(claims::tier_name(c.tier))
        .bind(claims::join(&c.claims))
        .bind(&c.sector)
        .bind(c.secret_sha256.to_vec())
        .bind(i(now))
        .execute(&mut *tx)
        .await?;
        self.audit_in(&mut tx, now, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The client `client_id`.
    pub async fn client(&self, client_id: &str) -> Result<Option<Client>> {
        let row = sqlx::query(self.sql(
            "SELECT client_id, name, name_zh, redirect_uris, tier, claims, sector, secret_sha256 FROM oidc_clients WHERE client_id = ?",
        ))
        .bind(client_id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(client_row).transpose()
    }

    /// Every registered client, by name.
    pub async fn clients(&self) -> Result<Vec<Client>> {
        let rows = sqlx::query(
            "SELECT client_id, name, name_zh, redirect_uris, tier, claims, sector, secret_sha256 FROM oidc_clients ORDER BY name, client_id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(client_row).collect()
    }

    /// Removes client `client_id` (its pending sign-ins and unspent codes with it) and
    /// records `audit`; false (nothing recorded) if there is none.
    pub async fn remove_client(
        &self,
        client_id: &str,
        now: u64,
        audit: &Audit<'_>,
    ) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        let r = sqlx::query(self.sql("DELETE FROM oidc_clients WHERE client_id = ?"))
            .bind(client_id)
            .execute(&mut *tx)
            .await?;
        if r.rows_affected() != 1 {
            return Ok(false);
        }
        sqlx::query(self.sql("DELETE FROM sign_ins WHERE client_id = ?"))
            .bind(client_id)
            .execute(&mut *tx)
            .await?;
        self.audit_in(&mut tx, now, audit).await?;
        tx.commit().await?;
        Ok(true)
    }

    // ---------------------------------------------------------------- sign-in requests

    /// Stores a new sign-in request, and forgets requests that ended over an hour ago.
    pub async fn insert_sign_in(&self, s: &SignInRow, now: u64) -> Result<()> {
        sqlx::query(self.sql("DELETE FROM sign_ins WHERE expires_at < ?"))
            .bind(i(now.saturating_sub(3600)))
            .execute(&self.pool)
            .await?;
        let choices = s
            .match_choices
            .iter()
            .map(u8::to_string)
            .collect::<Vec<_>>()
            .join(",");
        sqlx::query(self.sql(
            "INSERT INTO sign_ins (id, client_id, redirect_uri, state, nonce, code_challenge, claims, tier, issued_at, expires_at, holder_nonce, match_code, match_choices, page_secret_sha256, outcome)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending')",
        ))
        .bind(&s.id)
        .bind(&s.client_id)
        .bind(&s.redirect_uri)
        .bind(s.state.as_deref())
        .bind(s.nonce.as_deref())
        .bind(&s.code_challenge)
        .bind(&s.claims)
        .bind(&s.tier)
        .bind(i(s.issued_at))
        .bind(i(s.expires_at))
        .bind(s.holder_nonce.clone())
        .bind(i64::from(s.match_code))
        .bind(choices)
        .bind(s.page_secret_sha256.clone())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The sign-in request `id`.
    pub async fn sign_in(&self, id: &str) -> Result<Option<SignInRow>> {
        let row = sqlx::query(self.sql(sign_in_query!("WHERE id = ?")))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(sign_in_row).transpose()
    }

    /// Runs `change` (an UPDATE of at most one row) and, if it changed a row, records `audit`
    /// in the same transaction; false (nothing changed or recorded) when no row matched.
    async fn change_one(
        &self,
        change: sqlx::query::Query<'_, sqlx::Any, sqlx::any::AnyArguments>,
        now: u64,
        audit: &Audit<'_>,
    ) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        if change.execute(&mut *tx).await?.rows_affected() != 1 {
            return Ok(false); // the transaction rolls back on drop
        }
        self.audit_in(&mut tx, now, audit).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Approves pending request `id` for `id_number`, and records `audit`; false (nothing
    /// changed) if it is no longer pending or has expired.
    pub async fn approve_sign_in(
        &self,
        id: &str,
        id_number: &str,
        now: u64,
        audit: &Audit<'_>,
    ) -> Result<bool> {
        let change = sqlx::query(self.sql(
            "UPDATE sign_ins SET outcome = 'approved', id_number = ?, auth_time = ?
             WHERE id = ? AND outcome = 'pending' AND expires_at >= ?",
        ))
        .bind(id_number)
        .bind(i(now))
        .bind(id)
        .bind(i(now));
        self.change_one(change, now, audit).await
    }

    /// Records the code of approved request `id` (its SHA-256, valid until
    /// `code_expires_at`) the first time the page asks; later asks with the same code leave
    /// it as it is. False when the request holds another code or is not approved.
    pub async fn mint_code(
        &self,
        id: &str,
        code_sha256: &[u8],
        code_expires_at: u64,
    ) -> Result<bool> {
        sqlx::query(self.sql(
            "UPDATE sign_ins SET code_sha256 = ?, code_expires_at = ?
             WHERE id = ? AND outcome = 'approved' AND code_sha256 IS NULL",
        ))
        .bind(code_sha256.to_vec())
        .bind(i(code_expires_at))
        .bind(id)
        .execute(&self.pool)
        .await?;
        let held: Option<Vec<u8>> =
            sqlx::query(self.sql("SELECT code_sha256 FROM sign_ins WHERE id = ?"))
                .bind(id)
                .fetch_optional(&self.pool)
                .await?
                .map(|r| r.try_get::<Option<Vec<u8>>, _>("code_sha256"))
                .transpose()?
                .flatten();
        Ok(held.as_deref() == Some(code_sha256))
    }

    /// Refuses pending request `id` with `reason`, and records `audit`; false if it is no
    /// longer pending.
    pub async fn refuse_sign_in(
        &self,
        id: &str,
        reason: &str,
        now: u64,
        audit: &Audit<'_>,
    ) -> Result<bool> {
        let change = sqlx::query(self.sql(
            "UPDATE sign_ins SET outcome = 'refused', reason = ? WHERE id = ? AND outcome = 'pending'",
        ))
        .bind(reason)
        .bind(id);
        self.change_one(change, now, audit).await
    }

    /// Spends the code whose SHA-256 is `code_sha256`: at most one caller, on any replica,
    /// ever gets [`SpentCode::Fresh`] for it.
    pub async fn spend_code(&self, code_sha256: &[u8]) -> Result<SpentCode> {
        let mut tx = self.pool.begin().await?;
        let r = sqlx::query(self.sql(
            "UPDATE sign_ins SET outcome = 'redeemed' WHERE code_sha256 = ? AND outcome = 'approved'",
        ))
        .bind(code_sha256.to_vec())
        .execute(&mut *tx)
        .await?;
        let row = sqlx::query(self.sql(sign_in_query!("WHERE code_sha256 = ?")))
            .bind(code_sha256.to_vec())
            .fetch_optional(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(match (r.rows_affected(), row) {
            (1, Some(row)) => SpentCode::Fresh(Box::new(sign_in_row(&row)?)),
            (_, Some(_)) => SpentCode::AlreadySpent,
            (_, None) => SpentCode::Unknown,
        })
    }
}
