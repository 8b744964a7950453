//! A fresh PostgreSQL database per run, on the server `TESSERA_TEST_POSTGRES_URL` names
//! (as the issuer's own PostgreSQL tests do; `scripts/postgres.sh` starts one and prints the
//! URL, and drops the `tessera_test_*` databases earlier runs left).

use super::http::runtime;

const ENV: &str = "TESSERA_TEST_POSTGRES_URL";

/// The server's admin URL, or a failure that says how to get one. Like the issuer's tests,
/// the journey fails rather than skips: a system test that silently does nothing hides that
/// nothing was tested.
pub fn server_url() -> String {
    std::env::var(ENV).unwrap_or_else(|_| {
        panic!(
            "{ENV} is not set: the journey runs the issuer on PostgreSQL. Start one with \
             `scripts/postgres.sh` (it prints the URL, e.g. \
             postgres://tessera:tessera@127.0.0.1:5432/postgres) and run \
             `{ENV}=… scripts/with-keyring.sh cargo test --workspace --test journey` \
             (scripts/test.sh does both)"
        )
    })
}

async fn admin(url: &str) -> sqlx::AnyPool {
    sqlx::any::install_default_drivers();
    sqlx::AnyPool::connect(url)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to {ENV} ({url}): {e}"))
}

/// A new, empty database on `server`; its URL.
pub fn fresh_database(server: &str) -> String {
    let name = format!(
        "tessera_test_journey_{}_{}",
        std::process::id(),
        super::now()
    );
    runtime().block_on(async {
        let pool = admin(server).await;
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&pool)
            .await
            .expect("create the journey's database");
        pool.close().await;
    });
    let base = server.rsplit_once('/').map_or(server, |(b, _)| b);
    format!("{base}/{name}")
}

/// Drops the database `url` names (every connection to it closed first).
pub fn drop_database(server: &str, url: &str) {
    let name = url.rsplit_once('/').map_or(url, |(_, n)| n).to_owned();
    runtime().block_on(async {
        let pool = admin(server).await;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {name}"
        )))
        .execute(&pool)
        .await
        .expect("drop the journey's database");
        pool.close().await;
    });
}
