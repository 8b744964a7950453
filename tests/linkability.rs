//! Issue 14's linkability test, through the real binaries: a citizen enrols with
//! `tessera-wallet`, shows 50 lightweight and 20 age-only codes (interleaved; the wallet
//! refills its one-time credentials online by itself), and each code is verified at one of
//! three front desks (`tessera-verify serve`, each its own data dir, through its HTTP API).
//!
//! Then, over every pair of the 70 showings, no CBOR value anywhere in the code (COSE
//! headers, CWT claims, Claim 169 map, `cnf` COSE_Key, status claim, proof claims,
//! signatures) may be equal unless [`MAY_BE_EQUAL`] names its path with a reason; `cti`,
//! device key, status slot, nonce and signatures are checked directly, and no byte string
//! of one code may appear anywhere inside another. The desks' stored data (SQLite, cache,
//! logs, the register and its CSV export) must hold nothing that links two showings.
//!
//! The checker is shown to catch linkage: the same code decoded twice, and — with the
//! issuer stopped and the one-time credentials used up — two codes the wallet makes from one
//! credential (it warns "can be linked") are reported with their shared `cti`, key, status
//! index and signature.
//!
//! Needs `TESSERA_TEST_POSTGRES_URL` (`scripts/postgres.sh`) and the OS keystore
//! (`scripts/with-keyring.sh`), as `journey.rs`.

// The support modules serve journey.rs too; this test uses part of them.
#[allow(dead_code)]
mod support;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::time::Instant;

use ciborium::value::Value;
use serde_json::Value as Json;
use support::http::Terminal;
use support::services::{Desk, Issuer, said};
use support::wallet::Wallet;
use support::{citizen_id, liveness, now, postgres};
use tessera_credential::{Presentation, Tier};

const PIN: &str = "246810";
const STAFF: &str = "alice";
const STAFF_PASSWORD: &str = "front desk password";
const VENUE_POLICY: &str = "refresh_interval_seconds = 1\n";
const DESKS: usize = 3;
const LIGHTWEIGHT_SHOWINGS: usize = 50;
const AGE_ONLY_SHOWINGS: usize = 20;
/// The issuer's default `serve --batch-size`.
const BATCH: usize = 10;
/// The wallet refills when fewer than this many unused credentials of a tier remain.
const REFILL_BELOW: usize = 3;
/// The verifiers' clock skew (format §4): a replay record is kept until the proof's
/// `exp` + this.
const SKEW: u64 = 30;
const DAY: u64 = 86_400;

/// Paths (see [`leaves`]) whose value MAY be the same in two showings of one person, each
/// with why that links nothing: it is the same for everyone the issuer served that day, or
/// it is the disclosed claim itself. Everything else must differ between any two showings.
/// Besides these, the format's shape may repeat: which keys a map has (`…{keys}`) and how
/// long an array is (`…[len]`).
///
/// Paths: `credential` / `proof` are the two COSE_Sign1; `.protected`, `.payload` their
/// decoded bstr contents (`@bytes`: the bstr itself); then map keys as in
/// docs/format/README.md, array positions as `[i]`.
const MAY_BE_EQUAL: &[(&str, &str, &str)] = &[
    (
        "credential.protected@bytes",
        "protected header",
        "encodes only alg and kid (below)",
    ),
    ("credential.protected.1", "alg", "ES256 in every credential"),
    (
        "credential.protected.4",
        "kid",
        "the issuer key: the same in everything it signs",
    ),
    (
        "credential.payload.1",
        "iss",
        "the issuing authority: the same for everyone",
    ),
    (
        "credential.payload.6",
        "iat",
        "the start of the day of issuance (or the issuer key's valid_from, if newer): everyone issued that day shares it",
    ),
    ("credential.payload.5", "nbf", "= iat"),
    (
        "credential.payload.4",
        "exp",
        "the start of the day the validity ends: everyone issued that day shares it",
    ),
    ("credential.payload.8.1.1", "cnf kty", "EC2 for every key"),
    (
        "credential.payload.8.1.-1",
        "cnf crv",
        "P-256 for every key",
    ),
    (
        "credential.payload.8.1.-3",
        "cnf y sign",
        "one bit (the sign of y): half of all keys share it",
    ),
    (
        "credential.payload.65535.ts[0]",
        "status list number",
        "one of the few open lists, shared by everyone issued while it is open; the index and the (list, index) pair differ",
    ),
    (
        "credential.payload.169.80",
        "tier marker",
        "the tier shown: the same for everyone's codes of that tier",
    ),
    (
        "credential.payload.169.1",
        "masked ID number",
        "the disclosed claim itself (first 3 and last 2 characters)",
    ),
    (
        "credential.payload.169.4",
        "masked name",
        "the disclosed claim itself (first and last character)",
    ),
    (
        "credential.payload.169.81",
        "age over 18",
        "the disclosed claim itself",
    ),
    (
        "credential.payload.169.83",
        "key protection",
        "the kind of device key (absent for software keys): shared by everyone whose keys are of that kind",
    ),
    (
        "proof.protected@bytes",
        "proof protected header",
        "constant h'A10126' (alg only)",
    ),
    ("proof.protected.1", "proof alg", "ES256 in every proof"),
    (
        "proof.payload.1",
        "proof iat",
        "the moment of showing, which the verifier sees anyway: equal only when two codes are made in the same second",
    ),
    (
        "proof.payload.2",
        "proof exp",
        "proof iat + 60: equal only when two codes are made in the same second",
    ),
    (
        "proof.payload.4",
        "proof tier",
        "= the credential's tier marker",
    ),
    (
        "proof.payload.5",
        "amr",
        "`user` (1) in every lightweight and age-only showing",
    ),
];

