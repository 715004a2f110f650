/**
 * A run's interrupts: the pending ones with Approve / Reject / Edit, the
 * decided ones with their decision. Cards are keyed by interrupt id and only
 * rebuilt when their status changes, so a poll never wipes a comment or an
 * edit being typed. Edit opens the payload as JSON; invalid JSON, or JSON
 * that is not an object, is refused here and never sent.
 */
import { decideInterrupt } from "../api.js";
import { h, setText, showMessage } from "../dom.js";
import { formatLocalTime, formatNumber, formatRelative } from "../format.js";
import { INTERRUPT_STATUS_LABELS, parseJsonObject } from "../run_helpers.js";

const RISK_LABELS = { low: "Low risk", medium: "Medium risk", high: "High risk" };

/** The Interrupts panel; `onDecided()` re-reads the run. */
export function createInterrupts(onDecided) {
  const list = h("ol", { className: "interrupt-list" });
  const empty = h("p", { className: "empty-state" }, "No interrupts yet. When the run needs a decision, it shows here.");
  const count = h("span", { className: "muted interrupt-count" });
  const root = h("section", { className: "panel interrupts", "aria-labelledby": "interrupts-title" },
    h("div", { className: "list-head" }, h("h2", { id: "interrupts-title" }, "Interrupts"), count), empty, list);
  const cards = new Map();
  return {
    root,
    /** `runFinal`: the run ended, so a still-pending interrupt can no longer be decided. */
    update(interrupts, runFinal = false) {
      const sorted = [...interrupts].sort((a, b) => (a.status === "pending" ? 0 : 1) - (b.status === "pending" ? 0 : 1));
      const seen = new Set();
      let previous = null;
      for (const interrupt of sorted) {
        seen.add(interrupt.interrupt_id);
        const key = `${interrupt.status}|${runFinal}|${JSON.stringify(interrupt.decision || null)}`;
        let card = cards.get(interrupt.interrupt_id);
        if (!card || card.key !== key) {
          const fresh = { key, root: interruptCard(interrupt, onDecided, runFinal) };
          if (card) card.root.replaceWith(fresh.root);
          card = fresh;
          cards.set(interrupt.interrupt_id, card);
        }
        const wanted = previous ? previous.nextSibling : list.firstChild;
        if (wanted !== card.root) list.insertBefore(card.root, wanted);
        previous = card.root;
      }
      for (const [id, card] of cards) {
        if (!seen.has(id)) {
          card.root.remove();
          cards.delete(id);
        }
      }
      const pending = interrupts.filter((i) => i.status === "pending").length;
      empty.hidden = interrupts.length > 0;
      setText(count, interrupts.length ? `${formatNumber(pending)} pending · ${formatNumber(interrupts.length - pending)} decided` : "");
    },
  };
}

function cardHead(interrupt) {
  const status = interrupt.status;
  return h("div", { className: "interrupt-head" },
    h("h3", {}, h("code", {}, interrupt.kind)),
    h("span", { className: "badge risk", dataset: { risk: interrupt.risk } }, RISK_LABELS[interrupt.risk] || interrupt.risk),
    h("span", { className: "badge interrupt-status", dataset: { status } }, INTERRUPT_STATUS_LABELS[status] || status),
    h("span", { className: "muted" }, "raised ",
      h("time", { datetime: interrupt.created_at, title: formatLocalTime(interrupt.created_at) }, formatRelative(interrupt.created_at))));
}

function payloadBlock(label, value) {
  return h("div", { className: "payload-block" },
    h("p", { className: "payload-label" }, label),
    h("pre", { className: "payload" }, JSON.stringify(value, null, 2)));
}

function interruptCard(interrupt, onDecided, runFinal) {
  const pending = interrupt.status === "pending";
  const root = h("li", { className: "interrupt", dataset: { interruptId: interrupt.interrupt_id, status: interrupt.status, risk: interrupt.risk } },
    cardHead(interrupt));
  if (!pending) {
    root.append(...decidedBody(interrupt));
    return root;
  }
  if (runFinal) {
    root.dataset.status = "closed";
    root.append(payloadBlock("Payload", interrupt.payload),
      h("p", { className: "decision-line muted" }, "Never decided: the run ended first."));
    return root;
  }
  root.append(payloadBlock("Payload", interrupt.payload), ...pendingControls(interrupt, onDecided));
  return root;
}

