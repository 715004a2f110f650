/**
 * A run's page: state badge and the actions allowed now, pending interrupts
 * (Approve / Reject / Edit), the spec, the context-pack summary, artifacts
 * with download links, and the timeline of its audit events.
 *
 * The page polls `GET /api/runs/{id}` while the run can still change (the
 * poll pauses while the tab is hidden and stops when the page is left or the
 * run is final). Each section is rebuilt only when its own data changed, so
 * a refresh never takes away focus or text being typed.
 */
import { approveRun, cancelRun, getRun, rejectRun } from "../api.js";
import { h, replaceChildren, setAttr, setText, showMessage } from "../dom.js";
import { formatBytes, formatCount, formatLocalTime, formatNumber, formatRelative } from "../format.js";
import { poll } from "../poll.js";
import { BUDGET_FIELDS, isFinal, shortGoal, stateLabel } from "../run_helpers.js";
import { createInterrupts } from "./run_interrupts.js";

const RUN_POLL_MS = 1500;
const ARTIFACT_URL = /^\/api\/artifacts\/[A-Za-z0-9][A-Za-z0-9._-]*\/content$/;

export function render(main, [runId]) {
  let poller = null;
  const page = createPage(runId, () => poller && poller.refresh());
  main.append(page.root);
  poller = poll(async () => {
    let run;
    try {
      run = await getRun(runId);
    } catch (error) {
      if (error.status === 404 || error.status === 422) {
        page.notFound(error);
        poller.stop();
        return;
      }
      throw error;
    }
    page.update(run);
    if (isFinal(run.state)) {
      poller.stop();
      page.setLive("This run is final: the page no longer refreshes.");
    }
  }, RUN_POLL_MS, { onError: (error) => page.setLive(`Cannot refresh: ${error.message}. Retrying…`, "error") });
  return () => poller.stop();
}

/** Run `build()` into `node` only when `key` differs from the last one. */
function section(node) {
  let last = null;
  return (key, build) => {
    if (key === last) return;
    last = key;
    replaceChildren(node, build());
  };
}

function createPage(runId, refresh) {
  const title = h("h1", {}, `Run ${runId}`);
  const badge = h("span", { className: "badge run-state run-state-large", dataset: { state: "" } }, "…");
  const meta = h("p", { className: "run-meta muted" });
  const reason = h("p", { className: "run-reason", hidden: true });
  const live = h("p", { className: "live-status muted", role: "status" }, "Loading…");
  const head = h("header", { className: "run-header" }, h("div", { className: "run-title" }, title, badge), meta, reason, live);
  const actionsBody = h("div", {});
  const actionMessage = h("p", { className: "action-message", role: "status", tabindex: "-1", hidden: true });
  const actions = h("section", { className: "panel run-actions", "aria-labelledby": "actions-title" },
    h("h2", { id: "actions-title" }, "Actions"), actionsBody, actionMessage);
  const interrupts = createInterrupts(refresh);
  const specBody = h("div", {});
  const packBody = h("div", {});
  const artifactsBody = h("div", {});
  const timeline = createTimeline();
  const root = h("div", { className: "run-page" },
    h("p", {}, h("a", { href: "#/runs" }, "← All runs")),
    head, actions, interrupts.root,
    h("section", { className: "panel", "aria-labelledby": "artifacts-title" }, h("h2", { id: "artifacts-title" }, "Artifacts"), artifactsBody),
    h("div", { className: "run-columns" },
      h("section", { className: "panel", "aria-labelledby": "spec-title" }, h("h2", { id: "spec-title" }, "Spec"), specBody),
      h("section", { className: "panel", "aria-labelledby": "pack-title" }, h("h2", { id: "pack-title" }, "Context pack"), packBody)),
    timeline.root);
  const show = {
    actions: section(actionsBody), spec: section(specBody), pack: section(packBody), artifacts: section(artifactsBody),
  };
  let lastState = null;
  let messageState = null; // the state an action message speaks about; a later state hides it
  const say = (text, kind) => {
    showMessage(actionMessage, text, kind);
    messageState = lastState;
  };
  const afterAction = (run, text) => {
    if (run && run.run_id) page.update(run);
    say(text, "ok");
    actionMessage.focus();
    refresh();
  };
  const page = {
    root,
    setLive(text, kind = "info") {
      setText(live, text);
      live.dataset.kind = kind;
    },
    notFound(error) {
      replaceChildren(root,
        h("p", {}, h("a", { href: "#/runs" }, "← All runs")),
        h("h1", {}, "Run not found"),
        h("p", { className: "list-error", role: "alert" }, `No run ${runId} here (${error.message}).`));
    },
    update(run) {
      const goal = shortGoal(run.goal || (run.spec && run.spec.goal), 120);
      setText(title, goal || `Run ${run.run_id}`);
      document.title = `${goal || run.run_id} — pmbot`;
      setAttr(badge, "data-state", run.state);
      setText(badge, stateLabel(run.state));
      replaceChildren(meta, metaLine(run));
      reason.hidden = !run.state_reason;
      setText(reason, run.state_reason ? `Reason: ${run.state_reason}` : "");
      if (live.dataset.kind === "error" && lastState === run.state) page.setLive(`State: ${stateLabel(run.state)}. Updates live.`);
      if (lastState !== run.state) {
        const text = lastState === null
          ? `State: ${stateLabel(run.state)}.`
          : `State changed: ${stateLabel(lastState)} → ${stateLabel(run.state)}.`;
        page.setLive(isFinal(run.state) ? text : `${text} Updates live.`);
        lastState = run.state;
      }
      if (!actionMessage.hidden && messageState !== run.state) showMessage(actionMessage, "");
      const allowed = run.allowed_transitions || [];
      show.actions(`${run.state}|${allowed.join(",")}`, () => actionsFor(run, allowed, afterAction, say));
      interrupts.update(run.interrupts || [], isFinal(run.state));
      show.spec(JSON.stringify([run.spec, run.thread_id, run.repo_id]), () => specView(run));
      show.pack(JSON.stringify(run.context_pack || null), () => packView(run.context_pack));
      show.artifacts(JSON.stringify(run.artifacts || []), () => artifactsView(run.artifacts || []));
      timeline.update(run.events || []);
    },
  };
  return page;
}

