//! Property tests: round trips, every single-byte change refused, arbitrary text never panics.

use proptest::prelude::*;
use tessera_credential::*;
use tessera_vectors::*;

fn trust(w: &Wallet) -> TrustList {
    TrustList::single("Demo ID authority", w.issuer.public_key())
}

fn verify_bytes(bytes: &[u8], trust: &TrustList) -> Result<Verdict, VerifyError> {
    let p = Presentation::from_cbor(bytes)?;
    verify(
        &p,
        trust,
        &VerifyOptions::at(NOW),
        &status_list::NoStatusLists,
        &mut MemoryReplayCache::default(),
    )
}

/// Every position, several changes each: nothing but the original verifies.
#[test]
fn every_single_byte_change_is_refused() {
    let mut w = Wallet::standard();
    let t = trust(&w);
    for p in [w.show_lightweight(NOW), w.show_upgraded(NOW)] {
        let bytes = p.to_cbor();
        assert!(verify_bytes(&bytes, &t).is_ok());
        for i in 0..bytes.len() {
            for delta in [0x01u8, 0x80, 0xff] {
                let mut b = bytes.clone();
                b[i] ^= delta;
                assert!(
                    verify_bytes(&b, &t).is_err(),
                    "byte {i} ^ {delta:#x} accepted"
                );
            }
        }
        // Truncations and an extra trailing byte.
        for n in 0..bytes.len() {
            assert!(verify_bytes(&bytes[..n], &t).is_err(), "truncated to {n}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(verify_bytes(&longer, &t).is_err());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_byte_value_at_any_position_is_refused(pos in any::<prop::sample::Index>(), value in any::<u8>(), upgraded in any::<bool>()) {
        let mut w = Wallet::standard();
        let p = if upgraded { w.show_upgraded(NOW) } else { w.show_lightweight(NOW) };
        let mut bytes = p.to_cbor();
        let i = pos.index(bytes.len());
        prop_assume!(bytes[i] != value);
        bytes[i] = value;
        prop_assert!(verify_bytes(&bytes, &trust(&w)).is_err());
    }

    #[test]
    fn arbitrary_text_never_panics(text in ".{0,600}") {
        let _ = Presentation::from_qr_text(&text);
    }

    #[test]
    fn arbitrary_base45_after_the_prefix_never_panics(body in "[0-9A-Z $%*+./:-]{0,700}") {
        let _ = Presentation::from_qr_text(&format!("TS1:{body}"));
    }

    #[test]
    fn arbitrary_bytes_after_the_prefix_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        let text = format!("TS1:{}", base45::encode(&bytes));
        prop_assert!(Presentation::from_qr_text(&text).is_err());
    }

    #[test]
    fn claims_round_trip(
        name in "[\u{4e00}-\u{9fa5}]{2,4}",
        id in "[0-9]{17}[0-9X]",
        dob in (1900u32..2025, 1u32..13, 1u32..29),
        idx in any::<u32>(),
        upgraded in any::<bool>(),
    ) {
        let issuer = key("issuer-2026");
        let device = key("device-1");
        let mut rng = SeededRandomness::new(&name);
        let person = Person {
            full_name: Box::leak(name.into_boxed_str()),
            id_number: Box::leak(id.into_boxed_str()),
            date_of_birth: Box::leak(format!("{:04}{:02}{:02}", dob.0, dob.1, dob.2).into_boxed_str()),
            gender: Gender::Male,
        };
        let c = claims(&device, identity(&person, upgraded), NOW - 100, u64::from(idx), &mut rng);
        let cred = issue(c.clone(), &issuer);
        let request = ProofRequest {
            now: NOW,
            lifetime: 60,
            auth: AuthMethods::USER.with(AuthMethods::PIN).with(AuthMethods::FACE),
            face_verified_at: Some(NOW - 1),
        };
        let p = present(&cred, &device, request, &mut rng);
        let text = p.to_qr_text();
        let back = Presentation::from_qr_text(&text).unwrap();
        prop_assert_eq!(&back.credential.claims, &c);
        let v = verify(&back, &TrustList::single("x", issuer.public_key()), &VerifyOptions::at(NOW),
            &status_list::NoStatusLists, &mut MemoryReplayCache::default()).unwrap();
        prop_assert_eq!(v.claims, c.identity);
    }
}
