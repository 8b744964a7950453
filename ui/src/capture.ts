// The face-capture panel shared by enrol, renew and the upgraded unlock: camera preview with
// an oval guide, live guidance, the liveness steps, and progress. It only displays the
// CaptureEvents Rust streams; the command call itself belongs to the screen.

import type { Action, CaptureEvent, Guidance } from "./api";
import { ctx } from "./app";
import { button, h, replace } from "./dom";
import { type Key, formatList, hasKey, t } from "./i18n";

export interface Capture {
  el: HTMLElement;
  onEvent: (e: CaptureEvent) => void;
}

function actionText(a: Action): string {
  const key = `action.${a}`;
  return hasKey(key) ? t(key) : a;
}

function guidanceText(codes: Guidance[]): string {
  return formatList(
    codes.map((g) => {
      const key = `guidance.${g}`;
      return hasKey(key) ? t(key as Key) : g;
    }),
  );
}

export function createCapture(onCancel?: () => void): Capture {
  const preview = h("img", {
    id: "camera-preview",
    class: "camera-img",
    alt: t("capture.previewAlt"),
    width: 480,
    height: 640,
  });
  preview.hidden = true; // until the first frame; the dark frame and oval show meanwhile
  const camera = h(
    "div",
    { class: "camera", "data-ok": "false" },
    preview,
    h("div", { class: "face-guide", "aria-hidden": "true" }),
  );
  // Polite: spoken when it changes, without interrupting. Only written when it changes.
  const guidance = h(
    "p",
    { id: "capture-guidance", class: "guidance", "aria-live": "polite" },
    t("capture.starting"),
  );
  const steps = h("ol", { id: "challenge-steps", class: "steps", "aria-label": t("capture.stepsLabel") });
  const progress = h("progress", {
    id: "capture-progress",
    max: 1,
    value: 0,
    "aria-label": t("capture.progressLabel"),
  });
  const status = h("p", { id: "capture-status", class: "capture-status", "aria-live": "polite" });
  const demo =
    ctx.info.frames === "demo_recording" || ctx.info.frames === "photo"
      ? h("p", { class: "demo-badge", id: "demo-note" }, t(ctx.info.frames === "photo" ? "enrol.photoNote" : "enrol.demoNote"))
      : null;
  const cancel = onCancel
    ? button({ id: "capture-cancel", class: "btn btn-ghost" }, t("capture.cancel"), onCancel)
    : null;

  const el = h(
    "section",
    { class: "capture", "aria-labelledby": "capture-title" },
    h("h2", { id: "capture-title" }, t("capture.title")),
    demo,
    camera,
    guidance,
    steps,
    progress,
    status,
    cancel,
  );

  let actions: Action[] = [];
  let current = -1;
  let done = 0;

  const say = (node: HTMLElement, text: string): void => {
    if (node.textContent !== text) node.textContent = text;
  };

  const renderSteps = (): void => {
    steps.querySelectorAll("li").forEach((li, i) => {
      const state = i < done ? "done" : i === current ? "current" : "pending";
      li.dataset.state = state;
      if (state === "current") li.setAttribute("aria-current", "step");
      else li.removeAttribute("aria-current");
      const tag = li.querySelector(".step-state");
      if (tag) tag.textContent = state === "done" ? t("capture.stepDone") : state === "current" ? t("capture.stepCurrent") : "";
    });
    progress.value = actions.length ? done / actions.length : 0;
  };

  const onEvent = (e: CaptureEvent): void => {
    switch (e.event) {
      case "challenge":
        actions = e.actions;
        current = 0;
        done = 0;
        replace(
          steps,
          ...actions.map((a) =>
            h("li", { class: "step" }, h("span", { class: "step-text" }, actionText(a)), " ", h("span", { class: "step-state" })),
          ),
        );
        renderSteps();
        say(status, t("capture.stepOf", { n: 1, total: actions.length }));
        break;
      case "step":
        current = e.step;
        done = e.done;
        if (actions.length !== e.total) actions = actions.slice(0, e.total);
        renderSteps();
        say(status, t("capture.stepOf", { n: Math.min(e.step + 1, e.total), total: e.total }));
        break;
      case "frame": {
        preview.src = `data:image/jpeg;base64,${e.jpeg}`;
        preview.hidden = false;
        const ok = e.guidance.length === 0;
        camera.dataset.ok = String(ok);
        const action = actions[e.step];
        say(guidance, ok ? (action ? actionText(action) : t("capture.holdStill")) : guidanceText(e.guidance));
        break;
      }
      case "checking":
        done = actions.length;
        current = -1;
        renderSteps();
        progress.removeAttribute("value"); // indeterminate while Rust works
        say(guidance, t("capture.holdStill"));
        say(status, t("capture.checking"));
        if (cancel) cancel.hidden = true; // nothing left to cancel once frames are taken
        break;
      case "submitting":
        say(status, t("capture.submitting"));
        break;
    }
  };

  return { el, onEvent };
}
