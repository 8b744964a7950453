//! The sign-in page (HTML, English or Chinese). Everything from a request or a registration
//! is escaped; the page runs only `/oidc/sign-in.js`.

use html_escape::{encode_double_quoted_attribute as attr, encode_text as text};
use tessera_credential::claims::Tier;
use tessera_oidc::claims::Claim;

use crate::service::SignInPage;

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:0;background:#f4f6f8;color:#1b2430}main{max-width:34rem;margin:2rem auto;background:#fff;border-radius:12px;padding:1.5rem 2rem;box-shadow:0 1px 4px #0002}h1{font-size:1.3rem}ul{padding-left:1.2rem}.qr svg{width:220px;height:220px}.code{font-size:2.4rem;font-weight:700;letter-spacing:.2rem}.button{display:inline-block;background:#1f5fbf;color:#fff;padding:.7rem 1.2rem;border-radius:8px;text-decoration:none;font-weight:600}.note{color:#55606e;font-size:.9rem}#status{font-weight:600}";

/// A whole page: `title` (plain text) and `main`, the `<main>` element (markup), in the
/// person's language, with the page script when `script`.
fn page(zh: bool, title: &str, main: &str, script: bool) -> String {
    format!(
        r#"<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>{title}</title><style>{STYLE}</style></head>
<body>{main}{script}</body></html>"#,
        lang = if zh { "zh-CN" } else { "en" },
        title = text(title),
        script = if script {
            r#"<script src="/oidc/sign-in.js"></script>"#
        } else {
            ""
        },
    )
}

fn qr_svg(link: &str) -> String {
    match qrcode::QrCode::new(link.as_bytes()) {
        Ok(code) => code
            .render::<qrcode::render::svg::Color<'_>>()
            .min_dimensions(220, 220)
            .quiet_zone(true)
            .build(),
        Err(_) => String::new(),
    }
}

/// The page for an open sign-in.
pub fn render(p: &SignInPage, zh: bool) -> String {
    let t = |en: &'static str, cn: &'static str| if zh { cn } else { en };
    let name = text(p.client.display_name(zh)).into_owned();
    let claims: String = if p.claims.is_empty() {
        format!("<li>{}</li>", tessera_oidc::claims::describe_none(zh))
    } else {
        p.claims
            .iter()
            .map(|c: &Claim| format!("<li>{}</li>", c.describe(zh)))
            .collect()
    };
    let tier = match p.tier {
        Tier::Upgraded => t(
            "The app will ask for your PIN and a face check.",
            "应用将要求输入 PIN 并进行人脸核验。",
        ),
        Tier::Lightweight | Tier::AgeOnly => t(
            "You approve in the app; nothing else is needed.",
            "在应用中确认即可。",
        ),
    };
    let title = t("Sign in with Tessera", "使用 Tessera 登录");
    let main = format!(
        r#"<main data-request="{id}" data-secret="{secret}" data-lang="{lang_short}" data-expires="{expires}">
<h1>{title}</h1>
<p><strong id="client">{name}</strong> {asks}</p>
<ul id="claims">{claims}</ul>
<p class="note">{tier}</p>
<h2>{scan}</h2>
<div class="qr" id="qr" data-link="{qr_link}">{svg}</div>
<p>{pick}</p><p class="code" id="match-code">{code}</p>
<p><a class="button" id="open-app" href="{same_device}">{open}</a></p>
<p id="status" role="status" aria-live="polite"></p>
<p class="note">{warn}</p>
</main>"#,
        lang_short = if zh { "zh" } else { "en" },
        id = attr(&p.request_id),
        secret = attr(&p.page_secret),
        expires = p.expires_at,
        asks = t(
            "asks to confirm who you are and to receive:",
            "请求确认您的身份，并获取：",
        ),
        scan = t(
            "Scan with the Tessera app on your phone",
            "用手机上的 Tessera 应用扫码",
        ),
        qr_link = attr(&p.qr_link),
        svg = qr_svg(&p.qr_link),
        pick = t(
            "When the app asks, pick this number:",
            "应用询问时，请选择这个数字：",
        ),
        code = p.match_code,
        same_device = attr(&p.same_device_link),
        open = t("Open Tessera on this device", "在本设备上打开 Tessera"),
        warn = t(
            "Continue only if you started this sign-in yourself on this website. Tessera never asks you to scan a code someone sent you.",
            "仅当您本人在此网站上发起登录时才继续。Tessera 绝不会要求您扫描他人发来的二维码。",
        ),
    );
    page(zh, title, &main, true)
}

/// The page for a request that cannot be answered to the relying party (unknown client,
/// unregistered redirect URI): said to the person, never redirected.
pub fn render_error(why: &str, zh: bool) -> String {
    let (title, lead) = if zh {
        ("无法登录", "此登录请求无效，未向任何网站发送信息。")
    } else {
        (
            "This sign-in cannot continue",
            "The sign-in request is not valid, and nothing was sent to any website.",
        )
    };
    let main = format!(
        r#"<main id="error"><h1>{title}</h1><p>{lead}</p><p class="note">{why}</p></main>"#,
        why = text(why),
    );
    page(zh, title, &main, false)
}
