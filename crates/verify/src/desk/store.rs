//! The desk's SQLite file: the replay cache shared by every terminal of this desk server,
//! staff accounts (Argon2id hashes only), sessions (hashed tokens only) and the guest
//! register. It never stores QR texts, portraits or passwords.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::Row;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

/// A database failure.
#[derive(Debug, thiserror::Error)]
#[error("desk database: {0}")]
pub struct StoreError(#[from] sqlx::Error);

type Result<T> = std::result::Result<T, StoreError>;

const SCHEMA: &[&str] = &[
    // A nonce seen by any terminal; kept until the proof could no longer verify anyway.
    "CREATE TABLE IF NOT EXISTS replay (key BLOB PRIMARY KEY, keep_until INTEGER NOT NULL)",
    "CREATE INDEX IF NOT EXISTS replay_expiry ON replay (keep_until)",
    "CREATE TABLE IF NOT EXISTS staff (name TEXT PRIMARY KEY, phc TEXT NOT NULL, created_at INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS sessions (token_sha256 TEXT PRIMARY KEY, staff TEXT NOT NULL, expires_at INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS guests (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        checked_in_at INTEGER NOT NULL,
        staff TEXT NOT NULL,
        room TEXT NOT NULL,
        arrival TEXT NOT NULL,
        departure TEXT NOT NULL,
        full_name TEXT NOT NULL,
        id_number TEXT NOT NULL,
        date_of_birth TEXT NOT NULL,
        sex TEXT NOT NULL
    )",
    "CREATE INDEX IF NOT EXISTS guests_time ON guests (checked_in_at)",
];

/// Columns of `guests` added after the first release: added to an older database at open.
const ADDED_GUEST_COLUMNS: &[(&str, &str)] = &[
    // The desk's face check at check-in: its outcome and similarity, never a picture.
    (
        "face_check",
        "ALTER TABLE guests ADD COLUMN face_check TEXT",
    ),
    (
        "face_similarity",
        "ALTER TABLE guests ADD COLUMN face_similarity REAL",
    ),
];

/// One guest-register record.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Guest {
    /// Row id.
    pub id: i64,
    /// Unix seconds.
    pub checked_in_at: i64,
    /// The staff member who checked the guest in.
    pub staff: String,
    /// Room.
    pub room: String,
    /// Arrival date (YYYY-MM-DD).
    pub arrival: String,
    /// Departure date (YYYY-MM-DD).
    pub departure: String,
    /// From the verified upgraded credential.
    pub full_name: String,
    /// From the verified upgraded credential.
    pub id_number: String,
    /// From the verified upgraded credential (YYYYMMDD).
    pub date_of_birth: String,
    /// `M`, `F` or `X` (neither).
    pub sex: String,
    /// The desk's face check before check-in (`same_person`, `not_same_person`,
    /// `could_not_check`), if one was made.
    pub face_check: Option<String>,
    /// Its similarity, when there was a decision.
    pub face_similarity: Option<f64>,
}

/// The desk's database.
#[derive(Debug, Clone)]
pub struct DeskStore {
    pool: SqlitePool,
}