/// Paths of [`MAY_BE_EQUAL`] a run may not meet: key protection is absent for software
/// device keys (a machine without a TPM).
const MAY_BE_ABSENT: &[&str] = &["credential.payload.169.83"];

/// Why a path may repeat, if it may.
fn may_be_equal(path: &str) -> Option<&'static str> {
    if path.ends_with("{keys}") || path.ends_with("[len]") {
        return Some("the format's shape");
    }
    MAY_BE_EQUAL
        .iter()
        .find(|(p, _, _)| *p == path)
        .map(|(_, _, why)| *why)
}

fn say(line: &str) {
    eprintln!("linkability: {line}");
}

// ---------------------------------------------------------------------------------------
// The CBOR walk

fn cbor(bytes: &[u8]) -> Value {
    let mut rest = bytes;
    let v: Value = ciborium::de::from_reader(&mut rest).expect("one CBOR item");
    assert!(rest.is_empty(), "bytes after the CBOR item");
    v
}

fn key_name(k: &Value) -> String {
    match k {
        Value::Integer(i) => i128::from(*i).to_string(),
        Value::Text(t) => t.clone(),
        other => format!("{other:?}"),
    }
}

fn leaf(v: &Value) -> String {
    match v {
        Value::Integer(i) => i128::from(*i).to_string(),
        Value::Bytes(b) => format!("h'{}'", hex::encode(b)),
        Value::Text(t) => format!("{t:?}"),
        Value::Bool(b) => b.to_string(),
        other => format!("{other:?}"),
    }
}

/// Every (path, value) under `v`, maps and arrays descended into; a map's key set and an
/// array's length are leaves of their own (`{keys}`, `[len]`), as is a tag.
fn walk(v: &Value, path: &str, out: &mut Vec<(String, String)>) {
    match v {
        Value::Map(pairs) => {
            let keys: Vec<String> = pairs.iter().map(|(k, _)| key_name(k)).collect();
            out.push((format!("{path}{{keys}}"), keys.join(",")));
            for (k, v) in pairs {
                walk(v, &format!("{path}.{}", key_name(k)), out);
            }
        }
        Value::Array(items) => {
            out.push((format!("{path}[len]"), items.len().to_string()));
            for (i, v) in items.iter().enumerate() {
                walk(v, &format!("{path}[{i}]"), out);
            }
        }
        Value::Tag(t, inner) => {
            // No tags inside a presentation (format §1): a tag is a path of its own, never
            // allowed to repeat.
            out.push((format!("{path}#tag"), t.to_string()));
            walk(inner, &format!("{path}#{t}"), out);
        }
        other => out.push((path.to_owned(), leaf(other))),
    }
}

/// A COSE_Sign1 `[protected, unprotected, payload, signature]`: the protected header and
/// the payload are CBOR inside a bstr, walked both as bytes and decoded.
fn walk_sign1(v: &Value, name: &str, out: &mut Vec<(String, String)>) {
    let Value::Array(parts) = v else {
        panic!("{name} is not a COSE_Sign1 array")
    };
    assert_eq!(parts.len(), 4, "{name}: a COSE_Sign1 has 4 parts");
    out.push((format!("{name}[len]"), "4".into()));
    for (part, embedded) in [("protected", 0), ("payload", 2)] {
        let Value::Bytes(b) = &parts[embedded] else {
            panic!("{name}.{part} is not a bstr")
        };
        out.push((format!("{name}.{part}@bytes"), leaf(&parts[embedded])));
        walk(&cbor(b), &format!("{name}.{part}"), out);
    }
    walk(&parts[1], &format!("{name}.unprotected"), out);
    walk(&parts[3], &format!("{name}.signature"), out);
}

/// Every (path, value) of a QR text's presentation.
fn leaves(text: &str) -> (Vec<u8>, Vec<(String, String)>) {
    let body = text.trim().strip_prefix("TS1:").expect("a TS1: code");
    let bytes = base45::decode(body).expect("Base45");
    let mut out = vec![(
        "presentation@bytes".to_owned(),
        format!("h'{}'", hex::encode(&bytes)),
    )];
    let Value::Array(items) = cbor(&bytes) else {
        panic!("the presentation is not an array")
    };
    out.push(("presentation[len]".into(), items.len().to_string()));
    assert_eq!(items.len(), 2);
    walk_sign1(&items[0], "credential", &mut out);
    walk_sign1(&items[1], "proof", &mut out);
    (bytes, out)
}

