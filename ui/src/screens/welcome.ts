import { button, h } from "../dom";
import { t } from "../i18n";
import { type Screen, go } from "../router";

export function welcome(): Screen {
  const el = h(
    "section",
    { class: "screen welcome", "aria-labelledby": "welcome-title" },
    h("img", { class: "hero-mark", src: "/favicon.svg", alt: "", width: 88, height: 88 }),
    h("h1", { id: "welcome-title" }, t("welcome.title")),
    h("p", { class: "lead" }, t("welcome.lead")),
    h(
      "ul",
      { class: "points" },
      h("li", {}, t("welcome.point1")),
      h("li", {}, t("welcome.point2")),
      h("li", {}, t("welcome.point3")),
    ),
    button({ id: "start-enrol", class: "btn btn-primary btn-block" }, t("welcome.start"), () => go("enrol")),
  );
  return { el };
}