function metaLine(run) {
  const repoLink = run.repo_id ? h("a", { href: `#/repo/${run.repo_id}` }, run.repo || `repo ${run.repo_id}`) : run.repo || "—";
  return [
    h("code", { className: "run-id" }, run.run_id), " · ", repoLink, " · ",
    h("code", {}, run.graph_id || (run.spec && run.spec.execution && run.spec.execution.graph_id) || "—"),
    " · updated ", h("time", { datetime: run.updated_at, title: formatLocalTime(run.updated_at) }, formatRelative(run.updated_at)),
  ];
}

const STATE_HINTS = {
  draft: "A plan: approve it to let an executor run it, or reject it with a reason.",
  running: "The executor is running it. Nothing to do until it asks for a decision.",
  waiting: "The run waits for your decision on the interrupt below.",
  approved: "Approved: it starts when an executor picks it up.",
  completed: "Completed. Nothing more can happen to this run.",
  failed: "Failed. Nothing more can happen to this run.",
  rejected: "Rejected. Nothing more can happen to this run.",
  cancelled: "Cancelled. Nothing more can happen to this run.",
};

function actionsFor(run, allowed, afterAction, say) {
  const hint = h("p", { className: "muted state-hint" }, STATE_HINTS[run.state] || (allowed.length ? "" : "No actions are possible now."));
  if (!allowed.length) return hint;
  const buttons = h("div", { className: "row-actions" });
  const panel = h("div", { className: "action-form-slot" });
  const fail = (error) => say(`Not done: ${error.message}`, "error");
  const busy = (on) => { for (const b of buttons.querySelectorAll("button")) b.disabled = on; };
  if (allowed.includes("approve")) {
    const approve = h("button", { type: "button", className: "approve-run" }, "Approve plan");
    approve.addEventListener("click", async () => {
      busy(true);
      try {
        afterAction(await approveRun(run.run_id), "Plan approved.");
      } catch (error) {
        fail(error);
        busy(false);
      }
    });
    buttons.append(approve);
  }
  if (allowed.includes("reject")) {
    const reject = h("button", { type: "button", className: "danger reject-run", "aria-expanded": "false" }, "Reject…");
    reject.addEventListener("click", () => openReasonForm(panel, reject, {
      id: "reject-reason", label: "Why reject this plan? (required)", confirm: "Reject plan", required: true,
      send: async (text) => afterAction(await rejectRun(run.run_id, text), "Plan rejected."),
    }));
    buttons.append(reject);
  }
  if (allowed.includes("cancel")) {
    const cancel = h("button", { type: "button", className: "secondary cancel-run", "aria-expanded": "false" }, "Cancel run…");
    cancel.addEventListener("click", () => openReasonForm(panel, cancel, {
      id: "cancel-reason", label: "Reason for cancelling (optional)", confirm: "Yes, cancel run", required: false,
      send: async (text) => afterAction(await cancelRun(run.run_id, text), "Run cancelled."),
    }));
    buttons.append(cancel);
  }
  return [hint, buttons, panel];
}

