//! Registry import. A person's record is the reference every face check and portrait rests
//! on, so an import never changes an existing record silently: without `replace` it refuses
//! (and imports nothing) when any record would change; with `replace` it audits every
//! replaced ID number in the same transaction.

use sqlx::Row;

use super::{Audit, RegistryRecord, Result, Store, StoreError, i};

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportOutcome {
    /// ID numbers new to the registry.
    pub added: Vec<String>,
    /// ID numbers whose record was replaced (only with `replace`).
    pub replaced: Vec<String>,
    /// ID numbers already held with the same data (left as they are).
    pub unchanged: Vec<String>,
}

/// The fields of `old` that `new` changes (names only, never values). The template is
/// derived from the photo, so it counts as changed only with the photo.
fn changed_fields(old: (&str, &str, &str, &[u8]), new: &RegistryRecord) -> Vec<&'static str> {
    let (full_name, date_of_birth, sex, photo_sha256) = old;
    let mut fields = Vec::new();
    if full_name != new.full_name {
        fields.push("full_name");
    }
    if date_of_birth != new.date_of_birth {
        fields.push("date_of_birth");
    }
    if sex != new.sex {
        fields.push("sex");
    }
    if photo_sha256 != new.photo_sha256.as_slice() {
        fields.push("photo and template");
    }
    fields
}

impl Store {
    /// Imports `records`, all or none. A record equal to the one held (same name, birth
    /// date, sex and photo) is left as it is. A record that would change a held one is
    /// refused with [`StoreError::RegistryConflict`] naming every such ID number, and then
    /// nothing is imported, unless `replace`: then it replaces the held record, with one
    /// audit record (`registry`/`replaced`, naming the changed fields) per ID number.
    pub async fn import_registry_checked(
        &self,
        records: &[RegistryRecord],
        now: u64,
        replace: bool,
    ) -> Result<ImportOutcome> {
        let mut tx = self.pool.begin().await?;
        let mut outcome = ImportOutcome::default();
        let mut changes = Vec::new();
        for r in records {
            let held = sqlx::query(self.sql(
                "SELECT full_name, date_of_birth, sex, photo_sha256 FROM registry WHERE id_number = ?",
            ))
            .bind(&r.id_number)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(held) = held else {
                outcome.added.push(r.id_number.clone());
                continue;
            };
            let (name, dob, sex, sha): (String, String, String, Vec<u8>) = (
                held.try_get("full_name")?,
                held.try_get("date_of_birth")?,
                held.try_get("sex")?,
                held.try_get("photo_sha256")?,
            );
            let fields = changed_fields((&name, &dob, &sex, &sha), r);
            if fields.is_empty() {
                outcome.unchanged.push(r.id_number.clone());
            } else {
                outcome.replaced.push(r.id_number.clone());
                changes.push((r.id_number.as_str(), fields.join(", ")));
            }
        }
        if !replace && !outcome.replaced.is_empty() {
            return Err(StoreError::RegistryConflict(outcome.replaced));
        }
        for r in records {
            if outcome.unchanged.contains(&r.id_number) {
                continue;
            }
            sqlx::query(self.sql(
                "INSERT INTO registry (id_number, full_name, date_of_birth, sex, photo, photo_sha256, template, imported_at)
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                 ON CONFLICT (id_number) DO UPDATE SET full_name = excluded.full_name,
                   date_of_birth = excluded.date_of_birth, sex = excluded.sex, photo = excluded.photo,
                   photo_sha256 = excluded.photo_sha256, template = excluded.template,
                   imported_at = excluded.imported_at",
            ))
            .bind(&r.id_number)
            .bind(&r.full_name)
            .bind(&r.date_of_birth)
            .bind(&r.sex)
            .bind(&r.photo)
            .bind(&r.photo_sha256)
            .bind(&r.template)
            .bind(i(now))
            .execute(&mut *tx)
            .await?;
        }
        for (id_number, fields) in &changes {
            let detail = format!("registry import replaced {fields}");
            let audit = Audit {
                event: "registry",
                id_number: Some(id_number),
                outcome: "replaced",
                detail: &detail,
            };
            self.audit_in(&mut tx, now, &audit).await?;
        }
        tx.commit().await?;
        Ok(outcome)
    }

    /// Imports `records`, all or none, never changing a record already held
    /// ([`import_registry_checked`](Self::import_registry_checked) without `replace`).
    pub async fn import_registry(
        &self,
        records: &[RegistryRecord],
        now: u64,
    ) -> Result<ImportOutcome> {
        self.import_registry_checked(records, now, false).await
    }
}