/// One showing's code, decoded.
#[derive(Debug, Clone)]
struct Code {
    /// Showing number (for messages).
    n: usize,
    tier: Tier,
    text: String,
    bytes: Vec<u8>,
    leaves: Vec<(String, String)>,
    cti: [u8; 8],
    /// The `cnf` x coordinate.
    x: Vec<u8>,
    list: u64,
    idx: u64,
    credential_signature: Vec<u8>,
    proof_signature: Vec<u8>,
    nonce: Vec<u8>,
    proof_iat: u64,
    proof_exp: u64,
    iat: u64,
    nbf: u64,
    exp: u64,
}

impl Code {
    fn new(n: usize, text: &str) -> Code {
        let p = Presentation::from_qr_text(text).expect("a Tessera code");
        let (bytes, leaves) = leaves(text);
        let bytes_at = |path: &str| {
            let (_, v) = leaves
                .iter()
                .find(|(p, _)| p == path)
                .unwrap_or_else(|| panic!("no {path} in the code"));
            hex::decode(
                v.strip_prefix("h'")
                    .and_then(|v| v.strip_suffix('\''))
                    .unwrap(),
            )
            .unwrap()
        };
        let c = &p.credential.claims;
        Code {
            n,
            tier: c.tier(),
            text: text.to_owned(),
            x: bytes_at("credential.payload.8.1.-2"),
            credential_signature: bytes_at("credential.signature"),
            proof_signature: bytes_at("proof.signature"),
            nonce: bytes_at("proof.payload.3"),
            bytes,
            leaves,
            cti: c.credential_id,
            list: c.status.list,
            idx: c.status.idx,
            proof_iat: p.proof.claims.issued_at,
            proof_exp: p.proof.claims.expires_at,
            iat: c.issued_at,
            nbf: c.not_before,
            exp: c.expires_at,
        }
    }

