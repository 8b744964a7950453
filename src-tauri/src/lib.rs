//! Tessera's wallet app: the Tauri v2 shell around the web UI in `ui/`.
//!
//! Commands stay thin: they translate between the webview and the library crates, and each one
//! is gated by a permission in `capabilities/` (see `build.rs`).

use serde::Serialize;

/// What the UI shows about the running app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AppInfo {
    /// The product name.
    pub name: &'static str,
    /// The app's version (the workspace version).
    pub version: &'static str,
    /// The operating system, as Rust names it (`linux`, `macos`, `windows`, `android`, `ios`).
    pub os: &'static str,
    /// The CPU architecture (`x86_64`, `aarch64`, ...).
    pub arch: &'static str,
}

impl AppInfo {
    /// The product name shown to users.
    pub const NAME: &'static str = "Tessera";

    /// Information about this build on this machine.
    #[must_use]
    pub fn current() -> Self {
        Self {
            name: Self::NAME,
            version: env!("CARGO_PKG_VERSION"),
            os: std::env::consts::OS,
            arch: std::env::consts::ARCH,
        }
    }
}

/// The app's name, version and platform.
#[tauri::command]
fn app_info() -> AppInfo {
    AppInfo::current()
}

/// Builds and runs the app; returns when the last window closes.
///
/// # Panics
///
/// If the webview cannot start (for example, no display); there is nothing to show an error in.
#[cfg_attr(mobile, tauri::mobile_entry_point)]
pub fn run() {
    tauri::Builder::default()
        .invoke_handler(tauri::generate_handler![app_info])
        .run(tauri::generate_context!())
        .expect("error while running the Tessera app");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn app_info_reports_the_package_version_and_platform() {
        let info = app_info();
        assert_eq!(info.name, "Tessera");
        assert_eq!(info.version, env!("CARGO_PKG_VERSION"));
        assert!(!info.version.is_empty());
        assert_eq!(info.os, std::env::consts::OS);
        assert_eq!(info.arch, std::env::consts::ARCH);
    }

    #[test]
    fn app_info_serialises_to_the_shape_the_ui_expects() {
        let json = serde_json::to_value(AppInfo::current()).expect("serialises");
        let object = json.as_object().expect("a JSON object");
        let mut keys: Vec<&str> = object.keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["arch", "name", "os", "version"]);
        assert!(object.values().all(serde_json::Value::is_string));
    }
}
