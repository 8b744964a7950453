//! The committed vectors are exactly what the generator makes, and the QR sizes stay within
//! the targets of DESIGN §3.

use std::path::Path;
use tessera_credential::*;
use tessera_vectors::*;

#[test]
fn committed_vectors_match_the_generator() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/format/vectors");
    for (name, bytes) in generate::files().unwrap() {
        let committed = std::fs::read(dir.join(&name))
            .unwrap_or_else(|_| panic!("{name} is missing: run `cargo run -p tessera-vectors`"));
        assert!(
            committed == bytes,
            "{name} differs: run `cargo run -p tessera-vectors`"
        );
    }
}

fn version_of(p: &Presentation) -> u8 {
    tessera_qr::encode(&p.to_qr_text()).unwrap().version()
}

/// The worst realistic case: a four-character name, a status index past 65 535, a list
/// number past 23 (both take more CBOR bytes).
fn wallet(name: &'static str, idx: u64, list: u64) -> Wallet {
    let mut w = Wallet::standard();
    let person = Person {
        full_name: name,
        ..PERSON
    };
    let mut rng = SeededRandomness::new("size");
    for upgraded in [false, true] {
        let mut c = claims(
            &w.device,
            identity(&person, upgraded),
            NOW - 100,
            idx,
            &mut rng,
        );
        c.status.list = list;
        let cred = issue(c, &w.issuer);
        if upgraded {
            w.upgraded = cred
        } else {
            w.lightweight = cred
        }
    }
    w
}

#[test]
fn qr_sizes_stay_within_their_targets() {
    for (name, idx, list) in [("张晓明", 1, 1), ("欧阳晓明", 4_000_000_000, 1000)] {
        let mut w = wallet(name, idx, list);
        let light = w.show_lightweight(NOW);
        let up = w.show_upgraded(NOW);
        let (lv, uv) = (version_of(&light), version_of(&up));
        eprintln!(
            "{name}: lightweight {} chars v{lv}, upgraded {} chars v{uv}",
            light.to_qr_text().len(),
            up.to_qr_text().len()
        );
        assert!(lv <= 13, "lightweight grew to version {lv}");
        assert!(uv <= 16, "upgraded grew to version {uv}");
    }
}

/// The age-only tier (issue 14) must meet the lightweight tier's target, version 13, in the
/// same worst case (a status index past 2^32, list 1000).
#[test]
fn the_age_only_code_meets_the_lightweight_target() {
    let mut w = wallet("欧阳晓明", 4_000_000_000, 1000);
    let mut rng = SeededRandomness::new("age-only");
    let mut c = claims(
        &w.device,
        Identity::AgeOnly(tessera_credential::claims::AgeOnlyClaims { age_over_18: true }),
        NOW - 100,
        4_000_000_000,
        &mut rng,
    );
    c.status.list = 1000;
    w.lightweight = issue(c, &w.issuer);
    let shown = w.show_lightweight(NOW);
    assert_eq!(shown.credential.claims.tier(), Tier::AgeOnly);
    let v = version_of(&shown);
    eprintln!("age only: {} chars v{v}", shown.to_qr_text().len());
    assert!(v <= 13, "age-only grew to version {v}");
    // And it verifies like any other code (the proof carries the age-only tier).
    assert_eq!(shown.proof.claims.tier, Tier::AgeOnly);
}