function decidedBody(interrupt) {
  const decision = interrupt.decision || {};
  const when = decision.decided_at;
  const parts = [
    h("p", { className: "decision-line" },
      `${INTERRUPT_STATUS_LABELS[interrupt.status] || interrupt.status} by ${decision.decided_by || "—"} `,
      h("time", { datetime: when, title: formatLocalTime(when) }, formatRelative(when)),
      decision.comment ? ` — “${decision.comment}”` : ""),
  ];
  if (interrupt.status === "edited") parts.push(payloadBlock("Edited payload (the run continues with this)", decision.edited_payload));
  parts.push(h("details", { className: "original-payload" },
    h("summary", {}, interrupt.status === "edited" ? "Original payload" : "Payload"),
    h("pre", { className: "payload" }, JSON.stringify(interrupt.payload, null, 2))));
  return parts;
}

function pendingControls(interrupt, onDecided) {
  const id = interrupt.interrupt_id;
  const commentId = `comment-${id}`;
  const comment = h("input", { id: commentId, type: "text", autocomplete: "off", maxlength: "2000" });
  const message = h("p", { className: "action-message", role: "status", hidden: true });
  const approve = h("button", { type: "button", className: "approve" }, "Approve");
  const reject = h("button", { type: "button", className: "danger reject" }, "Reject");
  const edit = h("button", { type: "button", className: "secondary edit" }, "Edit…");
  const editor = createEditor(interrupt, (payload) => decide("edit", payload), () => {
    editor.root.hidden = true;
    buttons.hidden = false;
    edit.focus();
  });
  const buttons = h("div", { className: "row-actions" }, approve, reject, edit);
  const all = [approve, reject, edit, editor.save];

  async function decide(decision, editedPayload) {
    for (const button of all) button.disabled = true;
    showMessage(message, "Sending your decision…", "info");
    try {
      await decideInterrupt(id, decision, { comment: comment.value.trim(), editedPayload });
      showMessage(message, "Decision recorded.", "ok");
      onDecided();
    } catch (error) {
      showMessage(message, `Not recorded: ${error.message}`, "error");
      for (const button of all) button.disabled = false;
      if (error.status === 409) onDecided();
    }
  }

  approve.addEventListener("click", () => decide("approve"));
  reject.addEventListener("click", () => decide("reject"));
  edit.addEventListener("click", () => {
    buttons.hidden = true;
    editor.open();
  });
  return [
    h("div", { className: "field comment-field" }, h("label", { for: commentId }, "Comment (optional)"), comment),
    buttons, editor.root, message,
  ];
}

function createEditor(interrupt, onSave, onCancel) {
  const id = interrupt.interrupt_id;
  const areaId = `edit-${id}`;
  const errorId = `edit-${id}-error`;
  const area = h("textarea", { id: areaId, rows: 8, spellcheck: "false", className: "json-editor", "aria-describedby": errorId });
  const error = h("p", { id: errorId, className: "field-error", role: "alert", hidden: true });
  const save = h("button", { type: "submit" }, "Save edit and continue");
  const cancel = h("button", { type: "button", className: "cancel" }, "Cancel edit");
  const form = h("form", { className: "interrupt-editor", hidden: true, novalidate: true },
    h("label", { for: areaId }, "Edited payload (JSON object)"), area, error,
    h("div", { className: "row-actions" }, save, cancel));
  cancel.addEventListener("click", onCancel);
  area.addEventListener("input", () => {
    if (!error.hidden) {
      showMessage(error, "");
      area.removeAttribute("aria-invalid");
    }
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const parsed = parseJsonObject(area.value);
    if (!parsed.ok) {
      showMessage(error, `${parsed.message} Nothing was sent.`, "error");
      area.setAttribute("aria-invalid", "true");
      area.focus();
      return;
    }
    onSave(parsed.value);
  });
  return {
    root: form,
    save,
    open() {
      if (!area.value) area.value = JSON.stringify(interrupt.payload, null, 2);
      form.hidden = false;
      area.focus();
    },
  };
}
