//! The issuer's database: SQLite (one file, the default) or PostgreSQL, through sqlx's
//! `Any` driver with one set of SQL. Every multi-row change is one transaction, so a crash
//! at any point leaves either the whole decision or none of it.

mod audit;
mod oidc;
mod refill;
mod registry;
mod schema;
mod verifiers;

pub use refill::{NewRefill, OneTimeRow};

pub use oidc::{SignInRow, SpentCode};
pub use registry::ImportOutcome;
pub use verifiers::VerifierRow;

use std::time::Duration;

use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{Any, AnyPool, AssertSqlSafe, Row, Transaction};

/// Why the database failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The URL is neither `sqlite:` nor `postgres:`.
    #[error("unsupported database URL (use sqlite://FILE or postgres://…)")]
    UnsupportedUrl,
    /// The database said no.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// A row holds something this version cannot read.
    #[error("database row is corrupt: {0}")]
    Corrupt(String),
    /// Another request took the same challenge first.
    #[error("the challenge was used concurrently")]
    ChallengeTaken,
    /// The enrolment was revoked or replaced while the request was being checked.
    #[error("the enrolment is no longer active")]
    NotActive,
    /// A registry import would change these people's records; nothing was imported.
    #[error(
        "{} ID number(s) are already in the registry with other data: {}; nothing was imported (to replace their records, import again with --replace: each replacement is audited)",
        .0.len(),
        .0.join(", ")
    )]
    RegistryConflict(Vec<String>),
}

type Result<T> = std::result::Result<T, StoreError>;

/// Makes the SQLite file of `url` readable by its owner only, creating it empty (a valid
/// empty database) when `mode=rwc` asks for creation: it holds registry photos, templates
/// and ID numbers. SQLite gives its WAL and shared-memory files the database file's mode.
fn owner_only_sqlite_file(url: &str) -> std::io::Result<()> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or_default();
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    if path.is_empty() || path == ":memory:" {
        return Ok(());
    }
    let path = std::path::Path::new(path);
    if !path.exists() && query.split('&').any(|kv| kv == "mode=rwc") {
        let mut create = std::fs::OpenOptions::new();
        create.create_new(true).write(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut create, 0o600);
        create.open(path)?;
    }
    // Journal files an earlier version left keep their own mode: tighten them too.
    #[cfg(unix)]
    for suffix in ["", "-wal", "-shm"] {
        use std::os::unix::fs::PermissionsExt;
        let file = std::path::PathBuf::from(format!("{}{suffix}", path.display()));
        if file.exists() {
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600))?;
        }
    }
    Ok(())
}

/// `SELECT <every enrolment column> FROM enrolments <where>`, as one static string.
macro_rules! enrolment_query {
    ($where:literal) => {
        concat!(
            "SELECT id, id_number, device_kid, challenge_id, kind, state, expires_at, response FROM enrolments ",
            $where
        )
    };
}

/// Which SQL dialect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// SQLite.
    Sqlite,
    /// PostgreSQL (or a wire-compatible engine).
    Postgres,
}

/// The database.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    dialect: Dialect,
}

/// One person in the registry.
#[derive(Debug, Clone)]
pub struct RegistryRecord {
    /// 18-character ID number.
    pub id_number: String,
    /// Full name.
    pub full_name: String,
    /// `YYYYMMDD`.
    pub date_of_birth: String,
    /// `M` or `F`.
    pub sex: String,
    /// The reference portrait (JPEG or PNG bytes).
    pub photo: Vec<u8>,
    /// SHA-256 of `photo`.
    pub photo_sha256: Vec<u8>,
    /// The face template of `photo`.
    pub template: Vec<u8>,
}

/// A liveness challenge as stored.
#[derive(Debug, Clone)]
pub struct ChallengeRow {
    /// Hex id.
    pub id: String,
    /// 16 random bytes.
    pub nonce: Vec<u8>,
    /// Comma-separated action names.
    pub actions: String,
    /// Unix seconds.
    pub issued_at: u64,
    /// Unix seconds.
    pub expires_at: u64,
    /// When it was answered (accepted or refused).
    pub used_at: Option<u64>,
    /// SHA-256 of the device key (SPKI DER) it was drawn for; `None`: revocation only.
    pub device_key_sha256: Option<Vec<u8>>,
    /// For a challenge drawn with a TPM: the serialised `ActivationState` (JSON).
    pub tpm_state: Option<String>,
}

