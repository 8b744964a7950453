//! Refills of one-time credentials: retire the shown ones, sign fresh ones, keep the
//! answer by challenge — one transaction.

use sqlx::Row;

use super::{Audit, CredentialRow, Result, Slot, Store, StoreError, i};

/// A one-time credential of an enrolment, as the refill checks see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OneTimeRow {
    /// Hex `cti`.
    pub cti: String,
    /// `lightweight` or `age_only`.
    pub tier: String,
    /// 0 valid, 1 revoked.
    pub status: i64,
    /// Retired by a refill.
    pub retired: bool,
}

/// What a refill stores.
#[derive(Debug)]
pub struct NewRefill<'a> {
    /// The challenge it answers (taken here).
    pub challenge_id: &'a str,
    /// The enrolment the credentials belong to.
    pub enrolment_id: &'a str,
    /// The `cti`s to retire (already checked to be this enrolment's valid one-time ones).
    pub retire: &'a [String],
    /// Unix seconds.
    pub now: u64,
}

impl Store {
    /// The one-time (lightweight and age-only) credentials of an enrolment.
    pub async fn one_time_credentials(&self, enrolment_id: &str) -> Result<Vec<OneTimeRow>> {
        let rows = sqlx::query(self.sql(
            "SELECT cti, tier, status, retired_at FROM credentials
             WHERE enrolment_id = ? AND tier IN ('lightweight', 'age_only')",
        ))
        .bind(enrolment_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(OneTimeRow {
                    cti: r.try_get("cti")?,
                    tier: r.try_get("tier")?,
                    status: r.try_get("status")?,
                    retired: r.try_get::<Option<i64>, _>("retired_at")?.is_some(),
                })
            })
            .collect()
    }

    /// Whether the credential `cti` was retired by a refill.
    pub async fn credential_retired(&self, cti: &str) -> Result<bool> {
        let row = sqlx::query(self.sql("SELECT retired_at FROM credentials WHERE cti = ?"))
            .bind(cti)
            .fetch_optional(&self.pool)
            .await?;
        Ok(match row {
            Some(r) => r.try_get::<Option<i64>, _>("retired_at")?.is_some(),
            None => false,
        })
    }

    /// The answer kept for a refill's challenge, if it was answered.
    pub async fn refill_by_challenge(&self, challenge_id: &str) -> Result<Option<String>> {
        let row = sqlx::query(self.sql("SELECT response FROM refills WHERE challenge_id = ?"))
            .bind(challenge_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.try_get("response")).transpose()?)
    }

    /// Takes the challenge (failing with [`StoreError::ChallengeTaken`] if someone else
    /// did), retires `retire` (their status bits unchanged), reserves `count` status slots, lets `build` sign the new
    /// credentials for them, and stores those, the answer and the audit record. If the
    /// enrolment stopped being active meanwhile (revoked, renewed), nothing is issued.
    pub async fn refill<F>(
        &self,
        new: &NewRefill<'_>,
        count: usize,
        audit: &Audit<'_>,
        build: F,
    ) -> Result<()>
    where
        F: FnOnce(&[Slot]) -> std::result::Result<(Vec<CredentialRow>, String), String>,
    {
        let mut tx = self.pool.begin().await?;
        if !self
            .take_challenge(&mut tx, new.challenge_id, new.now)
            .await?
        {
            return Err(StoreError::ChallengeTaken);
        }
        let state: Option<String> =
            sqlx::query(self.sql("SELECT state FROM enrolments WHERE id = ?"))
                .bind(new.enrolment_id)
                .fetch_optional(&mut *tx)
                .await?
                .map(|r| r.try_get("state"))
                .transpose()?;
        if state.as_deref() != Some("active") {
            return Err(StoreError::NotActive);
        }
        // Retired, not revoked: see the `retired_at` column's reason (schema.rs).
        for cti in new.retire {
            sqlx::query(self.sql(
                "UPDATE credentials SET retired_at = ?
                 WHERE cti = ? AND enrolment_id = ? AND status = 0 AND retired_at IS NULL",
            ))
            .bind(i(new.now))
            .bind(cti)
            .bind(new.enrolment_id)
            .execute(&mut *tx)
            .await?;
        }
        let slots = self.reserve_slots(&mut tx, count).await?;
        let (credentials, response) = build(&slots).map_err(StoreError::Corrupt)?;
        self.insert_credentials(&mut tx, new.enrolment_id, &credentials)
            .await?;
        sqlx::query(self.sql(
            "INSERT INTO refills (challenge_id, enrolment_id, created_at, response) VALUES (?, ?, ?, ?)",
        ))
        .bind(new.challenge_id)
        .bind(new.enrolment_id)
        .bind(i(new.now))
        .bind(&response)
        .execute(&mut *tx)
        .await?;
        self.audit_in(&mut tx, new.now, audit).await?;
        tx.commit().await?;
        Ok(())
    }
}