    /// Byte strings unique to this showing.
    fn secrets(&self) -> [(&'static str, &[u8]); 5] {
        [
            ("cti", &self.cti),
            ("cnf x", &self.x),
            ("credential signature", &self.credential_signature),
            ("proof signature", &self.proof_signature),
            ("proof nonce", &self.nonce),
        ]
    }
}

/// A value several showings share at one path.
#[derive(Debug)]
struct Shared {
    path: String,
    value: String,
    showings: Vec<usize>,
}

/// Every value equal at the same path in two or more of `codes`.
fn shared(codes: &[&Code]) -> Vec<Shared> {
    let mut by_path: BTreeMap<&str, HashMap<&str, BTreeSet<usize>>> = BTreeMap::new();
    for c in codes {
        for (path, value) in &c.leaves {
            by_path
                .entry(path)
                .or_default()
                .entry(value)
                .or_default()
                .insert(c.n);
        }
    }
    let mut out = Vec::new();
    for (path, values) in by_path {
        for (value, showings) in values {
            if showings.len() > 1 {
                out.push(Shared {
                    path: path.to_owned(),
                    value: value.to_owned(),
                    showings: showings.into_iter().collect(),
                });
            }
        }
    }
    out
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

fn positions(hay: &[u8], needle: &[u8]) -> Vec<usize> {
    if needle.is_empty() || hay.len() < needle.len() {
        return vec![];
    }
    hay.windows(needle.len())
        .enumerate()
        .filter(|(_, w)| *w == needle)
        .map(|(i, _)| i)
        .collect()
}

/// What links two or more of `codes`: a value at one path that [`MAY_BE_EQUAL`] does not
/// allow to repeat, or a showing's own byte string anywhere inside another code.
fn linkage(codes: &[&Code]) -> Vec<Shared> {
    let mut out: Vec<Shared> = shared(codes)
        .into_iter()
        .filter(|s| may_be_equal(&s.path).is_none())
        .collect();
    for a in codes {
        for (what, secret) in a.secrets() {
            for b in codes {
                if a.n != b.n && contains(&b.bytes, secret) {
                    out.push(Shared {
                        path: format!("{what} of showing {} inside showing {}", a.n, b.n),
                        value: hex::encode(secret),
                        showings: vec![a.n, b.n],
                    });
                }
            }
        }
    }
    out
}

fn describe(found: &[Shared]) -> String {
    found
        .iter()
        .take(40)
        .map(|s| format!("  {} = {} in showings {:?}\n", s.path, s.value, s.showings))
        .collect()
}

// ---------------------------------------------------------------------------------------
// The world

struct FrontDesk {
    data: PathBuf,
    log: PathBuf,
    desk: Desk,
    terminal: Terminal,
}

struct Showing {
    code: Code,
    desk: usize,
    made_after: u64,
    made_before: u64,
}

fn show(phone: &Wallet, tier: &str) -> (String, String) {
    let out = phone.run(&["show", "--tier", tier], None);
    assert_eq!(out.status.code(), Some(0), "show {tier}: {}", said(&out));
    let text = String::from_utf8(out.stdout)
        .expect("UTF-8")
        .trim()
        .to_owned();
    (text, String::from_utf8_lossy(&out.stderr).into_owned())
}

/// `refilled: N new codes (M retired)` in a `show`'s standard error.
fn refilled(stderr: &str) -> Option<(usize, usize)> {
    let line = stderr.lines().find(|l| l.starts_with("refilled: "))?;
    let mut numbers = line
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<usize>().unwrap());
    Some((numbers.next()?, numbers.next()?))
}

fn wallet_status(phone: &Wallet) -> Json {
    serde_json::from_str(&phone.ok(&["status"], None)).expect("the status as JSON")
}

fn one_time(status: &Json, tier: &str) -> usize {
    status["one_time"][tier]
        .as_u64()
        .unwrap_or_else(|| panic!("no one_time.{tier} in {status}")) as usize
}

#[test]
fn seventy_showings_at_three_desks_share_nothing_that_links_them() {
    let started = Instant::now();
    let server = postgres::server_url();
    support::bins::Binaries::get();
    say(&format!(
        "binaries ready after {:.1} s",
        started.elapsed().as_secs_f64()
    ));

    // --- The issuer (demo registry as the journey imports it) and three desks.
    let dir = support::run_dir();
    let database = postgres::fresh_database(&server);
    say(&format!(
        "folder {} and database {database}, kept if the test fails",
        dir.display()
    ));
    let mut issuer = Issuer::new(&dir, &database);
    let anchor = dir.join("authority-trust-list-key.pem");
    let phone = Wallet::new(&dir, "phone", &issuer.base, &anchor);
    phone.check_keystore();
    let csv = support::write_registry(&dir.join("registry"));
    let out = issuer.admin(&["registry", "import", csv.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(0), "{}", said(&out));
    issuer.start();
    let anchor_pem = issuer.trust_list_key_pem();
    std::fs::write(&anchor, &anchor_pem).unwrap();

    let mut desks: Vec<FrontDesk> = (0..DESKS)
        .map(|d| {
            let data = dir.join(format!("desk-{d}-data"));
            std::fs::create_dir_all(data.join("cache")).unwrap();
            let out = issuer.admin(&["verifiers", "add", &format!("Hotel desk {d}")], None);
            assert_eq!(out.status.code(), Some(0), "{}", said(&out));
            let key = String::from_utf8(out.stdout).unwrap().trim().to_owned();
            std::fs::write(data.join("issuer-api-key"), &key).unwrap();
            std::fs::write(data.join("cache/trust-list.pem"), &anchor_pem).unwrap();
            let out = Desk::add_staff(&data, STAFF, STAFF_PASSWORD);
            assert_eq!(out.status.code(), Some(0), "{}", said(&out));
            let log = dir.join(format!("desk-{d}.log"));
            let desk = Desk::start(&data, &issuer.base, VENUE_POLICY, &log);
            let mut terminal = desk.terminal();
            terminal.login(STAFF, STAFF_PASSWORD);
            FrontDesk {
                data,
                log,
                desk,
                terminal,
            }
        })
        .collect();
    say(&format!(
        "issuer and {DESKS} desks up after {:.1} s",
        started.elapsed().as_secs_f64()
    ));

    // --- Enrolment: the upgraded credential and a batch of each one-time tier.
    let status = phone.enrol(&citizen_id(), &liveness("obama"), false, PIN);
    assert_eq!(status["state"], "active", "{status}");
    assert_eq!(one_time(&status, "lightweight"), BATCH, "{status}");
    assert_eq!(one_time(&status, "age_only"), BATCH, "{status}");
    say(&format!(
        "enrolled after {:.1} s",
        started.elapsed().as_secs_f64()
    ));

    // --- 70 showings, interleaved (2 age-only in every 7), each at desk i mod 3.
    let loop_started = Instant::now();
    let total = LIGHTWEIGHT_SHOWINGS + AGE_ONLY_SHOWINGS;
    let mut showings: Vec<Showing> = Vec::with_capacity(total);
    let mut refills: Vec<(usize, usize, usize)> = Vec::new();
    // Codes the desk refused as revoked because the same `show` call's refill had
    // already retired (revoked) their credential: reported at the end, after every other
    // check has run.
    let mut revoked_by_own_refill: Vec<(usize, usize)> = Vec::new();
    for i in 0..total {
        let age_only = i % 7 == 3 || i % 7 == 6;
        let (tier, arg) = if age_only {
            (Tier::AgeOnly, "age-only")
        } else {
            (Tier::Lightweight, "lightweight")
        };
        let made_after = now();
        let (text, stderr) = show(&phone, arg);
        let made_before = now();
        assert!(
            !stderr.contains("can be linked") && !stderr.contains("could not refill"),
            "showing {i} online: a fresh credential and a working refill: {stderr}"
        );
        let own_refill = refilled(&stderr);
        if let Some((issued, retired)) = own_refill {
            refills.push((i, issued, retired));
        }
        let code = Code::new(i, &text);
        assert_eq!(code.tier, tier, "showing {i}");
        let desk = i % DESKS;
        if own_refill.is_some() {
            // The code is scanned a moment later, by a desk whose lists are fresh (the code
            // lives 60 s; a desk refreshes on its schedule, on a list number it has not seen,
            // or at every scan with online_status_required): whatever the refill changed at
            // the issuer, this desk knows by now.
            desks[desk].desk.wait_for_lists_fetched_after(made_before);
        }
        let v = desks[desk].terminal.verify(&text);
        if v["code"] == "revoked" && own_refill.is_some() {
            revoked_by_own_refill.push((i, desk));
        } else {
            assert_eq!(v["valid"], true, "showing {i} at desk {desk}: {v}");
            assert_eq!(v["code"], "valid", "{v}");
            assert_eq!(v["tier"], tier.name(), "{v}");
            assert_eq!(v["status"], "valid", "{v}");
            assert!(v["verification"].is_null(), "nothing to check in: {v}");
        }
        // The verdict the page shows carries none of the code's own values either.
        let verdict = v.to_string();
        for (what, secret) in code.secrets() {
            assert!(
                !verdict.contains(&hex::encode(secret)),
                "the verdict shows the {what}: {v}"
            );
        }
        showings.push(Showing {
            code,
            desk,
            made_after,
            made_before,
        });
    }
    let loop_time = loop_started.elapsed();
    say(&format!(
        "{total} showings shown and verified in {:.1} s; refills (after showing, issued, retired): {refills:?}; refused as revoked by their own show's refill (showing, desk): {revoked_by_own_refill:?}",
        loop_time.as_secs_f64()
    ));

    let codes: Vec<&Code> = showings.iter().map(|s| &s.code).collect();
    check_codes(&codes, &showings, &issuer);

    // --- The desks' stored data.
    check_desks(&mut desks, &showings);

    // --- Refills: they happened, the issuer issued them, and the wallet has fresh ones.
    check_refills(&phone, &issuer, &showings, &refills);

    // --- The checker catches linkage.
    let extra = negative_controls(&phone, &mut issuer, &showings);

    say(&format!(
        "summary: {total} showings ({LIGHTWEIGHT_SHOWINGS} lightweight, {AGE_ONLY_SHOWINGS} age-only) at {DESKS} desks in {:.1} s, {} refills, {extra} offline showings for the control; {:.1} s in all",
        loop_time.as_secs_f64(),
        refills.len(),
        started.elapsed().as_secs_f64()
    ));

    // Every code verified, including those whose `show` refilled: the code is out (it
    // lives 60 s), so its credential must not be revoked under it.
    assert!(
        revoked_by_own_refill.is_empty(),
        "{} of {total} codes were refused as `revoked` at their desk: the `show` that printed \
         each one also refilled, and the refill retired (status 1 on the issuer's status list) \
         every shown one-time credential, the one just shown included, while its code was \
         still valid for 60 s; a desk that refreshes its lists (every second here, at every \
         scan with online_status_required, or on a list number it has not seen) refuses it. \
         (showing, desk): {revoked_by_own_refill:?}",
        revoked_by_own_refill.len()
    );

    // --- Clean up.
    phone.reset(PIN);
    for d in desks {
        drop(d.desk);
    }
    postgres::drop_database(&server, &issuer.database_url);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Every pair of showings: nothing equal beyond [`MAY_BE_EQUAL`]; the unique values
/// checked directly.
fn check_codes(codes: &[&Code], showings: &[Showing], issuer: &Issuer) {
    let n = codes.len();
    // The table names only paths the codes have (so it cannot rot unnoticed).
    for (path, _, _) in MAY_BE_EQUAL {
        if MAY_BE_ABSENT.contains(path) {
            continue;
        }
        assert!(
            codes
                .iter()
                .any(|c| c.leaves.iter().any(|(p, _)| p == path)),
            "MAY_BE_EQUAL names {path}, which no code has"
        );
    }
    let links = linkage(codes);
    assert!(
        links.is_empty(),
        "{} values link showings (path = value in showings):\n{}",
        links.len(),
        describe(&links)
    );
    let mut equal: BTreeMap<String, usize> = BTreeMap::new();
    for s in shared(codes) {
        *equal.entry(s.path).or_default() += 1;
    }
    say(&format!(
        "paths with a value shared by some showings, all in MAY_BE_EQUAL (distinct shared values): {equal:?}"
    ));

    // Directly, for the record.
    let distinct = |what: &str, values: Vec<Vec<u8>>| {
        let set: BTreeSet<Vec<u8>> = values.into_iter().collect();
        assert_eq!(set.len(), n, "{n} showings, {} distinct {what}", set.len());
    };
    distinct("cti", codes.iter().map(|c| c.cti.to_vec()).collect());
    distinct("cnf keys", codes.iter().map(|c| c.x.clone()).collect());
    distinct(
        "credential signatures",
        codes
            .iter()
            .map(|c| c.credential_signature.clone())
            .collect(),
    );
    distinct(
        "proof signatures",
        codes.iter().map(|c| c.proof_signature.clone()).collect(),
    );
    distinct("nonces", codes.iter().map(|c| c.nonce.clone()).collect());
    let slots: BTreeSet<(u64, u64)> = codes.iter().map(|c| (c.list, c.idx)).collect();
    assert_eq!(slots.len(), n, "distinct (list, idx)");
    // Indices are drawn at random in 2^17 slots: two of 70 may share an index in different
    // lists, or sit side by side in one list, by chance (about 2% and 1% of runs). What must
    // not happen is allocation in order, which would put nearly every pair side by side.
    let idxs: BTreeSet<u64> = codes.iter().map(|c| c.idx).collect();
    assert!(
        n - idxs.len() <= 2,
        "status indices repeat across lists: {} of {n} distinct",
        idxs.len()
    );
    let mut per_list: BTreeMap<u64, Vec<u64>> = BTreeMap::new();
    for c in codes {
        per_list.entry(c.list).or_default().push(c.idx);
    }
    let mut neighbours = 0;
    for idx in per_list.values_mut() {
        idx.sort_unstable();
        neighbours += idx.windows(2).filter(|w| w[1] - w[0] <= 1).count();
    }
    assert!(
        neighbours <= 2,
        "{neighbours} pairs of neighbouring slots: the indices look allocated in order"
    );
    let lists: Vec<(u64, usize)> = per_list.iter().map(|(l, v)| (*l, v.len())).collect();
    assert!(
        (2..=4).contains(&lists.len()),
        "credentials spread over a few open lists (at most 4), not one per person: {lists:?}"
    );
    say(&format!("status lists (list, showings): {lists:?}"));

    // The shared times are the day's, not the moment's.
    let key_since = issuer
        .trust_list()
        .issuers
        .iter()
        .find(|i| i.issued_until.is_none())
        .expect("the active issuer key")
        .valid_from;
    for c in codes {
        assert_eq!(c.iat, c.nbf, "showing {}", c.n);
        assert!(
            c.iat % DAY == 0 || c.iat == key_since,
            "showing {}: iat {} is neither a day's start nor the key's valid_from {key_since}",
            c.n,
            c.iat
        );
        assert_eq!(
            c.exp % DAY,
            0,
            "showing {}: exp {} not a day's start",
            c.n,
            c.exp
        );
    }
    // The proof's time is the moment of showing, nothing kept.
    for s in showings {
        let c = &s.code;
        assert!(
            (s.made_after..=s.made_before).contains(&c.proof_iat),
            "showing {}: proof iat {} outside [{}, {}]",
            c.n,
            c.proof_iat,
            s.made_after,
            s.made_before
        );
        assert_eq!(c.proof_exp, c.proof_iat + 60);
    }
}

/// Every value in the SQLite file's tables, as `quote()` writes it.
fn sqlite_rows(file: &Path) -> BTreeMap<String, Vec<Vec<String>>> {
    use sqlx::Row;
    support::http::runtime().block_on(async {
        let options = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(file)
            .create_if_missing(false);
        let pool = sqlx::sqlite::SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let tables: Vec<String> =
            sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table'")
                .fetch_all(&pool)
                .await
                .unwrap();
        let mut out = BTreeMap::new();
        for t in tables {
            let columns: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                "SELECT name FROM pragma_table_info('{t}')"
            )))
            .fetch_all(&pool)
            .await
            .unwrap();
            let select = columns
                .iter()
                .map(|c| format!("quote(\"{c}\")"))
                .collect::<Vec<_>>()
                .join(", ");
            let rows = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {select} FROM \"{t}\"")))
                .fetch_all(&pool)
                .await
                .unwrap();
            let rows: Vec<Vec<String>> = rows
                .iter()
                .map(|r| {
                    (0..columns.len())
                        .map(|i| r.try_get::<String, _>(i).unwrap())
                        .collect()
                })
                .collect();
            let mut named = vec![columns];
            named.extend(rows);
            out.insert(t, named);
        }
        pool.close().await;
        out
    })
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else {
            out.push(p);
        }
    }
    out.sort();
    out
}