/// An issued batch.
#[derive(Debug, Clone)]
pub struct EnrolmentRow {
    /// Random hex id.
    pub id: String,
    /// Whose.
    pub id_number: String,
    /// The device key's kid (hex).
    pub device_kid: String,
    /// The challenge it answered.
    pub challenge_id: String,
    /// `enrol` or `renew`.
    pub kind: String,
    /// `active`, `revoked` or `superseded`.
    pub state: String,
    /// Unix seconds.
    pub expires_at: u64,
    /// The JSON response given.
    pub response: String,
}

/// A credential to insert, with the status slot it got.
#[derive(Debug, Clone)]
pub struct CredentialRow {
    /// Hex of the 8-byte `cti`.
    pub cti: String,
    /// `lightweight` / `upgraded`.
    pub tier: String,
    /// Status list number.
    pub status_list: u64,
    /// Index in it.
    pub status_idx: u64,
    /// Unix seconds.
    pub expires_at: u64,
}

/// A status slot reserved inside an issuance transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot {
    /// List number.
    pub list: u64,
    /// Index.
    pub idx: u64,
}

/// Status values in lists (IETF Token Status List).
pub mod status {
    /// Valid.
    pub const VALID: i64 = 0;
    /// Revoked.
    pub const REVOKED: i64 = 1;
}

/// Entries per status list (2 bits each: 32 KiB before compression).
pub const STATUS_LIST_SIZE: u64 = 1 << 17;

/// Status lists open for new credentials at any time; each new credential goes to one of
/// them at random.
pub const OPEN_STATUS_LISTS: usize = 4;

