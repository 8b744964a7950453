// Enrolment: the ID number (checked locally as it is typed), then the face capture, then the
// PIN (the PIN screen; enrolment is not finished, and nothing else is offered, until it is
// set). Handles the no-camera case (the demo recording, offered where the face check starts)
// and moving an ID from another device (already_enrolled → replaceExisting).

import { cancelCapture, checkIdNumber, enrol as enrolCmd, isCommandError, useDemoRecording } from "../api";
import { ctx, screenFor } from "../app";
import { createCapture } from "../capture";
import { refreshNav } from "../chrome";
import { button, h, replace, show } from "../dom";
import { errorBox, toUiError } from "../errors";
import { checkId, normaliseId } from "../idnumber";
import { type Key, t } from "../i18n";
import { type Screen, focusHeading, go } from "../router";

export type EnrolStep = "id" | "face" | "pin";

/** The steps of adding an ID, the current one marked (aria-current="step"). The PIN is one
 *  of them unless a PIN is already set (adding an ID again after a revocation keeps it). */
export function enrolSteps(current: EnrolStep, withPin: boolean): HTMLElement {
  const steps: Array<[EnrolStep, Key]> = [
    ["id", "enrol.stepId"],
    ["face", "enrol.stepFace"],
  ];
  if (withPin) steps.push(["pin", "enrol.stepPin"]);
  const at = steps.findIndex(([step]) => step === current);
  return h(
    "ol",
    { id: "enrol-steps", class: "enrol-steps", "aria-label": t("enrol.steps") },
    ...steps.map(([step, key], i) => {
      const state = i < at ? "done" : i === at ? "current" : "pending";
      return h(
        "li",
        { class: "enrol-step", "data-step": step, "data-state": state, "aria-current": state === "current" ? "step" : null },
        h("span", { class: "enrol-step-n", "aria-hidden": "true" }, String(i + 1)),
        h("span", {}, t(key)),
        state === "done" ? h("span", { class: "sr-only" }, ` (${t("capture.stepDone")})`) : null,
      );
    }),
  );
}