/** An inline form asking for a reason, under the buttons; Escape or "Keep it" closes it. */
function openReasonForm(slot, opener, { id, label, confirm, required, send }) {
  const area = h("textarea", { id, rows: 2, maxlength: "2000", "aria-describedby": `${id}-error` });
  const error = h("p", { id: `${id}-error`, className: "field-error", role: "alert", hidden: true });
  const yes = h("button", { type: "submit", className: "danger" }, confirm);
  const no = h("button", { type: "button", className: "cancel" }, "Keep it");
  const form = h("form", { className: "reason-form", novalidate: true },
    h("label", { for: id }, label), area, error, h("div", { className: "row-actions" }, yes, no));
  const close = () => {
    slot.replaceChildren();
    opener.setAttribute("aria-expanded", "false");
    opener.focus();
  };
  no.addEventListener("click", close);
  form.addEventListener("keydown", (event) => { if (event.key === "Escape") close(); });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = area.value.trim();
    if (required && !text) {
      showMessage(error, "Give a reason: it is kept in the run's history.", "error");
      area.setAttribute("aria-invalid", "true");
      area.focus();
      return;
    }
    yes.disabled = true;
    try {
      await send(text);
    } catch (failure) {
      showMessage(error, `Not done: ${failure.message}`, "error");
      yes.disabled = false;
    }
  });
  slot.replaceChildren(form);
  opener.setAttribute("aria-expanded", "true");
  area.focus();
}

function fact(label, ...value) {
  return [h("dt", {}, label), h("dd", {}, ...value)];
}

function specView(run) {
  const spec = run.spec || {};
  const execution = spec.execution || {};
  const budget = execution.budget || {};
  const tools = execution.tools_allowed || [];
  const inputs = spec.inputs || {};
  return [
    h("dl", { className: "spec-facts" },
      fact("Goal", h("span", { className: "goal-text" }, spec.goal ?? run.goal ?? "—")),
      fact("Repository", execution.scopes && execution.scopes.repo ? execution.scopes.repo : run.repo || "—"),
      fact("Graph", h("code", {}, execution.graph_id || run.graph_id || "—")),
      BUDGET_FIELDS.map(([name, label]) => fact(label, formatNumber(budget[name]))),
      fact("Tools allowed", tools.length ? tools.map((t) => h("span", { className: "label-chip" }, t)) : h("span", { className: "muted" }, "none")),
      fact("Inputs", Object.keys(inputs).length ? h("pre", { className: "payload" }, JSON.stringify(inputs, null, 2)) : h("span", { className: "muted" }, "none")),
      fact("Thread", execution.thread_id || run.thread_id ? h("code", {}, execution.thread_id || run.thread_id) : h("span", { className: "muted" }, "not started")),
      fact("Created", h("time", { datetime: run.created_at, title: formatRelative(run.created_at) }, formatLocalTime(run.created_at)))),
    h("details", { className: "raw-spec" },
      h("summary", {}, "AgentRunSpec v2 (JSON)"),
      h("pre", { className: "payload" }, JSON.stringify(spec, null, 2))),
  ];
}

function packView(pack) {
  if (!pack) return h("p", { className: "empty-state" }, "No context pack is attached to this run.");
  const taken = h("time", { datetime: pack.taken_at, title: formatLocalTime(pack.taken_at) }, formatRelative(pack.taken_at));
  return [
    h("p", { className: "pack-summary" },
      `${formatCount(pack.issues, "open issue")} and ${formatCount(pack.prs, "open pull request")}, taken `, taken,
      ` (${formatLocalTime(pack.taken_at)}) from the local cache.`),
    h("dl", { className: "spec-facts" },
      fact("SHA-256", h("code", { className: "digest" }, pack.sha256 || "—")),
      pack.artifact_id ? fact("File", downloadLink(`/api/artifacts/${pack.artifact_id}/content`, "context pack")) : null),
  ];
}