fn u(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

fn i(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

impl Store {
    /// Connects to `url` (`sqlite://FILE` or `postgres://…`) and applies migrations.
    pub async fn connect(url: &str) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let dialect = if url.starts_with("sqlite:") {
            Dialect::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Dialect::Postgres
        } else {
            return Err(StoreError::UnsupportedUrl);
        };
        if dialect == Dialect::Sqlite {
            owner_only_sqlite_file(url).map_err(sqlx::Error::Io)?;
        }
        let options = AnyPoolOptions::new().acquire_timeout(Duration::from_secs(10));
        let pool = match dialect {
            // One connection: SQLite has one writer anyway, and a single connection avoids
            // "database is locked" on read-to-write upgrades. Reads are cached above it.
            Dialect::Sqlite => {
                options
                    .max_connections(1)
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            for pragma in [
                                "PRAGMA journal_mode = WAL",
                                "PRAGMA synchronous = FULL",
                                "PRAGMA foreign_keys = ON",
                                "PRAGMA busy_timeout = 5000",
                            ] {
                                sqlx::query(pragma).execute(&mut *conn).await?;
                            }
                            Ok(())
                        })
                    })
                    .connect(url)
                    .await?
            }
            Dialect::Postgres => options.max_connections(16).connect(url).await?,
        };
        let store = Store { pool, dialect };
        store.migrate().await?;
        Ok(store)
    }

    /// The SQLite file `path` (created if missing).
    pub async fn open_sqlite(path: &std::path::Path) -> Result<Store> {
        Store::connect(&format!("sqlite://{}?mode=rwc", path.display())).await
    }

    /// Which database this is.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// Closes the pool (waits for connections to finish).
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// `?` placeholders become `$1, $2, …` for PostgreSQL. Only `'static` text (the SQL in
    /// this file) goes through here; values are always bound, never formatted in.
    fn sql(&self, text: &'static str) -> AssertSqlSafe<String> {
        AssertSqlSafe(match self.dialect {
            Dialect::Sqlite => text.to_owned(),
            Dialect::Postgres => {
                let mut out = String::with_capacity(text.len() + 8);
                let mut n = 0;
                for c in text.chars() {
                    if c == '?' {
                        n += 1;
                        out.push('$');
                        out.push_str(&n.to_string());
                    } else {
                        out.push(c);
                    }
                }
                out
            }
        })
    }

    fn ddl(&self, text: &'static str) -> AssertSqlSafe<String> {
        let (blob, serial) = match self.dialect {
            Dialect::Sqlite => ("BLOB", "INTEGER PRIMARY KEY AUTOINCREMENT"),
            Dialect::Postgres => ("BYTEA", "BIGSERIAL PRIMARY KEY"),
        };
        AssertSqlSafe(text.replace("{blob}", blob).replace("{serial}", serial))
    }

    async fn migrate(&self) -> Result<()> {
        sqlx::query("CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)")
            .execute(&self.pool)
            .await?;
        let mut tx = self.pool.begin().await?;
        if self.dialect == Dialect::Postgres {
            // Two replicas starting at once must not both migrate.
            sqlx::query("LOCK TABLE schema_version IN EXCLUSIVE MODE")
                .execute(&mut *tx)
                .await?;
        }
        let current: Option<i64> = sqlx::query("SELECT MAX(version) AS v FROM schema_version")
            .fetch_one(&mut *tx)
            .await?
            .try_get("v")?;
        let current = current.unwrap_or(0);
        for (n, statements) in schema::MIGRATIONS.iter().enumerate() {
            let version = n as i64 + 1;
            if version <= current {
                continue;
            }
            for s in *statements {
                sqlx::query(self.ddl(s)).execute(&mut *tx).await?;
            }
            sqlx::query(self.sql("INSERT INTO schema_version (version) VALUES (?)"))
                .bind(version)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    // ---------------------------------------------------------------- registry

    /// How many people the registry holds.
    pub async fn registry_len(&self) -> Result<u64> {
        let n: i64 = sqlx::query("SELECT COUNT(*) AS n FROM registry")
            .fetch_one(&self.pool)
            .await?
            .try_get("n")?;
        Ok(u(n))
    }

    /// One person.
    pub async fn person(&self, id_number: &str) -> Result<Option<RegistryRecord>> {
        let row = sqlx::query(self.sql("SELECT id_number, full_name, date_of_birth, sex, photo, photo_sha256, template FROM registry WHERE id_number = ?"))
            .bind(id_number)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| {
            Ok(RegistryRecord {
                id_number: r.try_get("id_number")?,
                full_name: r.try_get("full_name")?,
                date_of_birth: r.try_get("date_of_birth")?,
                sex: r.try_get("sex")?,
                photo: r.try_get("photo")?,
                photo_sha256: r.try_get("photo_sha256")?,
                template: r.try_get("template")?,
            })
        })
        .transpose()
    }

    // ---------------------------------------------------------------- challenges

    /// Stores a new challenge (and forgets challenges that expired a day ago).
    pub async fn insert_challenge(&self, c: &ChallengeRow) -> Result<()> {
        sqlx::query(self.sql("DELETE FROM challenges WHERE expires_at < ?"))
            .bind(i(c.issued_at.saturating_sub(86_400)))
            .execute(&self.pool)
            .await?;
        sqlx::query(self.sql("INSERT INTO challenges (id, nonce, actions, issued_at, expires_at, used_at, device_key_sha256, tpm_state) VALUES (?, ?, ?, ?, ?, NULL, ?, ?)"))
            .bind(&c.id)
            .bind(&c.nonce)
            .bind(&c.actions)
            .bind(i(c.issued_at))
            .bind(i(c.expires_at))
            .bind(&c.device_key_sha256)
            .bind(&c.tpm_state)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// A challenge by id.
    pub async fn challenge(&self, id: &str) -> Result<Option<ChallengeRow>> {
        let row = sqlx::query(self.sql(
            "SELECT id, nonce, actions, issued_at, expires_at, used_at, device_key_sha256, tpm_state FROM challenges WHERE id = ?",
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            Ok(ChallengeRow {
                id: r.try_get("id")?,
                nonce: r.try_get("nonce")?,
                actions: r.try_get("actions")?,
                issued_at: u(r.try_get("issued_at")?),
                expires_at: u(r.try_get("expires_at")?),
                used_at: r.try_get::<Option<i64>, _>("used_at")?.map(u),
                device_key_sha256: r.try_get("device_key_sha256")?,
                tpm_state: r.try_get("tpm_state")?,
            })
        })
        .transpose()
    }

    /// Marks a challenge used by a refused answer, with the audit record, atomically.
    /// `false` if it had already been used.
    pub async fn refuse(&self, challenge_id: &str, now: u64, audit: &Audit<'_>) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        let taken = self.take_challenge(&mut tx, challenge_id, now).await?;
        self.audit_in(&mut tx, now, audit).await?;
        tx.commit().await?;
        Ok(taken)
    }

    async fn take_challenge(
        &self,
        tx: &mut Transaction<'static, Any>,
        challenge_id: &str,
        now: u64,
    ) -> Result<bool> {
        let done = sqlx::query(
            self.sql("UPDATE challenges SET used_at = ? WHERE id = ? AND used_at IS NULL"),
        )
        .bind(i(now))
        .bind(challenge_id)
        .execute(&mut **tx)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    // ---------------------------------------------------------------- enrolments

    fn enrolment(r: &AnyRow) -> Result<EnrolmentRow> {
        Ok(EnrolmentRow {
            id: r.try_get("id")?,
            id_number: r.try_get("id_number")?,
            device_kid: r.try_get("device_kid")?,
            challenge_id: r.try_get("challenge_id")?,
            kind: r.try_get("kind")?,
            state: r.try_get("state")?,
            expires_at: u(r.try_get("expires_at")?),
            response: r.try_get("response")?,
        })
    }

    /// The batch that answered a challenge, if any.
    pub async fn enrolment_by_challenge(&self, challenge_id: &str) -> Result<Option<EnrolmentRow>> {
        let q = enrolment_query!("WHERE challenge_id = ?");
        let row = sqlx::query(self.sql(q))
            .bind(challenge_id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(Self::enrolment).transpose()
    }

    /// The batch bound to a device key, if any.
    pub async fn enrolment_by_device(&self, device_kid: &str) -> Result<Option<EnrolmentRow>> {
        let q = enrolment_query!("WHERE device_kid = ?");
        let row = sqlx::query(self.sql(q))
            .bind(device_kid)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(Self::enrolment).transpose()
    }

    /// The batch a credential belongs to.
    pub async fn enrolment_by_credential(&self, cti: &str) -> Result<Option<EnrolmentRow>> {
        let q = enrolment_query!("WHERE id = (SELECT enrolment_id FROM credentials WHERE cti = ?)");
        let row = sqlx::query(self.sql(q))
            .bind(cti)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(Self::enrolment).transpose()
    }

    /// A person's active batches.
    pub async fn active_enrolments(&self, id_number: &str) -> Result<Vec<EnrolmentRow>> {
        let q = enrolment_query!("WHERE id_number = ? AND state = 'active'");
        let rows = sqlx::query(self.sql(q))
            .bind(id_number)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(Self::enrolment).collect()
    }

    /// The status value of a credential, by its slot.
    pub async fn credential_status(&self, list: u64, idx: u64) -> Result<Option<i64>> {
        let row = sqlx::query(
            self.sql("SELECT status FROM credentials WHERE status_list = ? AND status_idx = ?"),
        )
        .bind(i(list))
        .bind(i(idx))
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| r.try_get("status")).transpose()?)
    }

    /// Issues a batch in one transaction: takes the challenge (failing with
    /// [`StoreError::ChallengeTaken`] if someone else did), revokes `replaces` (with their
    /// credentials), reserves one status slot per tier, lets `build` sign the credentials
    /// for those slots, and stores everything with the audit record.
    pub async fn issue<F>(
        &self,
        new: &NewEnrolment<'_>,
        tiers: usize,
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
        // Serialise issuance per person (PostgreSQL; SQLite has one writer already).
        if self.dialect == Dialect::Postgres {
            sqlx::query("SELECT id_number FROM registry WHERE id_number = $1 FOR UPDATE")
                .bind(new.id_number)
                .execute(&mut *tx)
                .await?;
        }
        let active: Vec<String> = sqlx::query(
            self.sql("SELECT id FROM enrolments WHERE id_number = ? AND state = 'active'"),
        )
        .bind(new.id_number)
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|r| r.try_get("id"))
        .collect::<std::result::Result<_, _>>()?;
        for id in &active {
            if !new.replaces.contains(&id.as_str()) {
                return Err(StoreError::Corrupt(format!(
                    "person has another active enrolment {id}"
                )));
            }
        }
        for id in new.replaces {
            self.revoke_enrolment_in(&mut tx, id, new.replaced_state)
                .await?;
        }
        let slots = self.reserve_slots(&mut tx, tiers).await?;
        let (credentials, response) = build(&slots).map_err(StoreError::Corrupt)?;
        sqlx::query(self.sql(
            "INSERT INTO enrolments (id, id_number, device_kid, challenge_id, kind, previous_id, state, created_at, expires_at, response, key_protection)
             VALUES (?, ?, ?, ?, ?, ?, 'active', ?, ?, ?, ?)",
        ))
        .bind(new.id)
        .bind(new.id_number)
        .bind(new.device_kid)
        .bind(new.challenge_id)
        .bind(new.kind)
        .bind(new.replaces.first().map(|s| s.to_string()))
        .bind(i(new.now))
        .bind(i(new.expires_at))
        .bind(&response)
        .bind(new.key_protection)
        .execute(&mut *tx)
        .await?;
        self.insert_credentials(&mut tx, new.id, &credentials)
            .await?;
        self.audit_in(&mut tx, new.now, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Stores signed credentials of `enrolment_id`, valid, in their reserved slots.
    async fn insert_credentials(
        &self,
        tx: &mut Transaction<'static, Any>,
        enrolment_id: &str,
        credentials: &[CredentialRow],
    ) -> Result<()> {
        for c in credentials {
            sqlx::query(self.sql(
                "INSERT INTO credentials (cti, enrolment_id, tier, status_list, status_idx, status, expires_at)
                 VALUES (?, ?, ?, ?, ?, 0, ?)",
            ))
            .bind(&c.cti)
            .bind(enrolment_id)
            .bind(&c.tier)
            .bind(i(c.status_list))
            .bind(i(c.status_idx))
            .bind(i(c.expires_at))
            .execute(&mut **tx)
            .await?;
        }
        Ok(())
    }

    /// Reserves `count` status slots for one issuance. The lists' counters are updated at
    /// the end, in ascending list order: with slots in random lists, two transactions
    /// updating the same lists in different orders would deadlock on PostgreSQL (found by
    /// the refill benchmark at 3 concurrent refills).
    async fn reserve_slots(
        &self,
        tx: &mut Transaction<'static, Any>,
        count: usize,
    ) -> Result<Vec<Slot>> {
        let mut slots = Vec::with_capacity(count);
        for _ in 0..count {
            let slot = self.reserve_slot(tx, &slots).await?;
            slots.push(slot);
        }
        let mut per_list: std::collections::BTreeMap<u64, i64> = std::collections::BTreeMap::new();
        for s in &slots {
            *per_list.entry(s.list).or_default() += 1;
        }
        for (list, n) in per_list {
            sqlx::query(self.sql(
                "UPDATE status_lists SET used = used + ?, version = version + 1 WHERE list = ?",
            ))
            .bind(n)
            .bind(i(list))
            .execute(&mut **tx)
            .await?;
        }
        Ok(slots)
    }

    /// One free slot, not among `picked` (the issuance's own earlier picks).
    async fn reserve_slot(
        &self,
        tx: &mut Transaction<'static, Any>,
        picked: &[Slot],
    ) -> Result<Slot> {
        // A random list among the open ones (each kept at most half full, so random probing
        // is quick), with OPEN_STATUS_LISTS open at any time: the credentials of one batch
        // land in different lists at random indices, never in neighbouring slots.
        let open: Vec<i64> =
            sqlx::query(self.sql("SELECT list FROM status_lists WHERE used < ? ORDER BY list"))
                .bind(i(STATUS_LIST_SIZE / 2))
                .fetch_all(&mut **tx)
                .await?
                .iter()
                .map(|r| r.try_get("list"))
                .collect::<std::result::Result<_, _>>()?;
        let pick = u64::from_le_bytes(crate::config::random_bytes::<8>());
        let list = if open.len() >= OPEN_STATUS_LISTS {
            u(open[(pick % open.len() as u64) as usize])
        } else {
            let next: Option<i64> = sqlx::query("SELECT MAX(list) AS m FROM status_lists")
                .fetch_one(&mut **tx)
                .await?
                .try_get("m")?;
            let list = u(next.unwrap_or(0)) + 1;
            sqlx::query(self.sql(
                "INSERT INTO status_lists (list, size, used, version) VALUES (?, ?, 0, 0) ON CONFLICT (list) DO NOTHING",
            ))
            .bind(i(list))
            .bind(i(STATUS_LIST_SIZE))
            .execute(&mut **tx)
            .await?;
            list
        };
        // Random indices: a verifier learns nothing about when or in what order people
        // enrolled (the Token Status List draft's privacy advice).
        for _ in 0..64 {
            let r = u64::from_le_bytes(crate::config::random_bytes::<8>());
            let idx = r % STATUS_LIST_SIZE;
            let taken =
                sqlx::query(self.sql(
                    "SELECT 1 AS one FROM credentials WHERE status_list = ? AND status_idx = ?",
                ))
                .bind(i(list))
                .bind(i(idx))
                .fetch_optional(&mut **tx)
                .await?;
            if taken.is_none() && !picked.contains(&Slot { list, idx }) {
                return Ok(Slot { list, idx });
            }
        }
        Err(StoreError::Corrupt(format!(
            "status list {list} has no free slot"
        )))
    }

    async fn revoke_enrolment_in(
        &self,
        tx: &mut Transaction<'static, Any>,
        enrolment_id: &str,
        state: &str,
    ) -> Result<u64> {
        sqlx::query(self.sql("UPDATE enrolments SET state = ? WHERE id = ?"))
            .bind(state)
            .bind(enrolment_id)
            .execute(&mut **tx)
            .await?;
        let lists: Vec<i64> = sqlx::query(self.sql(
            "SELECT DISTINCT status_list FROM credentials WHERE enrolment_id = ? AND status <> 1 ORDER BY status_list",
        ))
        .bind(enrolment_id)
        .fetch_all(&mut **tx)
        .await?
        .iter()
        .map(|r| r.try_get("status_list"))
        .collect::<std::result::Result<_, _>>()?;
        let done = sqlx::query(
            self.sql("UPDATE credentials SET status = 1 WHERE enrolment_id = ? AND status <> 1"),
        )
        .bind(enrolment_id)
        .execute(&mut **tx)
        .await?;
        for list in lists {
            sqlx::query(self.sql("UPDATE status_lists SET version = version + 1 WHERE list = ?"))
                .bind(list)
                .execute(&mut **tx)
                .await?;
        }
        Ok(done.rows_affected())
    }

    /// Revokes whole batches (with the audit record and, if given, a challenge taken), in one
    /// transaction. Returns how many credentials changed.
    pub async fn revoke(
        &self,
        enrolment_ids: &[String],
        challenge_id: Option<&str>,
        now: u64,
        audit: &Audit<'_>,
    ) -> Result<u64> {
        let mut tx = self.pool.begin().await?;
        if let Some(c) = challenge_id
            && !self.take_challenge(&mut tx, c, now).await?
        {
            return Err(StoreError::ChallengeTaken);
        }
        let mut n = 0;
        for id in enrolment_ids {
            n += self.revoke_enrolment_in(&mut tx, id, "revoked").await?;
        }
        self.audit_in(&mut tx, now, audit).await?;
        tx.commit().await?;
        Ok(n)
    }

    // ---------------------------------------------------------------- status lists

    /// A list's size and version, if it exists.
    pub async fn status_list_version(&self, list: u64) -> Result<Option<(u64, u64)>> {
        let row = sqlx::query(self.sql("SELECT size, version FROM status_lists WHERE list = ?"))
            .bind(i(list))
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| Ok((u(r.try_get("size")?), u(r.try_get("version")?))))
            .transpose()
    }

    /// The non-zero entries of a list, read in one transaction with its version.
    pub async fn status_entries(&self, list: u64) -> Result<Option<StatusSnapshot>> {
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(self.sql("SELECT size, version FROM status_lists WHERE list = ?"))
            .bind(i(list))
            .fetch_optional(&mut *tx)
            .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let size = u(row.try_get("size")?);
        let version = u(row.try_get("version")?);
        let entries = sqlx::query(self.sql(
            "SELECT status_idx, status FROM credentials WHERE status_list = ? AND status <> 0",
        ))
        .bind(i(list))
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|r| Ok((u(r.try_get("status_idx")?), u(r.try_get("status")?))))
        .collect::<Result<Vec<_>>>()?;
        tx.commit().await?;
        Ok(Some(StatusSnapshot {
            size,
            version,
            entries,
        }))
    }

    // ---------------------------------------------------------------- audit

    async fn audit_in(
        &self,
        tx: &mut Transaction<'static, Any>,
        now: u64,
        a: &Audit<'_>,
    ) -> Result<()> {
        sqlx::query(self.sql(
            "INSERT INTO audit (at, event, id_number, outcome, detail) VALUES (?, ?, ?, ?, ?)",
        ))
        .bind(i(now))
        .bind(a.event)
        .bind(a.id_number)
        .bind(a.outcome)
        .bind(a.detail)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// Records a decision outside any other change.
    pub async fn audit(&self, now: u64, a: &Audit<'_>) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        self.audit_in(&mut tx, now, a).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The audit records, oldest first (for administrators and tests).
    pub async fn audit_log(&self) -> Result<Vec<AuditRecord>> {
        let rows = sqlx::query(
            "SELECT at, event, id_number, outcome, detail, occurrences FROM audit ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(AuditRecord {
                    at: u(r.try_get("at")?),
                    event: r.try_get("event")?,
                    id_number: r.try_get("id_number")?,
                    outcome: r.try_get("outcome")?,
                    detail: r.try_get("detail")?,
                    occurrences: u(r.try_get("occurrences")?),
                })
            })
            .collect()
    }

    /// Counts for consistency checks: (enrolments, credentials, credentials whose batch is
    /// missing or whose batch has other than one per tier).
    pub async fn consistency(&self) -> Result<(u64, u64, u64)> {
        let one = |sql: &'static str| async move {
            let n: i64 = sqlx::query(sql).fetch_one(&self.pool).await?.try_get("n")?;
            Ok::<u64, StoreError>(u(n))
        };
        let enrolments = one("SELECT COUNT(*) AS n FROM enrolments").await?;
        let credentials = one("SELECT COUNT(*) AS n FROM credentials").await?;
        let broken = one(
            "SELECT COUNT(*) AS n FROM enrolments e WHERE (SELECT COUNT(*) FROM credentials c WHERE c.enrolment_id = e.id) <> 2",
        )
        .await?;
        Ok((enrolments, credentials, broken))
    }
}

