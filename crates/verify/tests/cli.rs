//! The `tessera-verify` binary against every committed vector, images, stdin and bad input.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn vectors_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/format/vectors")
}

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_tessera-verify"))
}

fn run(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = bin()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(s) = stdin {
        input.write_all(s.as_bytes()).unwrap();
    }
    drop(input);
    child.wait_with_output().unwrap()
}

struct Vector {
    name: String,
    json: serde_json::Value,
    dir: tempdir::Dir,
}

mod tempdir {
    /// A scratch directory removed on drop.
    pub struct Dir(pub std::path::PathBuf);
    impl Dir {
        pub fn new(name: &str) -> Dir {
            static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
            let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let p = std::env::temp_dir()
                .join(format!("tessera-verify-{}-{n}-{name}", std::process::id()));
            std::fs::create_dir_all(&p).unwrap();
            Dir(p)
        }
        pub fn file(&self, name: &str, bytes: &[u8]) -> String {
            let p = self.0.join(name);
            std::fs::write(&p, bytes).unwrap();
            p.to_string_lossy().into_owned()
        }
    }
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

fn vectors() -> Vec<Vector> {
    let mut out: Vec<Vector> = std::fs::read_dir(vectors_dir())
        .unwrap()
        .filter_map(|e| {
            let p = e.unwrap().path();
            (p.extension()? == "json").then_some(p)
        })
        .map(|p| {
            let name = p.file_stem().unwrap().to_string_lossy().into_owned();
            let json: serde_json::Value =
                serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
            Vector {
                dir: tempdir::Dir::new(&name),
                name,
                json,
            }
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

fn args_for(v: &Vector) -> Vec<String> {
    // A vector that needs the trust list's periods (a retired key's issued_until) comes
    // with a signed trust list; the others with the bare issuer key.
    let trust = match v.json["trust_list_cwt_hex"].as_str() {
        Some(hex) => vec![
            v.dir.file("trust.cwt", &hex::decode(hex).unwrap()),
            "--trust-list-key".into(),
            v.dir.file(
                "trust-list-key.pem",
                v.json["trust_list_public_key_pem"]
                    .as_str()
                    .unwrap()
                    .as_bytes(),
            ),
        ],
        None => vec![v.dir.file(
            "issuer.pem",
            v.json["issuer_public_key_pem"].as_str().unwrap().as_bytes(),
        )],
    };
    let mut args = vec!["check".to_owned(), "--trust".into()];
    args.extend(trust);
    args.extend([
        "--at".into(),
        v.json["now"].to_string(),
        "--skew".into(),
        v.json["skew"].to_string(),
    ]);
    if let Some(hex) = v.json["status_list_cwt_hex"].as_str() {
        args.push("--status".into());
        args.push(v.dir.file("status.cwt", &hex::decode(hex).unwrap()));
    }
    args
}

fn verdict(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("stdout is JSON: {out:?}"))
}

#[test]
fn every_vector_gives_its_expected_verdict_and_exit_code() {
    let vectors = vectors();
    assert!(vectors.len() >= 12, "only {} vectors", vectors.len());
    assert!(
        vectors
            .iter()
            .any(|v| v.json["expect"] == "signed_after_key_retired"),
        "the vector of a credential signed by a retired key after its end of signing"
    );
    for v in &vectors {
        let mut args = args_for(v);
        args.push(v.json["qr_text"].as_str().unwrap().to_owned());
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = run(&args, None);
        let expect = v.json["expect"].as_str().unwrap();
        let json = verdict(&out);
        if expect == "valid" {
            assert_eq!(out.status.code(), Some(0), "{}: {out:?}", v.name);
            assert_eq!(json["valid"], true);
            assert_eq!(json["verdict"]["tier"], v.json["tier"]);
        } else {
            assert_eq!(out.status.code(), Some(1), "{}: {out:?}", v.name);
            assert_eq!(json["error"]["code"], expect, "{}", v.name);
        }
        // One line for a person on stderr.
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(stderr.trim_end().lines().count(), 1, "{}: {stderr}", v.name);
    }
}

#[test]
fn reads_the_qr_from_stdin_and_from_the_png() {
    for v in vectors().iter().filter(|v| v.json["expect"] == "valid") {
        let mut args = args_for(v);
        args.push("-".into());
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = run(
            &a,
            Some(&format!("{}\n", v.json["qr_text"].as_str().unwrap())),
        );
        assert_eq!(out.status.code(), Some(0), "{}: {out:?}", v.name);

        args.pop();
        let png = vectors_dir().join(format!("{}.png", v.name));
        args.push(png.to_string_lossy().into_owned());
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = run(&a, None);
        assert_eq!(out.status.code(), Some(0), "{}: {out:?}", v.name);
        assert_eq!(verdict(&out)["verdict"]["tier"], v.json["tier"]);
    }
}

#[test]
fn the_credential_signature_date_matters_with_at() {
    // The same valid vector checked a year later is expired.
    let v = vectors()
        .into_iter()
        .find(|v| v.name == "lightweight-valid")
        .unwrap();
    let mut args = args_for(&v);
    let at = args.iter().position(|a| a == "--at").unwrap() + 1;
    args[at] = (v.json["now"].as_u64().unwrap() + 2 * 365 * 86_400).to_string();
    args.push(v.json["qr_text"].as_str().unwrap().into());
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = run(&a, None);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(verdict(&out)["error"]["code"], "expired");
}

#[test]
fn garbage_is_an_invalid_qr_not_a_crash() {
    let v = vectors()
        .into_iter()
        .find(|v| v.name == "lightweight-valid")
        .unwrap();
    let base = args_for(&v);
    for input in ["hello", "TS1:", "TS1:!!!!", "TS1:0000", "\u{1F600}", ""] {
        let mut args = base.clone();
        args.push("-".into());
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = run(&a, Some(input));
        assert_eq!(out.status.code(), Some(1), "{input:?}: {out:?}");
        assert_eq!(verdict(&out)["error"]["code"], "malformed");
    }
    // Binary junk on stdin.
    let mut child = bin()
        .args(base.iter().map(String::as_str).chain(["-"]))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(&[0xff, 0x00, 0xfe, 0x80])
        .unwrap();
    assert_eq!(child.wait_with_output().unwrap().status.code(), Some(1));
}

#[test]
fn an_image_without_a_qr_is_invalid_and_a_non_image_is_a_usage_error() {
    let v = vectors()
        .into_iter()
        .find(|v| v.name == "lightweight-valid")
        .unwrap();
    let mut blank = Vec::new();
    image::DynamicImage::ImageLuma8(image::GrayImage::from_pixel(200, 200, image::Luma([255])))
        .write_to(
            &mut std::io::Cursor::new(&mut blank),
            image::ImageFormat::Png,
        )
        .unwrap();
    let blank = v.dir.file("blank.png", &blank);
    let text = v.dir.file("notes.bin", b"just some bytes");
    for (input, code) in [
        (blank.as_str(), 1),
        (text.as_str(), 2),
        ("/no/such/file.png", 2),
    ] {
        let mut args = args_for(&v);
        args.push(input.into());
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = run(&a, None);
        assert_eq!(out.status.code(), Some(code), "{input}: {out:?}");
        assert!(!out.stderr.is_empty());
    }
}

#[test]
fn bad_trust_inputs_are_usage_errors() {
    let v = vectors()
        .into_iter()
        .find(|v| v.name == "lightweight-valid")
        .unwrap();
    let qr = v.json["qr_text"].as_str().unwrap();
    let not_pem = v.dir.file(
        "bad.pem",
        b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
    );
    for trust in [not_pem.as_str(), "/no/such/key.pem"] {
        let out = run(&["check", "--trust", trust, qr], None);
        assert_eq!(out.status.code(), Some(2), "{trust}: {out:?}");
        let msg = String::from_utf8(out.stderr).unwrap();
        assert!(msg.contains(trust), "{msg}");
    }
    let out = run(&["check", qr], None);
    assert_eq!(out.status.code(), Some(2), "missing --trust");
}

#[test]
fn a_signed_trust_list_with_status_lists() {
    use tessera_credential::status_list::StatusListToken;
    use tessera_credential::*;
    use tessera_vectors::*;

    let mut w = Wallet::standard();
    let tl_key = key("trust-list");
    let mut entry = TrustedIssuer::new("Demo ID authority", w.issuer.public_key());
    entry.status_base = Some(STATUS_BASE.into());
    let list = TrustList {
        issued_at: NOW,
        sequence: 7,
        issuers: vec![entry],
    };
    let dir = tempdir::Dir::new("trust-list");
    let list_file = dir.file("trust.cwt", &list.sign(&tl_key).unwrap());
    let tl_pem = dir.file(
        "trust-list.pem",
        keys::spki_pem(&tl_key.public_key()).as_bytes(),
    );
    let mut statuses = StatusList::new(1, 64).unwrap();
    statuses.set(1, status_list::status::INVALID).unwrap(); // the upgraded credential
    let token = StatusListToken {
        signer: w.issuer.kid(),
        uri: format!("{STATUS_BASE}1"),
        issued_at: NOW - 60,
        expires_at: Some(NOW + 3600),
        ttl: Some(600),
        list: statuses,
    };
    let status_file = dir.file("status.cwt", &token.sign(&w.issuer).unwrap());
    let at = NOW.to_string();
    let light = w.show_lightweight(NOW).to_qr_text();
    let up = w.show_upgraded(NOW).to_qr_text();
    let base = [
        "check",
        "--trust",
        &list_file,
        "--trust-list-key",
        &tl_pem,
        "--status",
        &status_file,
        "--at",
        &at,
    ];

    let out = run(&[&base[..], &[light.as_str()]].concat(), None);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let json = verdict(&out);
    assert_eq!(json["verdict"]["status"], "valid");
    assert_eq!(json["verdict"]["issuer_name"], "Demo ID authority");

    let out = run(&[&base[..], &[up.as_str()]].concat(), None);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(verdict(&out)["error"]["code"], "revoked");

    // A trust list without the key that signed it is a usage error that says what to add.
    let out = run(&["check", "--trust", &list_file, "--at", &at, &light], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--trust-list-key"));
    // Signed by someone else: refused.
    let wrong = dir.file(
        "wrong.pem",
        keys::spki_pem(&w.issuer.public_key()).as_bytes(),
    );
    let out = run(
        &[
            "check",
            "--trust",
            &list_file,
            "--trust-list-key",
            &wrong,
            "--at",
            &at,
            &light,
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("signature"));
    // The venue requires the upgraded tier.
    let out = run(
        &[&base[..], &["--tier", "upgraded", light.as_str()]].concat(),
        None,
    );
    assert_eq!(verdict(&out)["error"]["code"], "tier_requirement_not_met");
}

#[test]
fn age_only_codes_with_tier_and_accept() {
    use tessera_credential::claims::AgeOnlyClaims;
    use tessera_credential::*;
    use tessera_vectors::*;

    let mut w = Wallet::standard();
    let dir = tempdir::Dir::new("age-only");
    let trust = dir.file(
        "issuer.pem",
        keys::spki_pem(&w.issuer.public_key()).as_bytes(),
    );
    let mut rng = SeededRandomness::new("age-only");
    let mut age_only = |over: bool| {
        let key = key(if over { "age-only-a" } else { "age-only-b" });
        let identity = Identity::AgeOnly(AgeOnlyClaims { age_over_18: over });
        let claims = claims(&key, identity, NOW - 86_400, 7, &mut rng);
        let credential = issue(claims, &w.issuer);
        let request = ProofRequest {
            now: NOW,
            lifetime: 60,
            auth: AuthMethods::USER,
            face_verified_at: None,
        };
        present(&credential, &key, request, &mut rng).to_qr_text()
    };
    let (over, under) = (age_only(true), age_only(false));
    let light = w.show_lightweight(NOW).to_qr_text();
    let at = NOW.to_string();
    let base = ["check", "--trust", trust.as_str(), "--at", at.as_str()];
    let with = |extra: &[&str], code: &str| run(&[&base[..], extra, &[code]].concat(), None);
    let stderr = |out: &Output| String::from_utf8_lossy(&out.stderr).into_owned();

    // Valid, with only what the tier carries; the summary leads with the age answer.
    let out = with(&[], &over);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let json = verdict(&out);
    assert_eq!(json["verdict"]["tier"], "age_only");
    assert_eq!(
        json["verdict"]["claims"],
        serde_json::json!({"tier": "age_only", "age_over_18": true})
    );
    assert!(
        stderr(&out).contains("valid: age_only tier (over 18: yes)"),
        "{}",
        stderr(&out)
    );
    // A genuine code of someone under 18 is valid, and says so loudly.
    let out = with(&[], &under);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(verdict(&out)["verdict"]["claims"]["age_over_18"], false);
    assert!(stderr(&out).contains("NOT OVER 18"), "{}", stderr(&out));

    // --tier: age_only is the lowest tier; a venue needing a name refuses it.
    let out = with(&["--tier", "age_only"], &over);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let out = with(&["--tier", "lightweight"], &over);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert_eq!(verdict(&out)["error"]["code"], "tier_requirement_not_met");

    // --accept: only the tiers listed; the refused code's claims are not printed.
    let out = with(&["--accept", "age_only"], &light);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let json = verdict(&out);
    assert_eq!(json["error"]["code"], "tier_not_accepted", "{json}");
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains("masked"),
        "{json}"
    );
    assert!(
        stderr(&out).contains("only the age_only tier is accepted here, the code is lightweight"),
        "{}",
        stderr(&out)
    );
    let out = with(&["--accept", "age-only"], &over);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let out = with(&["--accept", "age_only", "--accept", "lightweight"], &light);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    // Contradictory options are a usage error.
    let out = with(&["--tier", "upgraded", "--accept", "age_only"], &over);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(stderr(&out).contains("--accept age_only is below --tier upgraded"));
}
