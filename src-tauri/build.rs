//! Generates Tauri's context and the ACL of the app's own commands.
//!
//! Listing the commands in the app manifest turns each into a permission (`allow-<command>`);
//! a command is then callable only from windows whose capability grants it.

/// Every command in `src/commands.rs`; `capabilities/main-window.json` grants them.
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
    "show_qr",
    "lock_upgraded",
    "renew",
    "cancel_capture",
    "history",
    "remove_id",
];

fn main() {
    let attributes = tauri_build::Attributes::new()
        .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS));
    if let Err(error) = tauri_build::try_build(attributes) {
        panic!("tauri-build failed: {error:#}");
    }
}
