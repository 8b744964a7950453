//! Generates Tauri's context and the ACL of the app's own commands.
//!
//! Listing the commands in the app manifest turns each into a permission (`allow-<command>`);
//! a command is then callable only from windows whose capability grants it.

fn main() {
    let attributes = tauri_build::Attributes::new()
        .app_manifest(tauri_build::AppManifest::new().commands(&["app_info"]));
    if let Err(error) = tauri_build::try_build(attributes) {
        panic!("tauri-build failed: {error:#}");
    }
}
