import { history as historyCmd, signInHistory } from "../api";
import { h, replace } from "../dom";
import { errorBox } from "../errors";
import { type Key, formatDateTime, formatList, hasKey, t } from "../i18n";
import type { Screen } from "../router";

export function history(): Screen {
  const list = h("ul", { id: "history-list", class: "history", "aria-label": t("history.listLabel") });
  const body = h("div", { class: "stack", "aria-busy": "true" }, h("p", { class: "hint" }, t("app.loading")));
  let left = false;

  historyCmd()
    .then((entries) => {
      if (left) return;
      const sorted = [...entries].sort((a, b) => b.at - a.at); // newest first
      replace(
        list,
        ...sorted.map((e) =>
          h(
            "li",
            { class: "history-item", "data-tier": e.tier, "data-linkable": e.linkable ? "true" : null },
            h("time", { datetime: new Date(e.at * 1000).toISOString() }, formatDateTime(e.at)),
            h("span", { class: `tier-tag tier-tag-${e.tier}` }, hasKey(`tier.${e.tier}`) ? t(`tier.${e.tier}` as Key) : e.tier),
            e.linkable ? h("span", { class: "linkable-mark" }, t("history.linkable")) : null,
          ),
        ),
      );
      replace(body, sorted.length ? list : h("p", { id: "history-empty", class: "empty" }, t("history.empty")));
    })
    .catch((err: unknown) => {
      if (!left) replace(body, errorBox(err));
    })
    .finally(() => body.removeAttribute("aria-busy"));

  // Sign-ins: which website, when, what it received.
  const signIns = h("div", { class: "stack", "aria-busy": "true" });
  signInHistory()
    .then((records) => {
      if (left) return;
      const sorted = [...records].sort((a, b) => b.at - a.at);
      replace(
        signIns,
        sorted.length === 0
          ? h("p", { id: "sign-ins-empty", class: "empty" }, t("history.signInsEmpty"))
          : h(
              "ul",
              { id: "sign-ins-list", class: "history", "aria-label": t("history.signInsLabel") },
              ...sorted.map((r) =>
                h(
                  "li",
                  { class: "history-item", "data-client": r.client_id },
                  h("time", { datetime: new Date(r.at * 1000).toISOString() }, formatDateTime(r.at)),
                  h("span", { class: "sign-in-client" }, r.client_name),
                  h(
                    "span",
                    { class: "hint" },
                    r.claims.length === 0
                      ? t("history.sharedNothing")
                      : t("history.shared", { claims: formatList(r.claims.map((c) => t(`claim.${c}` as Key))) }),
                  ),
                ),
              ),
            ),
      );
    })
    .catch((err: unknown) => {
      if (!left) replace(signIns, errorBox(err));
    })
    .finally(() => signIns.removeAttribute("aria-busy"));

  const el = h(
    "section",
    { class: "screen", "aria-labelledby": "history-title" },
    h("h1", { id: "history-title" }, t("history.title")),
    h("p", { class: "lead" }, t("history.lead")),
    body,
    h("h2", { id: "sign-ins-title" }, t("history.signInsTitle")),
    signIns,
  );
  return { el, dispose: () => (left = true) };
}