/// The desks keep nothing that links two showings: no `cti` (but in the replay cache, as
/// `cti || nonce`, the key format §4 step 9 requires, for one showing, at the desk it was
/// shown at, until the proof's exp + skew), no device key, status index or signature, no
/// code; the guest register (and its CSV) is empty; no record repeats across showings.
fn check_desks(desks: &mut [FrontDesk], showings: &[Showing]) {
    let by_cti: HashMap<[u8; 8], &Showing> = showings.iter().map(|s| (s.code.cti, s)).collect();
    let idxs: BTreeSet<String> = showings.iter().map(|s| s.code.idx.to_string()).collect();
    let mut replay_keys: BTreeSet<String> = BTreeSet::new();
    let mut seen_at_desk = vec![0usize; desks.len()];
    for (d, desk) in desks.iter_mut().enumerate() {
        // The register and its export: nothing was checked in.
        let r = desk.terminal.get("/api/checkins.csv");
        assert_eq!(r.status, 200, "{}", r.text());
        let csv_text = r.text();
        assert_eq!(
            csv::Reader::from_reader(csv_text.as_bytes())
                .records()
                .count(),
            0,
            "desk {d}: no guest records from lightweight and age-only showings: {csv_text}"
        );
        let r = desk.terminal.get("/api/checkins");
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.json(), serde_json::json!([]), "desk {d}");

        // The database, table by table.
        let tables = sqlite_rows(&desk.data.join("desk.sqlite3"));
        let names: Vec<&String> = tables.keys().collect();
        for (table, rows) in &tables {
            let columns = &rows[0];
            for row in &rows[1..] {
                for (column, value) in columns.iter().zip(row) {
                    assert!(
                        !idxs.contains(value),
                        "desk {d} {table}.{column} holds a status index: {value}"
                    );
                    for s in showings {
                        for (what, secret) in s.code.secrets() {
                            let hex = hex::encode(secret);
                            if value.to_ascii_lowercase().contains(&hex)
                                && !(table == "replay" && column == "key")
                            {
                                panic!(
                                    "desk {d} {table}.{column} holds showing {}'s {what}",
                                    s.code.n
                                );
                            }
                        }
                    }
                }
                if table == "replay" {
                    let key = row[columns.iter().position(|c| c == "key").unwrap()].clone();
                    let keep_until: u64 = row
                        [columns.iter().position(|c| c == "keep_until").unwrap()]
                    .parse()
                    .unwrap();
                    let bytes = hex::decode(
                        key.strip_prefix("X'")
                            .and_then(|k| k.strip_suffix('\''))
                            .unwrap(),
                    )
                    .unwrap();
                    assert_eq!(bytes.len(), 16, "desk {d}: replay key {key}");
                    let cti: [u8; 8] = bytes[..8].try_into().unwrap();
                    let s = by_cti
                        .get(&cti)
                        .unwrap_or_else(|| panic!("desk {d}: replay key {key} of no showing"));
                    assert_eq!(
                        s.desk, d,
                        "desk {d} holds showing {}'s cti, shown at desk {}",
                        s.code.n, s.desk
                    );
                    assert_eq!(
                        bytes[8..],
                        s.code.nonce[..],
                        "desk {d}: replay key = cti || nonce"
                    );
                    assert_eq!(
                        keep_until,
                        s.code.proof_exp + SKEW,
                        "kept until the proof's exp + skew"
                    );
                    assert!(replay_keys.insert(key), "the same replay key twice");
                    seen_at_desk[d] += 1;
                }
            }
        }
        say(&format!(
            "desk {d}: tables {names:?}; {} replay records",
            seen_at_desk[d]
        ));

        // The bytes of every file it keeps (database, WAL, cache) and its log.
        let mut files = files_under(&desk.data);
        files.push(desk.log.clone());
        for f in files {
            let bytes = std::fs::read(&f).unwrap();
            for s in showings {
                let c = &s.code;
                assert!(
                    !contains(&bytes, c.text.trim_start_matches("TS1:").as_bytes()),
                    "{} holds showing {}'s code",
                    f.display(),
                    c.n
                );
                for (what, secret) in c.secrets() {
                    assert!(
                        !contains(&bytes, hex::encode(secret).as_bytes()),
                        "{} holds showing {}'s {what} in hex",
                        f.display(),
                        c.n
                    );
                    let found = positions(&bytes, secret);
                    // cti and nonce: only as the replay key cti || nonce, at the showing's
                    // desk (deleted records may linger in free pages).
                    let as_replay_key = |p: usize| match what {
                        "cti" => bytes.get(p + 8..p + 16) == Some(&c.nonce[..]),
                        "proof nonce" => p >= 8 && bytes[p - 8..p] == c.cti[..],
                        _ => false,
                    };
                    for p in found {
                        assert!(
                            as_replay_key(p) && s.desk == d,
                            "{} holds showing {}'s {what} at byte {p} (shown at desk {})",
                            f.display(),
                            c.n,
                            s.desk
                        );
                    }
                }
            }
        }
    }
    assert!(
        seen_at_desk.iter().all(|n| *n > 0),
        "each desk's replay cache holds its latest showings (else this check saw nothing): {seen_at_desk:?}"
    );
}

