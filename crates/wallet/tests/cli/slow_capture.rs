//! A face capture slower than the desks' clock allowance (30 s) must not make the wallet
//! refuse the credentials it then receives as "not valid now": what is checked after the
//! capture is checked at the time it happens (found by the system test under load).

use std::time::Duration;

use tessera_wallet::client::IssuerClient;
use tessera_wallet::keystore::OsKeystore;
use tessera_wallet::lifecycle::State;
use tessera_wallet::trust::TrustAnchor;
use tessera_wallet::wallet::{Capture, RecordedFrames, Wallet, WalletError};

use crate::common::{obama_id, start_issuer, testdata};

/// The committed frames, handed over after a person's slow minute in front of the camera.
struct Slow(RecordedFrames, Duration);

impl Capture for Slow {
    fn answer(&mut self, actions: &[String]) -> Result<Vec<Vec<u8>>, WalletError> {
        std::thread::sleep(self.1);
        self.0.answer(actions)
    }
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[test]
fn a_slow_face_capture_still_stores_the_credentials() {
    let label = format!("tessera-wallet-slow-{}", std::process::id());
    let dir = std::env::temp_dir().join(&label);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let issuer = start_issuer(&dir);
    let store = OsKeystore::open(&label).unwrap_or_else(|e| {
        panic!("{e}\n(run the tests through scripts/with-keyring.sh, as scripts/test.sh does)")
    });
    let wallet = Wallet::open(Box::new(store), &dir.join("wallet")).unwrap();
    let anchor = TrustAnchor::from_file(&dir.join("trust-list-key.pem")).unwrap();
    let client = IssuerClient::new(&issuer, anchor).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut capture = Slow(
        RecordedFrames(testdata().join("liveness/obama")),
        Duration::from_secs(40),
    );
    // The time the person pressed "Add my ID".
    let started = now();
    let status = rt
        .block_on(wallet.enrol(&client, &obama_id(), &mut capture, false, started))
        .unwrap_or_else(|e| panic!("enrolment after a 40 s capture: {e}"));
    assert_eq!(status.state, State::Active);
    wallet.reset(None, now()).ok();
    std::fs::remove_dir_all(&dir).ok();
}
