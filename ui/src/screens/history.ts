import { history as historyCmd } from "../api";
import { h, replace } from "../dom";
import { errorBox } from "../errors";
import { formatDateTime, t } from "../i18n";
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
            { class: "history-item", "data-tier": e.tier },
            h("time", { datetime: new Date(e.at * 1000).toISOString() }, formatDateTime(e.at)),
            h("span", { class: `tier-tag tier-tag-${e.tier}` }, t(`tier.${e.tier}`)),
          ),
        ),
      );
      replace(body, sorted.length ? list : h("p", { id: "history-empty", class: "empty" }, t("history.empty")));
    })
    .catch((err: unknown) => {
      if (!left) replace(body, errorBox(err));
    })
    .finally(() => body.removeAttribute("aria-busy"));

  const el = h(
    "section",
    { class: "screen", "aria-labelledby": "history-title" },
    h("h1", { id: "history-title" }, t("history.title")),
    h("p", { class: "lead" }, t("history.lead")),
    body,
  );
  return { el, dispose: () => (left = true) };
}
