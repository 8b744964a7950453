//! "Show" latency with the real OS keystore (run under `scripts/with-keyring.sh`): a new
//! showing (the one-time credential counted as shown: one sealed vault write) to the QR
//! text, a regeneration within a showing (a vault read) to the text and to the rendered
//! PNG, for each tier; and keystore read / write of the vault head alone.
//!
//! `scripts/with-keyring.sh cargo bench -p tessera-wallet --bench show`

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use tessera_credential::claims::Tier;
use tessera_wallet::keystore::{OsKeystore, SecretStore};
use tessera_wallet::vault::{StoredBatch, VAULT_ENTRY, Vault, VaultStore};
use tessera_wallet::wallet::{UpgradedUnlock, Wallet};

fn benches(c: &mut Criterion) {
    let service = format!("tessera-wallet-bench-{}", std::process::id());
    let store = OsKeystore::open(&service).expect("run under scripts/with-keyring.sh");
    let fixture = tessera_vectors::Wallet::standard();
    let mut vault = Vault::default();
    vault.device_key = Some(fixture.device.secret_bytes().to_vec());
    vault.batch = Some(StoredBatch {
        enrolment_id: "bench".into(),
        issued_at: fixture.lightweight.claims.issued_at,
        expires_at: fixture.lightweight.claims.expires_at,
        lightweight: fixture.lightweight.to_tagged_bytes(),
        upgraded: fixture.upgraded.to_tagged_bytes(),
    });
    let dir = std::env::temp_dir().join(format!("tessera-wallet-bench-{}", std::process::id()));
    vault
        .save(&VaultStore::in_data_dir(
            Box::new(OsKeystore::open(&service).unwrap()),
            &dir,
        ))
        .unwrap();
    let vault_bytes = store.get(VAULT_ENTRY).unwrap().unwrap();
    let wallet = Wallet::open(Box::new(OsKeystore::open(&service).unwrap()), &dir).unwrap();
    let now = tessera_vectors::NOW;
    let unlock = UpgradedUnlock {
        face_verified_at: now,
    };

    let mut g = c.benchmark_group("show");
    for tier in [Tier::Lightweight, Tier::Upgraded] {
        let u = (tier == Tier::Upgraded).then_some(&unlock);
        g.bench_function(format!("{}/new showing", tier.name()), |b| {
            b.iter(|| black_box(wallet.show_unlocked(tier, u, now).unwrap()))
        });
        let showing = wallet.begin_showing(tier, now).unwrap();
        g.bench_function(format!("{}/text", tier.name()), |b| {
            b.iter(|| black_box(wallet.show_in(&showing, u, now).unwrap()))
        });
        g.bench_function(format!("{}/png", tier.name()), |b| {
            b.iter(|| {
                let shown = wallet.show_in(&showing, u, now).unwrap();
                black_box(tessera_qr::encode(&shown.text).unwrap().to_png(6))
            })
        });
    }
    g.finish();

    let mut g = c.benchmark_group("keystore");
    g.bench_function("read vault head", |b| {
        b.iter(|| black_box(store.get(VAULT_ENTRY).unwrap()))
    });
    g.bench_function("write vault head", |b| {
        b.iter(|| store.put(VAULT_ENTRY, &vault_bytes).unwrap())
    });
    g.finish();
    println!("vault size: {} bytes", vault_bytes.len());
    store.delete(VAULT_ENTRY).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group! {
    name = show;
    config = Criterion::default().sample_size(30);
    targets = benches
}
criterion_main!(show);
