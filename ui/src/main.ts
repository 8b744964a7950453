import { invoke } from "@tauri-apps/api/core";

/** What the `app_info` command returns (see `src-tauri/src/lib.rs`). */
export interface AppInfo {
  name: string;
  version: string;
  os: string;
  arch: string;
}

function isAppInfo(value: unknown): value is AppInfo {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v.name === "string" &&
    typeof v.version === "string" &&
    typeof v.os === "string" &&
    typeof v.arch === "string"
  );
}

/** Text for the version line; never HTML. */
export function versionLine(info: AppInfo): string {
  return `${info.name} ${info.version} · ${info.os} (${info.arch})`;
}

async function showVersion(target: HTMLElement): Promise<void> {
  try {
    const info: unknown = await invoke("app_info");
    if (!isAppInfo(info)) throw new Error("unexpected app_info reply");
    target.textContent = versionLine(info);
    target.dataset.state = "ready";
  } catch (err) {
    console.error("app_info failed", err);
    target.textContent = "Version unavailable";
    target.dataset.state = "error";
  }
}

function start(): void {
  const target = document.getElementById("app-version");
  if (target) void showVersion(target);
}

if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", start, { once: true });
} else {
  start();
}
