//! Audit records beyond one-per-decision: refusals aggregated per client and reason, and
//! the retention purge (the audit trail holds ID numbers and client addresses: personal
//! data, kept only as long as `Config::audit_retention`).

use super::{Audit, Result, Store, i};

impl Store {
    /// Records `a`, or counts one more occurrence of the record already made under
    /// `aggregate` (the caller's key for "this event, client, reason and window"): one row
    /// however often it happens.
    pub async fn audit_aggregated(&self, now: u64, aggregate: &str, a: &Audit<'_>) -> Result<()> {
        sqlx::query(self.sql(
            "INSERT INTO audit (at, event, id_number, outcome, detail, occurrences, aggregate)
             VALUES (?, ?, ?, ?, ?, 1, ?)
             ON CONFLICT (aggregate) DO UPDATE SET occurrences = audit.occurrences + 1",
        ))
        .bind(i(now))
        .bind(a.event)
        .bind(a.id_number)
        .bind(a.outcome)
        .bind(a.detail)
        .bind(aggregate)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Deletes the audit records made before `before` (Unix seconds); how many went.
    pub async fn purge_audit(&self, before: u64) -> Result<u64> {
        let done = sqlx::query(self.sql("DELETE FROM audit WHERE at < ?"))
            .bind(i(before))
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }
}