function downloadLink(url, what) {
  if (!ARTIFACT_URL.test(url)) return h("span", { className: "muted" }, "no download");
  return h("a", { href: url, download: "", className: "download" }, "Download", h("span", { className: "visually-hidden" }, ` ${what}`));
}

function artifactsView(artifacts) {
  if (!artifacts.length) return h("p", { className: "empty-state" }, "No artifacts yet. What the run produces appears here.");
  const rows = artifacts.map((a) => {
    const url = a.content_url || `/api/artifacts/${a.artifact_id}/content`;
    return h("tr", { dataset: { artifactId: a.artifact_id, kind: a.kind } },
      h("td", {}, h("code", {}, a.kind)),
      h("td", {}, a.media_type || "—"),
      h("td", { className: "num" }, formatBytes(a.size_bytes)),
      h("td", { title: formatLocalTime(a.created_at) }, formatRelative(a.created_at)),
      h("td", {}, downloadLink(url, a.kind)));
  });
  return h("div", { className: "table-wrap" },
    h("table", { className: "items artifacts" },
      h("thead", {}, h("tr", {}, ["Kind", "Type", "Size", "Stored", "Content"].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, rows)));
}

/** One line saying what an audit event of a run means. */
export function describeEvent(event) {
  const p = event.payload || {};
  const interrupt = p.interrupt || {};
  const artifact = p.artifact || {};
  switch (event.type) {
    case "run.planned": return `Plan created${p.spec && p.spec.execution ? ` for ${p.spec.execution.scopes?.repo || "its repo"} with ${p.spec.execution.graph_id}` : ""}.`;
    case "run.edited": return "Plan edited.";
    case "run.approved": return "Plan approved.";
    case "run.rejected": return `Plan rejected: ${p.reason || "no reason given"}.`;
    case "run.cancelled": return p.reason ? `Run cancelled: ${p.reason}.` : "Run cancelled.";
    case "run.started": return `Run started${p.thread_id ? ` on thread ${p.thread_id}` : ""}.`;
    case "run.interrupted": return `Interrupt raised: ${interrupt.kind || "?"}${interrupt.risk ? ` (${interrupt.risk} risk)` : ""} — waiting for a decision.`;
    case "interrupt.decided": return `Interrupt ${p.status || "decided"}${p.decision && p.decision.decided_by ? ` by ${p.decision.decided_by}` : ""}${p.decision && p.decision.comment ? `: “${p.decision.comment}”` : ""}.`;
    case "artifact.stored": return `Artifact stored: ${artifact.kind || "?"}${Number.isFinite(artifact.size_bytes) ? ` (${formatBytes(artifact.size_bytes)})` : ""}.`;
    case "run.finished": return `Run finished: ${p.outcome || "?"}${p.reason ? ` — ${p.reason}` : ""}.`;
    case "context_pack.taken": return `Context pack taken: ${formatCount(p.issues, "issue")}, ${formatCount(p.prs, "pull request")}.`;
    default: return "";
  }
}

function createTimeline() {
  const list = h("ol", { className: "timeline run-timeline" });
  const empty = h("p", { className: "empty-state" }, "No events yet.");
  const root = h("section", { className: "panel", "aria-labelledby": "timeline-title" },
    h("h2", { id: "timeline-title" }, "Timeline"), h("p", { className: "muted" }, "This run's audit events, oldest first."), empty, list);
  const seen = new Set();
  return {
    root,
    update(events) {
      for (const event of events) {
        if (seen.has(event.seq)) continue;
        seen.add(event.seq);
        list.append(eventItem(event));
      }
      empty.hidden = seen.size > 0;
    },
  };
}

function eventItem(event) {
  return h("li", { className: "event", dataset: { seq: event.seq, type: event.type } },
    h("details", {},
      h("summary", {},
        h("span", { className: "seq" }, `#${event.seq}`), " ",
        h("time", { datetime: event.occurred_at, title: formatRelative(event.occurred_at) }, formatLocalTime(event.occurred_at)), " ",
        h("span", { className: "event-type" }, event.type), " ",
        h("span", { className: "event-subject" }, describeEvent(event))),
      h("dl", { className: "event-meta" },
        h("dt", {}, "Actor"), h("dd", {}, event.actor || "—"),
        h("dt", {}, "Event id"), h("dd", {}, h("code", {}, event.event_id || "—")),
        h("dt", {}, "Hash"), h("dd", {}, h("code", {}, event.hash || "—"))),
      h("pre", { className: "payload" }, JSON.stringify(event.payload, null, 2))));
}