export function enrol(): Screen {
  let replaceExisting = false;
  let running = false;
  let left = false;
  let cancelled = false; // the person pressed Cancel: the rejection that follows is no news
  const withPin = !ctx.status.pin_set;
  const stepsHolder = h("div", {});
  const step = (current: EnrolStep): void => replace(stepsHolder, enrolSteps(current, withPin));
  step("id");

  const input = h("input", {
    id: "id-number",
    class: "input input-id",
    type: "text",
    autocomplete: "off",
    autocapitalize: "characters",
    spellcheck: "false",
    maxlength: 24, // 18 plus room for spaces people type; normaliseId drops them
    required: true,
    "aria-describedby": "id-number-hint id-number-status",
  });
  const fieldStatus = h("p", { id: "id-number-status", class: "field-status", "aria-live": "polite" });
  const errors = h("div", { class: "errors" });

  // --- where the face check starts: the camera's button, or (no camera) the warning and the
  // demo recording, which starts the same face check once the ID number is valid ---
  const submit = h("button", { id: "enrol-submit", type: "submit", class: "btn btn-primary btn-block" }, t("enrol.submit"));
  const demoNote = h("p", { class: "demo-badge", id: "demo-note" }, t("enrol.demoNote"));
  const useDemo = button({ id: "use-demo", class: "btn btn-demo btn-block" }, t("enrol.useDemo"), () => {
    // The warning stays until the number is valid: nothing changes before that.
    if (!idReady()) return;
    useDemo.disabled = true;
    useDemoRecording()
      .then((info) => {
        ctx.info = info;
        syncCamera();
        replace(errors);
        void start();
      })
      .catch((err: unknown) => fail(err))
      .finally(() => {
        useDemo.disabled = false;
      });
  });
  const noCamera = h(
    "div",
    { class: "notice notice-warn", id: "no-camera" },
    h("p", { class: "notice-title" }, t("enrol.noCamera")),
    h("p", {}, t("enrol.noCameraHelp")),
    h("p", { id: "demo-offer" }, t("enrol.demoOffer")),
    useDemo,
  );
  const syncCamera = (): void => {
    const none = ctx.info.frames === "none";
    show(noCamera, none);
    show(submit, !none);
    show(demoNote, ctx.info.frames === "demo_recording" || ctx.info.frames === "photo");
    demoNote.textContent = t(ctx.info.frames === "photo" ? "enrol.photoNote" : "enrol.demoNote");
  };
  syncCamera();

  const replaceBox = h(
    "div",
    { class: "notice", id: "replace-box" },
    h("p", {}, t("enrol.replaceExplain")),
    button({ id: "replace-existing", class: "btn btn-secondary btn-block" }, t("enrol.replace"), () => {
      replaceExisting = true;
      void start();
    }),
  );
  show(replaceBox, false);

  const form = h(
    "form",
    { class: "form", novalidate: true },
    h(
      "div",
      { class: "field" },
      h("label", { for: "id-number" }, t("enrol.idLabel")),
      input,
      h("p", { id: "id-number-hint", class: "hint" }, t("enrol.idHint")),
      fieldStatus,
    ),
    h("div", { class: "stack face-start" }, demoNote, noCamera, submit),
    button({ id: "enrol-back", class: "btn btn-ghost btn-block" }, t("show.back"), () => go(screenFor(ctx.status))),
  );

  // Feedback while typing: length, wrong characters, then the check digit.
  input.addEventListener("input", () => {
    const id = normaliseId(input.value);
    const c = checkId(id);
    const bad = c === "format" || c === "check_digit";
    input.setAttribute("aria-invalid", String(bad));
    fieldStatus.dataset.state = c;
    fieldStatus.textContent =
      c === "ok"
        ? t("enrol.idOk")
        : c === "format"
          ? t("enrol.idFormat")
          : c === "check_digit"
            ? t("enrol.idCheckDigit")
            : id.length
              ? t("enrol.idLength", { n: id.length })
              : "";
  });

  const formView = h("div", { class: "stack" }, h("p", { class: "lead" }, t("enrol.lead")), errors, replaceBox, form);
  const captureView = h("div", { class: "stack" });
  const resultView = h("div", { class: "stack" });
  show(captureView, false);
  show(resultView, false);

  const view = (which: HTMLElement): void => {
    for (const v of [formView, captureView, resultView]) show(v, v === which);
  };

  const fail = (err: unknown): void => {
    const e = toUiError(err);
    view(formView);
    step("id");
    const box = errorBox(e);
    replace(errors, box);
    show(replaceBox, e.kind === "already_enrolled");
    if (e.kind === "no_camera") {
      ctx.info = { ...ctx.info, frames: "none" };
      syncCamera();
    }
    box.focus();
  };

  /** Whether the number is valid; if not, says why (the alert is announced) and puts the
   *  cursor back in the field. No command is invoked for a bad number. */
  const idReady = (): boolean => {
    const id = normaliseId(input.value);
    if (checkId(id) === "ok") return true;
    input.setAttribute("aria-invalid", "true");
    fail({ kind: id === "" ? "id_missing" : "invalid_id_number", message: "" });
    input.focus();
    return false;
  };

  const start = async (): Promise<void> => {
    if (running || !idReady()) return;
    const id = normaliseId(input.value);
    if (ctx.info.frames === "none") {
      fail({ kind: "no_camera", message: "" });
      return;
    }
    running = true;
    submit.disabled = true;
    try {
      const problem = await checkIdNumber(id);
      if (problem) throw problem;
      cancelled = false;
      const capture = createCapture(() => {
        cancelled = true;
        cancelCapture().catch(() => undefined); // the pending enrol call then rejects
      });
      replace(captureView, capture.el);
      view(captureView);
      step("face");
      focusHeading(captureView);
      const status = await enrolCmd(id, replaceExisting, capture.onEvent);
      if (left) return;
      ctx.status = status;
      refreshNav(); // an ID without a PIN: no nav until the PIN step is done
      // With no PIN yet, the face check is not the end: the PIN step follows.
      const pinNext = !status.pin_set;
      if (pinNext) step("pin");
      replace(
        resultView,
        h(
          "div",
          { class: "result result-ok", id: "enrol-result" },
          h("h2", {}, t(pinNext ? "enrol.faceOkTitle" : "enrol.successTitle")),
          h("p", {}, t(pinNext ? "enrol.faceOkLead" : "enrol.successLead")),
        ),
        button({ id: "enrol-continue", class: "btn btn-primary btn-block" }, t(pinNext ? "enrol.toPin" : "enrol.continue"), () =>
          go(screenFor(status)),
        ),
      );
      view(resultView);
      focusHeading(resultView);
    } catch (err) {
      if (left) return;
      if (cancelled) {
        // Back to the form, focus on the button that starts the face check again (it must be
        // enabled first: a disabled button cannot take focus, which left it on <body>).
        view(formView);
        step("id");
        submit.disabled = false;
        submit.focus();
      } else {
        fail(isCommandError(err) ? err : toUiError(err));
      }
    } finally {
      running = false;
      submit.disabled = false;
    }
  };

  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    replaceExisting = false;
    show(replaceBox, false);
    void start();
  });

  const el = h(
    "section",
    { class: "screen", "aria-labelledby": "enrol-title" },
    h("h1", { id: "enrol-title" }, t("enrol.title")),
    stepsHolder,
    formView,
    captureView,
    resultView,
  );
  return {
    el,
    dispose: () => {
      left = true;
      if (running) cancelCapture().catch(() => undefined);
    },
  };
}