/// Refills happened while showing (the wallet said so), the issuer's database has the
/// credentials shown with the slots the codes name, and the wallet holds unused ones again.
fn check_refills(
    phone: &Wallet,
    issuer: &Issuer,
    showings: &[Showing],
    refills: &[(usize, usize, usize)],
) {
    // 50 lightweight from a batch of 10, refilled below 3: one refill per 8 lightweight.
    let expected = (LIGHTWEIGHT_SHOWINGS - (BATCH - REFILL_BELOW)) / (BATCH - REFILL_BELOW + 1) + 1;
    assert!(
        refills.len() >= expected,
        "{} refills, expected at least {expected}: {refills:?}",
        refills.len()
    );
    assert!(
        refills
            .iter()
            .all(|(_, issued, retired)| *issued > 0 && *retired > 0)
    );
    let status = wallet_status(phone);
    let light = one_time(&status, "lightweight");
    let age = one_time(&status, "age_only");
    assert!(
        light >= REFILL_BELOW && age >= REFILL_BELOW,
        "unused one-time credentials again after the run: {status}"
    );

    let rows: Vec<(String, String, i64, i64, i64)> = support::http::runtime().block_on(async {
        sqlx::any::install_default_drivers();
        let pool = sqlx::AnyPool::connect(&issuer.database_url).await.unwrap();
        let rows =
            sqlx::query_as("SELECT cti, tier, status_list, status_idx, status FROM credentials")
                .fetch_all(&pool)
                .await
                .unwrap();
        pool.close().await;
        rows
    });
    let count = |tier: &str| rows.iter().filter(|r| r.1 == tier).count();
    let by_cti: HashMap<&str, &(String, String, i64, i64, i64)> =
        rows.iter().map(|r| (r.0.as_str(), r)).collect();
    for s in showings {
        let c = &s.code;
        let r = by_cti
            .get(hex::encode(c.cti).as_str())
            .unwrap_or_else(|| panic!("showing {}: its cti is not in the issuer's database", c.n));
        assert_eq!(r.1, c.tier.name());
        assert_eq!((r.2 as u64, r.3 as u64), (c.list, c.idx), "showing {}", c.n);
    }
    assert!(
        count("lightweight") >= LIGHTWEIGHT_SHOWINGS + light,
        "{}",
        count("lightweight")
    );
    assert!(
        count("age_only") >= AGE_ONLY_SHOWINGS + age,
        "{}",
        count("age_only")
    );
    // Retiring revokes: every refill sets the status bit of each credential it retires,
    // all in one status-list update (a verifier polling the lists sees them flip together).
    let revoked = showings
        .iter()
        .filter(|s| by_cti[hex::encode(s.code.cti).as_str()].4 == 1)
        .count();
    say(&format!(
        "issuer credentials: {} lightweight, {} age-only, {} upgraded; wallet holds {light} lightweight and {age} age-only unused; {revoked} of the {} shown credentials are revoked (retired by the {} refills)",
        count("lightweight"),
        count("age_only"),
        count("upgraded"),
        showings.len(),
        refills.len()
    ));
}