fn i(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

impl DeskStore {
    /// Opens (creating) `DIR/desk.sqlite3`.
    pub async fn open(dir: &Path) -> Result<DeskStore> {
        let file = dir.join("desk.sqlite3");
        // The guest register is personal data: the file (and the WAL and shared-memory files
        // SQLite creates with the same mode) is for the desk's own user only.
        #[cfg(unix)]
        {
            use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .mode(0o600)
                .open(&file)
                .map_err(sqlx::Error::Io)?;
            // Journal files an earlier version left keep their own mode: tighten them too.
            for suffix in ["", "-wal", "-shm"] {
                let f = std::path::PathBuf::from(format!("{}{suffix}", file.display()));
                if f.exists() {
                    std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o600))
                        .map_err(sqlx::Error::Io)?;
                }
            }
        }
        let url = format!("sqlite://{}", file.display());
        let options = SqliteConnectOptions::from_str(&url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // WAL + NORMAL survives a crash of the desk (not of the machine's power); losing
            // the last instant of nonces on a power cut is the price of not fsyncing on every
            // scan, and a proof lives 60 s anyway.
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(5));
        // One writer connection: the replay insert must be atomic across terminals, and
        // SQLite serialises writers anyway.
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await?;
        for s in SCHEMA {
            sqlx::query(*s).execute(&pool).await?;
        }
        let present: Vec<String> =
            sqlx::query_scalar("SELECT name FROM pragma_table_info('guests')")
                .fetch_all(&pool)
                .await?;
        for (column, add) in ADDED_GUEST_COLUMNS {
            if !present.iter().any(|c| c == column) {
                sqlx::query(*add).execute(&pool).await?;
            }
        }
        Ok(DeskStore { pool })
    }

    /// Records a presentation's nonce; false if any terminal saw it before.
    pub async fn record_nonce(&self, key: &[u8; 16], keep_until: u64) -> Result<bool> {
        let r = sqlx::query(
            "INSERT INTO replay (key, keep_until) VALUES (?, ?) ON CONFLICT (key) DO NOTHING",
        )
        .bind(key.as_slice())
        .bind(i(keep_until))
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    /// Forgets expired nonces and sessions, and guests older than the retention period.
    /// Returns how many guest records were deleted.
    pub async fn purge(&self, now: u64, retention_days: u64) -> Result<u64> {
        sqlx::query("DELETE FROM replay WHERE keep_until < ?")
            .bind(i(now))
            .execute(&self.pool)
            .await?;
        sqlx::query("DELETE FROM sessions WHERE expires_at < ?")
            .bind(i(now))
            .execute(&self.pool)
            .await?;
        let cutoff = now.saturating_sub(retention_days.saturating_mul(86_400));
        let r = sqlx::query("DELETE FROM guests WHERE checked_in_at < ?")
            .bind(i(cutoff))
            .execute(&self.pool)
            .await?;
        Ok(r.rows_affected())
    }

    /// Adds a staff member or replaces their password hash (PHC string). A new password
    /// ends every session of that name, in the same transaction: whoever learnt the old
    /// password, or sits at a terminal left logged in, is out.
    pub async fn set_staff(&self, name: &str, phc: &str, now: u64) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("INSERT INTO staff (name, phc, created_at) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE SET phc = excluded.phc")
            .bind(name)
            .bind(phc)
            .bind(i(now))
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM sessions WHERE staff = ?")
            .bind(name)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Removes a staff member and ends their sessions; false if there was no such name.
    /// Their guest-register records stay (they name who checked the guest in).
    pub async fn remove_staff(&self, name: &str) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        let r = sqlx::query("DELETE FROM staff WHERE name = ?")
            .bind(name)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM sessions WHERE staff = ?")
            .bind(name)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(r.rows_affected() == 1)
    }

    /// A staff member's password hash.
    pub async fn staff_phc(&self, name: &str) -> Result<Option<String>> {
        let row = sqlx::query("SELECT phc FROM staff WHERE name = ?")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.try_get("phc")).transpose()?)
    }

    /// Starts a session (the token's hash only is stored).
    pub async fn create_session(
        &self,
        token_sha256: &str,
        staff: &str,
        expires_at: u64,
    ) -> Result<()> {
        sqlx::query("INSERT INTO sessions (token_sha256, staff, expires_at) VALUES (?, ?, ?)")
            .bind(token_sha256)
            .bind(staff)
            .bind(i(expires_at))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The staff member of a live session.
    pub async fn session(&self, token_sha256: &str, now: u64) -> Result<Option<String>> {
        // Only while the account exists (a session cannot outlive its staff member, however
        // the row was removed).
        let row = sqlx::query(
            "SELECT s.staff AS staff FROM sessions s JOIN staff st ON st.name = s.staff
             WHERE s.token_sha256 = ? AND s.expires_at >= ?",
        )
        .bind(token_sha256)
        .bind(i(now))
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| r.try_get("staff")).transpose()?)
    }

    /// Ends a session.
    pub async fn end_session(&self, token_sha256: &str) -> Result<()> {
        sqlx::query("DELETE FROM sessions WHERE token_sha256 = ?")
            .bind(token_sha256)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Adds a guest record; returns its id.
    pub async fn add_guest(&self, g: &Guest) -> Result<i64> {
        let r = sqlx::query("INSERT INTO guests (checked_in_at, staff, room, arrival, departure, full_name, id_number, date_of_birth, sex, face_check, face_similarity) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
            .bind(g.checked_in_at)
            .bind(&g.staff)
            .bind(&g.room)
            .bind(&g.arrival)
            .bind(&g.departure)
            .bind(&g.full_name)
            .bind(&g.id_number)
            .bind(&g.date_of_birth)
            .bind(&g.sex)
            .bind(&g.face_check)
            .bind(g.face_similarity)
            .execute(&self.pool)
            .await?;
        Ok(r.last_insert_rowid())
    }

    /// Every guest record, newest first.
    pub async fn guests(&self) -> Result<Vec<Guest>> {
        let rows = sqlx::query("SELECT id, checked_in_at, staff, room, arrival, departure, full_name, id_number, date_of_birth, sex, face_check, face_similarity FROM guests ORDER BY id DESC")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(Guest {
                    id: r.try_get("id")?,
                    checked_in_at: r.try_get("checked_in_at")?,
                    staff: r.try_get("staff")?,
                    room: r.try_get("room")?,
                    arrival: r.try_get("arrival")?,
                    departure: r.try_get("departure")?,
                    full_name: r.try_get("full_name")?,
                    id_number: r.try_get("id_number")?,
                    date_of_birth: r.try_get("date_of_birth")?,
                    sex: r.try_get("sex")?,
                    face_check: r.try_get("face_check")?,
                    face_similarity: r.try_get("face_similarity")?,
                })
            })
            .collect()
    }

    /// Closes the database.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}
