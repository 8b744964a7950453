// The sign-in page: follows its request and continues to the relying party by itself.
// No third-party code, no inline script (the page's CSP allows only this file).
"use strict";
(function () {
  const main = document.querySelector("main[data-request]");
  if (!main) return;
  const zh = main.dataset.lang === "zh";
  const text = {
    pending: zh ? "正在等待您在 Tessera 应用中确认…" : "Waiting for you to approve in the Tessera app…",
    approved: zh ? "已确认，正在返回网站…" : "Approved. Taking you back to the website…",
    refused: zh ? "登录已被拒绝。" : "The sign-in was refused.",
    expired: zh ? "登录请求已过期，请在网站上重新开始。" : "The sign-in request expired. Start again on the website.",
    back: zh ? "返回网站" : "Back to the website",
  };
  const status = document.getElementById("status");
  const say = (state, link) => {
    status.textContent = text[state] || text.pending;
    main.dataset.state = state;
    if (link && state !== "approved") {
      const a = document.createElement("a");
      a.href = link;
      a.id = "back";
      a.textContent = text.back;
      status.append(" ", a);
    }
  };
  const url = "/oidc/sign-ins/" + encodeURIComponent(main.dataset.request) + "/status";
  const body = JSON.stringify({ page_secret: main.dataset.secret });
  let done = false;
  async function poll() {
    if (done) return;
    try {
      const r = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
        cache: "no-store",
        redirect: "error",
      });
      if (r.ok) {
        const s = await r.json();
        if (s.state === "approved" && s.continue_to) {
          done = true;
          say("approved");
          window.location.replace(s.continue_to);
          return;
        }
        if (s.state === "refused" || s.state === "expired") {
          done = true;
          say(s.state, s.continue_to);
          return;
        }
      }
    } catch (e) {
      // The network dropped for a moment: keep following.
    }
    setTimeout(poll, 1000);
  }
  say("pending");
  poll();
})();