/// The checker finds linkage where there is some: the same code twice, and two codes of
/// one credential (issuer unreachable, one-time credentials used up: the wallet reuses
/// one and warns). Returns how many codes the control showed.
fn negative_controls(phone: &Wallet, issuer: &mut Issuer, showings: &[Showing]) -> usize {
    let first = &showings[0].code;
    let mut again = Code::new(first.n, &first.text);
    again.n = usize::MAX;
    let links = linkage(&[first, &again]);
    let paths: BTreeSet<&str> = links.iter().map(|s| s.path.as_str()).collect();
    for path in [
        "credential.payload.7",
        "credential.payload.8.1.-2",
        "credential.payload.65535.ts[1]",
        "credential.signature",
        "proof.payload.3",
        "proof.signature",
    ] {
        assert!(
            paths.contains(path),
            "the same code twice: {path} not reported: {paths:?}"
        );
    }

    issuer.stop();
    let mut codes: Vec<Code> = showings.iter().map(|s| s.code.clone()).collect();
    let mut reused = None;
    let mut shown = 0;
    let mut refill_failed = false;
    for _ in 0..=BATCH + 1 {
        let (text, stderr) = show(phone, "age-only");
        shown += 1;
        let code = Code::new(10_000 + shown, &text);
        assert!(!stderr.contains("refilled"), "offline: {stderr}");
        refill_failed |= stderr.contains("could not refill");
        if stderr.contains("can be linked") {
            reused = Some(code);
            break;
        }
        assert!(
            codes.iter().all(|c| c.cti != code.cti),
            "a fresh credential before the warning"
        );
        codes.push(code);
    }
    assert!(
        refill_failed,
        "offline with fewer than {REFILL_BELOW} left, `show` tried to refill and said it could not"
    );
    let reused = reused.expect("offline with none left, the wallet reuses one and warns");
    let earlier = codes
        .iter()
        .find(|c| c.cti == reused.cti)
        .expect("the reused credential was shown before");
    let links = linkage(&[earlier, &reused]);
    let paths: BTreeSet<&str> = links.iter().map(|s| s.path.as_str()).collect();
    for path in [
        "credential.payload.7",
        "credential.payload.8.1.-2",
        "credential.payload.65535.ts[1]",
        "credential.signature",
        "credential.payload@bytes",
    ] {
        assert!(
            paths.contains(path),
            "one credential shown twice: {path} not reported: {paths:?}"
        );
    }
    assert!(
        !paths.contains("proof.payload.3") && !paths.contains("proof.signature"),
        "each code has its own proof: {paths:?}"
    );
    say(&format!(
        "control: showing {} and the offline reuse after {shown} offline showings are linked by {} values: {paths:?}",
        earlier.n,
        links.len()
    ));
    shown
}
