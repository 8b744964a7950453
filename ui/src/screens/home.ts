// The ID card, its state in words, renewal banner, and the way to show the ID.

import { type OneTimeCounts, walletStatus } from "../api";
import { ctx } from "../app";
import { button, h } from "../dom";
import { type Key, formatDate, t } from "../i18n";
import { type Screen, go } from "../router";

function row(label: string, value: HTMLElement): HTMLElement {
  return h("div", { class: "card-row" }, h("dt", {}, label), h("dd", {}, value));
}

export function home(): Screen {
  const s = ctx.status;
  const expiry = s.expires_at;
  const daysLeft = expiry === null ? null : Math.max(0, Math.ceil((expiry - s.now) / 86400));

  const card = h(
    "article",
    { class: "id-card", "data-state": s.state, "aria-labelledby": "card-label" },
    h(
      "div",
      { class: "id-card-top" },
      h("span", { id: "card-label", class: "id-card-label" }, t("home.cardLabel")),
      h("img", { class: "id-card-mark", src: "/favicon.svg", alt: "", width: 32, height: 32 }),
    ),
    // Name and number as a definition list whose terms are visually hidden: screen readers
    // read each value with its label (an aria-label on a <p> is not read).
    h(
      "dl",
      { class: "id-card-ident" },
      h("div", {}, h("dt", { class: "sr-only" }, t("home.name")), h("dd", { id: "card-name", class: "id-card-name" }, s.masked_name ?? "—")),
      h("div", {}, h("dt", { class: "sr-only" }, t("home.idNumber")), h("dd", { id: "card-id", class: "id-card-number" }, s.masked_id_number ?? "—")),
    ),
    h(
      "dl",
      { class: "id-card-facts" },
      row(t("home.state"), h("span", { id: "card-state", class: "state-pill", "data-state": s.state }, t(`state.${s.state}` as Key))),
      expiry === null
        ? null
        : row(
            t("home.expires"),
            h(
              "span",
              { id: "card-expiry" },
              formatDate(expiry),
              daysLeft !== null && (s.state === "active" || s.state === "renewal_due")
                ? h("span", { class: "days-left" }, ` · ${t("home.daysLeft", { n: daysLeft })}`)
                : null,
            ),
          ),
    ),
  );

  let banner: HTMLElement | null = null;
  if ((s.state === "renewal_due" || s.state === "expired") && expiry !== null) {
    banner = h(
      "div",
      { id: "renewal-banner", class: `notice ${s.state === "expired" ? "notice-danger" : "notice-warn"}`, role: "status" },
      h("p", {}, t(s.state === "expired" ? "home.expiredBanner" : "home.renewDue", { date: formatDate(expiry) })),
      button({ id: "renew-start", class: "btn btn-primary btn-block" }, t("home.renew"), () => go("renew")),
    );
  }

  let stateNote: HTMLElement | null = null;
  if (s.state === "enrolling") {
    stateNote = h(
      "div",
      { class: "notice" },
      h("p", {}, t("home.enrolling")),
      button({ id: "continue-enrol", class: "btn btn-primary btn-block" }, t("home.continueEnrol"), () => go("enrol")),
    );
  } else if (s.state === "revoked") {
    stateNote = h(
      "div",
      { class: "notice notice-danger" },
      h("p", {}, t("home.revoked")),
      button({ id: "enrol-again", class: "btn btn-primary btn-block" }, t("home.enrolAgain"), () => go("enrol")),
    );
  } else if (s.state === "renewing") {
    stateNote = h(
      "div",
      { class: "notice" },
      h("p", {}, t("home.renewing")),
      button({ id: "continue-renew", class: "btn btn-secondary btn-block" }, t("home.continueRenew"), () => go("renew")),
    );
  }

  const clock = clockWarning();

  const canShow = s.tiers.length > 0;
  const showBtn = button(
    { id: "show-id", class: "btn btn-primary btn-block btn-large", disabled: !canShow, "aria-describedby": canShow ? null : "no-tiers" },
    t("home.show"),
    () => go("show"),
  );

  // Fresh codes left (one per showing of the one-time tiers); read again on each visit, as a
  // showing just ended and a background refill may have topped them up.
  const fresh = canShow && s.one_time ? h("p", { id: "fresh-codes", class: "hint" }, freshCodesText(s.one_time)) : null;
  if (fresh) {
    walletStatus()
      .then((now) => {
        ctx.status = { ...ctx.status, one_time: now.one_time };
        fresh.textContent = freshCodesText(now.one_time);
      })
      .catch(() => undefined);
  }

  const el = h(
    "section",
    { class: "screen", "aria-labelledby": "home-title" },
    h("h1", { id: "home-title" }, t("home.title")),
    card,
    clock,
    banner,
    stateNote,
    showBtn,
    fresh,
    canShow ? null : h("p", { id: "no-tiers", class: "hint" }, t("home.noTiers")),
    canShow
      ? button({ id: "sign-in-start", class: "btn btn-secondary btn-block" }, t("home.signIn"), () => go("signIn"))
      : null,
  );
  return { el };
}

/** How many fresh codes are left, or that some tier has none (its showings can be linked). */
function freshCodesText(counts: OneTimeCounts | undefined): string {
  if (!counts) return "";
  if (counts.age_only === 0 || counts.lightweight === 0) return t("home.noFreshCodes");
  return t("home.freshCodes", { age_only: counts.age_only, lightweight: counts.lightweight });
}

/** The warning that the device clock is off (desks refuse codes by their time), or null. */
export function clockWarning(): HTMLElement | null {
  const s = ctx.status;
  if (!s.clock_off || s.clock_offset_seconds === null) return null;
  const offset = s.clock_offset_seconds;
  const minutes = Math.round(Math.abs(offset) / 60);
  const key: Key = offset < 0 ? "clock.ahead" : "clock.behind";
  return h(
    "div",
    { class: "notice notice-warn clock-warning", role: "status" },
    h("p", {}, minutes >= 1 ? t(key, { n: minutes }) : t(offset < 0 ? "clock.aheadSeconds" : "clock.behindSeconds", { n: Math.abs(offset) })),
    h("p", { class: "hint" }, t("clock.fix")),
  );
}