/// A new batch's row.
#[derive(Debug)]
pub struct NewEnrolment<'a> {
    /// Random hex id.
    pub id: &'a str,
    /// Whose.
    pub id_number: &'a str,
    /// The device key's kid (hex).
    pub device_kid: &'a str,
    /// The challenge answered.
    pub challenge_id: &'a str,
    /// `enrol` or `renew`.
    pub kind: &'a str,
    /// Batches this one replaces (revoked in the same transaction).
    pub replaces: &'a [&'a str],
    /// The state the replaced batches get: `superseded` (renewal) or `revoked`.
    pub replaced_state: &'a str,
    /// Unix seconds.
    pub now: u64,
    /// Unix seconds.
    pub expires_at: u64,
    /// What the TPM attestation proved about the main device key: `software`, `hardware`
    /// or `hardware_with_pin`.
    pub key_protection: &'a str,
}

/// One audit record to write.
#[derive(Debug, Clone, Copy)]
pub struct Audit<'a> {
    /// What was decided: `enrol`, `renew`, `revoke`, `admin_revoke`.
    pub event: &'a str,
    /// About whom, if known.
    pub id_number: Option<&'a str>,
    /// `issued`, `refused`, `revoked`.
    pub outcome: &'a str,
    /// Why (a problem slug, liveness reasons); never biometrics.
    pub detail: &'a str,
}

/// An audit record as stored.
#[derive(Debug, Clone)]
pub struct AuditRecord {
    /// Unix seconds.
    pub at: u64,
    /// Event.
    pub event: String,
    /// About whom.
    pub id_number: Option<String>,
    /// Outcome.
    pub outcome: String,
    /// Why.
    pub detail: String,
    /// How many times it happened (refusals aggregated per client, reason and window).
    pub occurrences: u64,
}

/// A status list's state at one version.
#[derive(Debug, Clone)]
pub struct StatusSnapshot {
    /// Entries.
    pub size: u64,
    /// Version.
    pub version: u64,
    /// `(index, status)` of every non-valid entry.
    pub entries: Vec<(u64, u64)>,
}
