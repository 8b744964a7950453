//! The schema, written once for both databases: `{blob}` and `{serial}` are the only
//! differences between SQLite and PostgreSQL.

/// Each migration is a list of statements; the index + 1 is the schema version.
pub const MIGRATIONS: &[&[&str]] = &[
    &[
        "CREATE TABLE registry (
        id_number TEXT PRIMARY KEY,
        full_name TEXT NOT NULL,
        date_of_birth TEXT NOT NULL,
        sex TEXT NOT NULL,
        photo {blob} NOT NULL,
        photo_sha256 {blob} NOT NULL,
        template {blob} NOT NULL,
        imported_at BIGINT NOT NULL
    )",
        "CREATE TABLE challenges (
        id TEXT PRIMARY KEY,
        nonce {blob} NOT NULL,
        actions TEXT NOT NULL,
        issued_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL,
        used_at BIGINT
    )",
        "CREATE INDEX challenges_expiry ON challenges (expires_at)",
        // One row per issued batch. `response` is the JSON the client got, so a retried
        // request gets the very same answer.
        "CREATE TABLE enrolments (
        id TEXT PRIMARY KEY,
        id_number TEXT NOT NULL REFERENCES registry (id_number),
        device_kid TEXT NOT NULL UNIQUE,
        challenge_id TEXT NOT NULL UNIQUE,
        kind TEXT NOT NULL,
        previous_id TEXT,
        state TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL,
        response TEXT NOT NULL
    )",
        "CREATE INDEX enrolments_person ON enrolments (id_number, state)",
        "CREATE TABLE credentials (
        cti TEXT PRIMARY KEY,
        enrolment_id TEXT NOT NULL REFERENCES enrolments (id),
        tier TEXT NOT NULL,
        status_list BIGINT NOT NULL,
        status_idx BIGINT NOT NULL,
        status BIGINT NOT NULL,
        expires_at BIGINT NOT NULL,
        UNIQUE (status_list, status_idx)
    )",
        "CREATE INDEX credentials_enrolment ON credentials (enrolment_id)",
        // `version` grows with every status change, so caches know when to re-sign.
        "CREATE TABLE status_lists (
        list BIGINT PRIMARY KEY,
        size BIGINT NOT NULL,
        used BIGINT NOT NULL,
        version BIGINT NOT NULL
    )",
        // Decisions only: never images, templates or similarity scores of refused faces.
        "CREATE TABLE audit (
        id {serial},
        at BIGINT NOT NULL,
        event TEXT NOT NULL,
        id_number TEXT,
        outcome TEXT NOT NULL,
        detail TEXT NOT NULL
    )",
    ],
    &[
        // Verifiers (hotel desks, banks) allowed to fetch registry portraits. Only a SHA-256 of
        // the key is kept: the key is 32 random bytes, so a slow hash would add nothing.
        "CREATE TABLE verifiers (
        name TEXT PRIMARY KEY,
        key_sha256 TEXT NOT NULL UNIQUE,
        created_at BIGINT NOT NULL
    )",
    ],
    &[
        // When each verifier last received a portrait: an operator deciding which keys to
        // remove needs to see which desks are still in use.
        "ALTER TABLE verifiers ADD COLUMN last_used_at BIGINT",
    ],
    &[
        // The device key a challenge was drawn for (SHA-256 of its SPKI DER): enrolment and
        // renewal answer only with that key, so a relayed live answer cannot be redirected to
        // another key. NULL for challenges drawn without a key (holder revocation only).
        "ALTER TABLE challenges ADD COLUMN device_key_sha256 {blob}",
    ],
    &[
        // Repeated refusals are one row with a count (`occurrences`), keyed by `aggregate`
        // (event, client, reason, window): a flood of unauthenticated requests cannot grow
        // the table. NULL for records that stand alone (unique indexes let NULLs repeat).
        "ALTER TABLE audit ADD COLUMN occurrences BIGINT NOT NULL DEFAULT 1",
        "ALTER TABLE audit ADD COLUMN aggregate TEXT",
        "CREATE UNIQUE INDEX audit_aggregate ON audit (aggregate)",
        // The retention purge deletes by time.
        "CREATE INDEX audit_at ON audit (at)",
    ],
    &[
        // Relying parties registered for Sign in with Tessera (issue 13). Only a SHA-256 of
        // the client secret is kept (32 random bytes: a slow hash would add nothing).
        // `redirect_uris` and `claims` are newline- and comma-joined lists.
        "CREATE TABLE oidc_clients (
        client_id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        name_zh TEXT,
        redirect_uris TEXT NOT NULL,
        tier TEXT NOT NULL,
        claims TEXT NOT NULL,
        sector TEXT NOT NULL,
        secret_sha256 {blob} NOT NULL,
        created_at BIGINT NOT NULL
    )",
        // One row per authorization request, so any replica serves any step. `outcome` goes
        // pending → approved → redeemed, or pending → refused; each step is one conditional
        // UPDATE, so two replicas cannot both approve or both redeem. The page's secret and
        // the code are stored as SHA-256 only: the code is derived from the page's secret,
        // which only the browser that started the sign-in holds.
        "CREATE TABLE sign_ins (
        id TEXT PRIMARY KEY,
        client_id TEXT NOT NULL,
        redirect_uri TEXT NOT NULL,
        state TEXT,
        nonce TEXT,
        code_challenge TEXT NOT NULL,
        claims TEXT NOT NULL,
        tier TEXT NOT NULL,
        issued_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL,
        holder_nonce {blob} NOT NULL,
        match_code BIGINT NOT NULL,
        match_choices TEXT NOT NULL,
        page_secret_sha256 {blob} NOT NULL,
        outcome TEXT NOT NULL,
        reason TEXT,
        id_number TEXT,
        auth_time BIGINT,
        code_sha256 {blob} UNIQUE,
        code_expires_at BIGINT
    )",
        "CREATE INDEX sign_ins_expiry ON sign_ins (expires_at)",
    ],
    &[
        // Refills of one-time credentials (issue 14): the answer is kept by challenge, so a
        // wallet that crashed mid-refill gets the same credentials again, never a second set.
        "CREATE TABLE refills (
        challenge_id TEXT PRIMARY KEY,
        enrolment_id TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        response TEXT NOT NULL
    )",
        // A one-time credential retired by a refill: it no longer proves a holder, but its
        // status bit stays as it was. Flipping the bits of every credential a refill retires
        // at once would let verifiers who poll the lists group the showings they saw by the
        // moment they flipped; and the wallet deletes a retired credential with its key, so
        // nobody can show it again anyway.
        "ALTER TABLE credentials ADD COLUMN retired_at BIGINT",
    ],
    &[
        // TPM key attestation (issue 15): the serialised `ActivationState` (JSON; the AK's
        // point and the secret the wallet's TPM must activate) of a challenge drawn with a
        // TPM, NULL otherwise. As confidential as the challenge itself, and forgotten with it.
        "ALTER TABLE challenges ADD COLUMN tpm_state TEXT",
        // What the attestation proved about the batch's main device key: `software`,
        // `hardware` or `hardware_with_pin` (NULL for batches issued before this column:
        // software).
        "ALTER TABLE enrolments ADD COLUMN key_protection TEXT",
    ],
];
