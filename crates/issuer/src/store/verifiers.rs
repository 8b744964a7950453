//! Registered verifiers and their API keys (stored as SHA-256 only, never the key).

use sqlx::Row;

use super::{Audit, Result, Store, i, u};

/// A registered verifier as an operator sees it (never its key).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct VerifierRow {
    pub name: String,
    /// Unix seconds.
    pub created_at: u64,
    /// When it last received a portrait (Unix seconds), if ever.
    pub last_used_at: Option<u64>,
}

impl Store {
    /// Registers verifier `name` with the SHA-256 (hex) of its key, and records `audit` in
    /// the same transaction; false (and nothing recorded) if the name is taken.
    pub async fn add_verifier(
        &self,
        name: &str,
        key_sha256: &str,
        now: u64,
        audit: &Audit<'_>,
    ) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        let r = sqlx::query(self.sql(
            "INSERT INTO verifiers (name, key_sha256, created_at) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING",
        ))
        .bind(name)
        .bind(key_sha256)
        .bind(i(now))
        .execute(&mut *tx)
        .await?;
        if r.rows_affected() != 1 {
            return Ok(false); // the transaction rolls back on drop
        }
        self.audit_in(&mut tx, now, audit).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// The name of the verifier whose key hashes to `key_sha256`.
    pub async fn verifier_by_key(&self, key_sha256: &str) -> Result<Option<String>> {
        let row = sqlx::query(self.sql("SELECT name FROM verifiers WHERE key_sha256 = ?"))
            .bind(key_sha256)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.try_get("name")).transpose()?)
    }

    /// Every registered verifier, by name.
    pub async fn verifiers(&self) -> Result<Vec<VerifierRow>> {
        let rows =
            sqlx::query("SELECT name, created_at, last_used_at FROM verifiers ORDER BY name")
                .fetch_all(&self.pool)
                .await?;
        rows.iter()
            .map(|r| {
                let last: Option<i64> = r.try_get("last_used_at")?;
                Ok(VerifierRow {
                    name: r.try_get("name")?,
                    created_at: u(r.try_get("created_at")?),
                    last_used_at: last.map(u),
                })
            })
            .collect()
    }

    /// Removes verifier `name` (its key is refused from the next request on) and records
    /// an audit event `verifier`/`removed` whose detail `detail` makes from the removed key's
    /// SHA-256, in the same transaction; false (and nothing recorded) if there is no such
    /// verifier.
    pub async fn remove_verifier(
        &self,
        name: &str,
        now: u64,
        detail: impl FnOnce(&str) -> String,
    ) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(self.sql("SELECT key_sha256 FROM verifiers WHERE name = ?"))
            .bind(name)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(row) = row else {
            return Ok(false);
        };
        let key_sha256: String = row.try_get("key_sha256")?;
        sqlx::query(self.sql("DELETE FROM verifiers WHERE name = ?"))
            .bind(name)
            .execute(&mut *tx)
            .await?;
        let detail = detail(&key_sha256);
        let audit = Audit {
            event: "verifier",
            id_number: None,
            outcome: "removed",
            detail: &detail,
        };
        self.audit_in(&mut tx, now, &audit).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Records a portrait released to the verifier whose key hashes to `key_sha256`:
    /// `audit`, and the verifier's last use, in one transaction. (By key, not name: a name
    /// can be given to a new key after a removal.)
    pub async fn portrait_released(
        &self,
        key_sha256: &str,
        now: u64,
        audit: &Audit<'_>,
    ) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        self.audit_in(&mut tx, now, audit).await?;
        sqlx::query(self.sql("UPDATE verifiers SET last_used_at = ? WHERE key_sha256 = ?"))
            .bind(i(now))
            .bind(key_sha256)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The registry photo of the person enrolled under the credential `cti` (hex).
    pub async fn photo_by_credential(&self, cti: &str) -> Result<Option<(String, Vec<u8>)>> {
        let row = sqlx::query(self.sql(
            "SELECT r.id_number AS id_number, r.photo AS photo FROM credentials c
             JOIN enrolments e ON e.id = c.enrolment_id
             JOIN registry r ON r.id_number = e.id_number
             WHERE c.cti = ?",
        ))
        .bind(cti)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| Ok((r.try_get("id_number")?, r.try_get("photo")?)))
            .transpose()
    }
}
