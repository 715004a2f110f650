/**
 * The Runs page: every plan and run, newest first, filterable by state and
 * repo, with keyset "Load more". The rows shown so far are re-read every few
 * seconds (one request of up to 200), so states and pending interrupts stay
 * current; rows are updated in place, never rebuilt.
 */
import { listRepos, listRuns } from "../api.js";
import { h, replaceChildren, setAttr, setText, showMessage } from "../dom.js";
import { formatCount, formatLocalTime, formatRelative } from "../format.js";
import { poll } from "../poll.js";
import { RUN_STATES, shortGoal, stateLabel } from "../run_helpers.js";

const PAGE_SIZE = 50;
const MAX_LIMIT = 200;
const LIST_POLL_MS = 3000;

export function render(main) {
  const list = createList();
  main.append(
    h("div", { className: "page-head" },
      h("h1", {}, "Runs"),
      h("a", { className: "button-link", href: "#/runs/new" }, "New plan")),
    list.root);
  document.title = "Runs — pmbot";
  list.loadRepos();
  const poller = poll(() => list.refresh(), LIST_POLL_MS, {
    onError: (error) => showMessage(list.status, `Cannot load the runs: ${error.message}`, "error"),
  });
  list.onFiltersChanged = () => list.reset().then(() => poller.refresh());
  return () => {
    poller.stop();
    list.stop();
  };
}

function createFilters(onChange) {
  const state = h("select", { id: "runs-state", name: "state" },
    h("option", { value: "" }, "All states"),
    RUN_STATES.map((s) => h("option", { value: s }, stateLabel(s))));
  const repo = h("select", { id: "runs-repo", name: "repo_id" }, h("option", { value: "" }, "All repos"));
  state.addEventListener("change", onChange);
  repo.addEventListener("change", onChange);
  const form = h("form", { className: "filters", "aria-label": "Filter runs" },
    h("div", { className: "field" }, h("label", { for: "runs-state" }, "State"), state),
    h("div", { className: "field" }, h("label", { for: "runs-repo" }, "Repo"), repo));
  form.addEventListener("submit", (event) => event.preventDefault());
  return { form, repo, values: () => ({ state: state.value, repo_id: repo.value }) };
}

function createList() {
  const state = { next: null, request: 0, shown: 0, rows: new Map() };
  const view = {
    rows: h("tbody"),
    status: h("p", { className: "list-status", role: "status" }),
    more: h("button", { type: "button", className: "load-more", hidden: true }, "Load more"),
  };
  const list = {
    status: view.status,
    onFiltersChanged: () => {},
    loadRepos: () => fillRepos(view.filters.repo),
    stop: () => { state.request += 1; },
    /** Re-read the first `shown` rows (at least one page) with the current filters. */
    refresh: () => loadPage(state, view, { limit: Math.min(MAX_LIMIT, Math.max(PAGE_SIZE, state.shown)), append: false }),
    reset: async () => {
      state.shown = 0;
      state.next = null;
      view.rows.replaceChildren();
      state.rows.clear();
    },
  };
  view.filters = createFilters(() => list.onFiltersChanged());
  view.more.addEventListener("click", () => {
    loadPage(state, view, { limit: PAGE_SIZE, append: true })
      .catch((error) => showMessage(view.status, `Cannot load more runs: ${error.message}`, "error"));
  });
  const headings = ["Run", "Repo", "Graph", "State", "Interrupts", "Updated"];
  const table = h("table", { className: "items runs-table" },
    h("caption", { className: "visually-hidden" }, "Runs, newest first"),
    h("thead", {}, h("tr", {}, headings.map((t) => h("th", { scope: "col" }, t)))), view.rows);
  list.root = h("section", { className: "panel", "aria-label": "Runs" },
    view.filters.form, view.status, h("div", { className: "table-wrap" }, table), view.more);
  return list;
}

/**
 * Fetch runs: `append` adds the next page after the rows shown; otherwise the
 * first `limit` rows replace them (in place). A newer request wins.
 */
async function loadPage(state, view, { limit, append }) {
  if (append && !state.next) return;
  if (!append && state.shown > MAX_LIMIT) return; // past what one request can refresh: keep what is shown
  const request = ++state.request;
  view.more.disabled = true;
  try {
    const params = { ...view.filters.values(), limit, cursor: append ? state.next : null };
    const page = await listRuns(params);
    if (request !== state.request) return;
    const runs = page.items || [];
    if (append) {
      for (const run of runs) view.rows.append(rowFor(state, run));
    } else {
      syncRows(state, view.rows, runs);
    }
    state.shown = view.rows.children.length;
    state.next = page.next_cursor || null;
    view.more.hidden = !state.next;
    showMessage(view.status, state.shown
      ? `Showing ${formatCount(state.shown, "run")}, newest first.`
      : "No runs match these filters. Create one with “New plan”.", state.shown ? "info" : "empty");
  } finally {
    view.more.disabled = false;
  }
}

function rowFor(state, run) {
  let row = state.rows.get(run.run_id);
  if (!row) {
    row = createRow(run);
    state.rows.set(run.run_id, row);
  }
  updateRow(row, run);
  return row.root;
}

/** Make the table show exactly `runs`, in order, reusing the rows already there. */
function syncRows(state, tbody, runs) {
  const seen = new Set();
  let previous = null;
  for (const run of runs) {
    seen.add(run.run_id);
    const node = rowFor(state, run);
    const wanted = previous ? previous.nextSibling : tbody.firstChild;
    if (wanted !== node) tbody.insertBefore(node, wanted);
    previous = node;
  }
  for (const [runId, row] of state.rows) {
    if (!seen.has(runId)) {
      row.root.remove();
      state.rows.delete(runId);
    }
  }
}

function createRow(run) {
  const parts = {
    link: h("a", { className: "run-link", href: `#/runs/${run.run_id}` }),
    id: h("code", { className: "run-id" }, run.run_id),
    repo: h("td", { className: "run-repo" }),
    graph: h("td", {}, h("code", {})),
    badge: h("span", { className: "badge run-state" }),
    interrupts: h("td", { className: "num run-interrupts" }),
    updated: h("td", { className: "run-updated" }),
  };
  const root = h("tr", { dataset: { runId: run.run_id } },
    h("td", { className: "title" }, parts.link, h("br"), parts.id),
    parts.repo, parts.graph, h("td", {}, parts.badge), parts.interrupts, parts.updated);
  return { root, parts };
}

function updateRow(row, run) {
  const { parts } = row;
  setText(parts.link, shortGoal(run.goal) || run.run_id);
  setText(parts.repo, run.repo || "—");
  setText(parts.graph.firstChild, run.graph_id || "—");
  setAttr(parts.badge, "data-state", run.state);
  setAttr(row.root, "data-state", run.state);
  setText(parts.badge, stateLabel(run.state));
  const pending = run.pending_interrupts || 0;
  setText(parts.interrupts, pending ? `${pending} pending` : "—");
  setAttr(parts.interrupts, "data-pending", pending ? "true" : null);
  setText(parts.updated, formatRelative(run.updated_at));
  setAttr(parts.updated, "title", formatLocalTime(run.updated_at));
}

async function fillRepos(select) {
  const { items } = await listRepos().catch(() => ({ items: [] }));
  replaceChildren(select, select.firstChild,
    (items || []).map((repo) => h("option", { value: repo.repo_id }, repo.full_name)));
}
