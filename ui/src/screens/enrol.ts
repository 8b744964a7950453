// Enrolment: the ID number (checked locally as it is typed), then the face capture, then the
// result. Handles the no-camera case (demo recording offer) and moving an ID from another
// device (already_enrolled → replaceExisting).

import {
  type AppInfo,
  cancelCapture,
  checkIdNumber,
  enrol as enrolCmd,
  isCommandError,
  useDemoRecording,
  usePhoto,
} from "../api";
import { ctx, screenFor } from "../app";
import { createCapture } from "../capture";
import { button, h, replace, show } from "../dom";
import { errorBox, toUiError } from "../errors";
import { checkId, normaliseId } from "../idnumber";
import { t } from "../i18n";
import { type Screen, focusHeading, go } from "../router";

export function enrol(): Screen {
  let replaceExisting = false;
  let running = false;
  let left = false;
  let cancelled = false; // the person pressed Cancel: the rejection that follows is no news

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

  const demoNote = h("p", { class: "demo-badge", id: "demo-note" }, t("enrol.demoNote"));
  // Both stand-ins for a missing camera (demo recording, chosen photo) continue the same way:
  // the new frame source is shown, and the enrolment starts if the ID number is ready.
  const switchSource = (chosen: Promise<AppInfo>): Promise<void> =>
    chosen
      .then((info) => {
        ctx.info = info;
        syncCamera();
        replace(errors);
        if (checkId(normaliseId(input.value)) === "ok") void start();
        else input.focus();
      })
      .catch((err: unknown) => fail(err));
  const useDemo = button({ id: "use-demo", class: "btn btn-demo btn-block" }, t("enrol.useDemo"), () => {
    useDemo.disabled = true;
    void switchSource(useDemoRecording()).finally(() => {
      useDemo.disabled = false;
    });
  });
  // "Choose a photo": demo use only. The file is read here and handed to Rust in memory;
  // a still photo shows the capture guidance, and the liveness check refuses it.
  const photoInput = h("input", {
    id: "choose-photo",
    type: "file",
    accept: "image/jpeg,image/png",
    class: "sr-only",
  }) as HTMLInputElement;
  const photoLabel = h("label", { for: "choose-photo", class: "btn btn-demo btn-block", id: "choose-photo-label" }, t("enrol.choosePhoto"));
  photoInput.addEventListener("change", () => {
    const file = photoInput.files?.[0];
    if (!file) return;
    const reader = new FileReader();
    reader.onload = () => {
      const url = typeof reader.result === "string" ? reader.result : "";
      const base64 = url.slice(url.indexOf(",") + 1);
      void switchSource(usePhoto(base64)).finally(() => {
        photoInput.value = "";
      });
    };
    reader.onerror = () => fail({ kind: "invalid_input", message: "the file could not be read" });
    reader.readAsDataURL(file);
  });
  const noCamera = h(
    "div",
    { class: "notice notice-warn", id: "no-camera" },
    h("p", { class: "notice-title" }, t("enrol.noCamera")),
    h("p", {}, t("enrol.noCameraHelp")),
    useDemo,
    photoInput,
    photoLabel,
  );
  const syncCamera = (): void => {
    show(noCamera, ctx.info.frames === "none");
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

  const submit = h("button", { id: "enrol-submit", type: "submit", class: "btn btn-primary btn-block" }, t("enrol.submit"));
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
    submit,
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

  const formView = h(
    "div",
    { class: "stack" },
    h("p", { class: "lead" }, t("enrol.lead")),
    noCamera,
    demoNote,
    errors,
    replaceBox,
    form,
  );
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
    const box = errorBox(e);
    replace(errors, box);
    show(replaceBox, e.kind === "already_enrolled");
    if (e.kind === "no_camera") {
      ctx.info = { ...ctx.info, frames: "none" };
      syncCamera();
    }
    box.focus();
  };

  const start = async (): Promise<void> => {
    if (running) return;
    const id = normaliseId(input.value);
    // Refuse a bad number before any command is invoked.
    if (checkId(id) !== "ok") {
      input.setAttribute("aria-invalid", "true");
      fail({ kind: "invalid_id_number", message: "" });
      return;
    }
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
      focusHeading(captureView);
      const status = await enrolCmd(id, replaceExisting, capture.onEvent);
      if (left) return;
      ctx.status = status;
      replace(
        resultView,
        h(
          "div",
          { class: "result result-ok", id: "enrol-result" },
          h("h2", {}, t("enrol.successTitle")),
          h("p", {}, t("enrol.successLead")),
        ),
        button({ id: "enrol-continue", class: "btn btn-primary btn-block" }, t("enrol.continue"), () =>
          go(screenFor(status)),
        ),
      );
      view(resultView);
      focusHeading(resultView);
    } catch (err) {
      if (left) return;
      if (cancelled) {
        view(formView);
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
