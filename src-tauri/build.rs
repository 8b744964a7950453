//! Generates Tauri's context and the ACL of the app's own commands.
//!
//! Listing the commands in the app manifest turns each into a permission (`allow-<command>`);
//! a command is then callable only from windows whose capability grants it.

/// Every command in `src/commands.rs` and `src/sign_in.rs`; `capabilities/main-window.json` grants them.
const COMMANDS: &[&str] = &[
    "app_info",
    "wallet_status",
    "settings_get",
    "settings_set",
    "check_id_number",
    "use_demo_recording",
    "use_photo",
    "enrol",
    "set_pin",
    "unlock_upgraded",
    "show_begin",
    "show_qr",
    "show_end",
    "lock_upgraded",
    "renew",
    "cancel_capture",
    "history",
    "remove_id",
    "sign_in_pending",
    "sign_in_open",
    "sign_in_scan",
    "sign_in_approve",
    "sign_in_refuse",
    "sign_in_history",
];

/// The ID authority's trust-list key (SPKI PEM) the app trusts for a configured issuer,
/// from the file named by `TESSERA_AUTHORITY_TRUST_LIST_KEY` at build time (a packager's
/// setting, never read at run time). Without it the build trusts only its demo issuer.
fn authority_trust_list_key() {
    println!("cargo:rerun-if-env-changed=TESSERA_AUTHORITY_TRUST_LIST_KEY");
    let out = std::path::PathBuf::from(std::env::var_os("OUT_DIR").expect("OUT_DIR"))
        .join("authority-trust-list-key.pem");
    let pem = match std::env::var_os("TESSERA_AUTHORITY_TRUST_LIST_KEY") {
        Some(path) => {
            println!(
                "cargo:rerun-if-changed={}",
                std::path::Path::new(&path).display()
            );
            let pem = std::fs::read_to_string(&path).unwrap_or_else(|e| {
                panic!("TESSERA_AUTHORITY_TRUST_LIST_KEY={}: {e}", path.display())
            });
            assert!(
                pem.contains("-----BEGIN PUBLIC KEY-----"),
                "TESSERA_AUTHORITY_TRUST_LIST_KEY={}: not an SPKI PEM public key",
                path.display()
            );
            pem
        }
        None => String::new(),
    };
    std::fs::write(&out, pem).unwrap_or_else(|e| panic!("{}: {e}", out.display()));
}

fn main() {
    authority_trust_list_key();
    let attributes = tauri_build::Attributes::new()
        .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS));
    if let Err(error) = tauri_build::try_build(attributes) {
        panic!("tauri-build failed: {error:#}");
    }
}
