/**
 * The Audit page: the hash-chained event log newest first, filterable by
 * repo and type, each event expandable to its payload; the chain check
 * (`/api/audit/verify`) and the head `(seq, hash)` to keep somewhere safe.
 */
import { getAuditHead, listAudit, listRepos, verifyAudit } from "../api.js";
import { h, replaceChildren, showMessage } from "../dom.js";
import { formatCount, formatLocalTime, formatRelative } from "../format.js";

const PAGE_SIZE = 50;
const EVENT_TYPES = [
  "workspace.created", "repo.added", "repo.removed", "repo.renamed", "sync.requested",
  "sync.page_committed", "sync.completed", "sync.failed", "sync.reconciled", "cache.reset",
  "context_pack.taken", "run.planned", "run.edited", "run.approved", "run.rejected", "run.cancelled",
  "run.started", "run.interrupted", "interrupt.decided", "artifact.stored", "run.finished",
];

export function render(main) {
  const integrity = h("section", { className: "panel integrity", "aria-labelledby": "integrity-title" },
    h("h2", { id: "integrity-title" }, "Integrity"), h("p", {}, "Checking the chain…"));
  const timeline = createTimeline();
  main.append(h("h1", {}, "Audit log"), integrity, timeline.root);
  loadIntegrity(integrity);
  timeline.loadRepos().then(() => timeline.load(false));
  return () => timeline.stop();
}

async function loadIntegrity(section) {
  try {
    const [result, head] = await Promise.all([verifyAudit(), getAuditHead()]);
    replaceChildren(section, section.firstChild, verifyLine(result), headLine(head));
  } catch (error) {
    replaceChildren(section, section.firstChild, h("p", { className: "list-error", role: "alert" }, `Cannot check the chain: ${error.message}`));
  }
}

function verifyLine(result) {
  if (result.ok) {
    return h("p", { className: "verify-result", dataset: { kind: "ok" } },
      `Chain intact — ${formatCount(result.checked, "event")} checked.`);
  }
  const reason = result.reason ? ` (${result.reason})` : "";
  return h("p", { className: "verify-result", dataset: { kind: "error" }, role: "alert" },
    `Chain broken at event #${result.first_bad_seq}${reason} — ${formatCount(result.checked, "event")} checked.`);
}

function headLine(head) {
  const value = `${head.seq}:${head.hash}`;
  const code = h("code", { className: "head-value" }, value);
  const status = h("span", { className: "action-message", role: "status", hidden: true });
  const copy = h("button", { type: "button", className: "copy-head" }, "Copy");
  copy.addEventListener("click", () => copyText(value, code, status));
  return h("div", { className: "head-line" },
    h("p", {}, `Head: event #${head.seq}. Keep this outside the database; `, h("code", {}, "pmbot audit verify --head SEQ:HASH"), " checks the log against it."),
    h("div", { className: "field-row" }, code, copy, status));
}

/** Copy to the clipboard; where the browser refuses, select the text for Ctrl+C instead. */
async function copyText(value, node, status) {
  try {
    await navigator.clipboard.writeText(value);
    showMessage(status, "Copied.", "ok");
  } catch {
    window.getSelection().selectAllChildren(node);
    showMessage(status, "Selected — press Ctrl+C to copy.", "info");
  }
}

function createFilters(onChange) {
  const repo = h("select", { id: "audit-repo", name: "repo_id" }, h("option", { value: "" }, "All repos"));
  const type = h("select", { id: "audit-type", name: "type" }, h("option", { value: "" }, "All types"),
    EVENT_TYPES.map((t) => h("option", { value: t }, t)));
  repo.addEventListener("change", onChange);
  type.addEventListener("change", onChange);
  const form = h("form", { className: "filters" },
    h("div", { className: "field" }, h("label", { for: "audit-repo" }, "Repo"), repo),
    h("div", { className: "field" }, h("label", { for: "audit-type" }, "Event type"), type));
  form.addEventListener("submit", (event) => event.preventDefault());
  return { form, repo, values: () => ({ repo_id: repo.value, type: type.value }) };
}

function createTimeline() {
  const state = { next: null, request: 0, names: new Map() };
  const view = {
    list: h("ol", { className: "timeline", reversed: true }),
    status: h("p", { className: "list-status", role: "status" }),
    more: h("button", { type: "button", className: "load-more", hidden: true }, "Load more"),
  };
  const load = (append) => loadEvents(state, view, append);
  view.filters = createFilters(() => load(false));
  view.more.addEventListener("click", () => load(true));
  const root = h("section", { className: "panel", "aria-labelledby": "timeline-title" },
    h("h2", { id: "timeline-title" }, "Timeline"), view.filters.form, view.status, view.list, view.more);
  return {
    root,
    load,
    loadRepos: () => loadRepoNames(state.names, view.filters.repo),
    stop: () => { state.request += 1; },
  };
}

/** Fetch a page of events; a newer request (changed filters, page left) wins over older ones. */
async function loadEvents(state, view, append) {
  const request = ++state.request;
  try {
    const params = { ...view.filters.values(), limit: PAGE_SIZE, cursor: append ? state.next : null };
    const page = await listAudit(params);
    if (request !== state.request) return;
    if (!append) view.list.replaceChildren();
    view.list.append(...page.items.map((event) => eventItem(event, state.names)));
    state.next = page.next || null;
    view.more.hidden = !state.next;
    const count = view.list.children.length;
    showMessage(view.status, count ? `Showing ${formatCount(count, "event")}, newest first.` : "No events match these filters.", "info");
  } catch (error) {
    if (request === state.request) showMessage(view.status, `Cannot load the log: ${error.message}`, "error");
  }
}

/** Fill the repo filter, and remember names so events show `owner/name`, not an id. */
async function loadRepoNames(names, select) {
  const { items } = await listRepos().catch(() => ({ items: [] }));
  for (const repo of items) {
    names.set(String(repo.repo_id), repo.full_name);
    select.append(h("option", { value: repo.repo_id }, repo.full_name));
  }
}

function subject(event, names) {
  const name = event.payload && event.payload.full_name;
  if (event.aggregate === "repo") return name || names.get(String(event.aggregate_id)) || `repo ${event.aggregate_id}`;
  return `${event.aggregate} ${event.aggregate_id}`;
}

function eventItem(event, names) {
  return h("li", { className: "event", dataset: { seq: event.seq, type: event.type } },
    h("details", {},
      h("summary", {},
        h("span", { className: "seq" }, `#${event.seq}`), " ",
        h("time", { datetime: event.occurred_at, title: formatRelative(event.occurred_at) }, formatLocalTime(event.occurred_at)), " ",
        h("span", { className: "event-type" }, event.type), " ",
        h("span", { className: "event-subject" }, subject(event, names))),
      h("dl", { className: "event-meta" },
        h("dt", {}, "Actor"), h("dd", {}, event.actor),
        h("dt", {}, "Event id"), h("dd", {}, h("code", {}, event.event_id)),
        h("dt", {}, "Hash"), h("dd", {}, h("code", {}, event.hash))),
      h("pre", { className: "payload" }, JSON.stringify(event.payload, null, 2))));
}
