/**
 * The Repo page: the repo's live status (polled like the Repos page, paused
 * while the tab is hidden), "Sync now", and the cached issues and PRs with
 * tabs, filters, sort and keyset "load more". Everything here reads the local
 * cache, so it works the same when GitHub is down. Searching is in the top
 * navigation; "Search this repo" opens it narrowed to this repo. The closed
 * window form says since when closed items are cached and sets the repo's own
 * window (widening backfills; narrowing deletes nothing).
 */
import { getRepoStatus, listItems, setClosedWindow } from "../api.js";
import { h, setAttr, setText, showMessage } from "../dom.js";
import { formatCount, formatLocalTime, formatNumber, formatRelative } from "../format.js";
import { poll } from "../poll.js";
import { STATUS_LABELS, closedText, requestSync, updateProgress } from "./repo_card.js";
import { searchHash } from "./search.js";

const PAGE_SIZE = 50;
const STATUS_POLL_MS = 2000;
const KIND_LABELS = { issues: "Issues", prs: "Pull requests" };

export function render(main, [repoIdText]) {
  const repoId = Number(repoIdText);
  const browser = createBrowser(repoId);
  const header = createHeader(repoId, () => poller.refresh());
  main.append(h("p", {}, h("a", { href: "#/repos" }, "← All repos")), header.root, browser.root);
  let lastCounts = null;
  const poller = poll(
    async () => {
      const repo = await getRepoStatus(repoId);
      header.update(repo, Date.now());
      browser.setCounts(repo);
      const counts = JSON.stringify(repo.counts);
      if (lastCounts !== null && counts !== lastCounts) browser.refreshFirstPage();
      lastCounts = counts;
    },
    STATUS_POLL_MS,
    { onError: (error) => showMessage(header.error, `Cannot refresh the status: ${error.message}`, "error") },
  );
  browser.load(false);
  return () => {
    poller.stop();
    browser.stop();
  };
}

/** The header, built once and updated in place on every poll (no flicker, focus kept). */
function createHeader(repoId, onChange) {
  const parts = {
    title: h("h1", {}, `Repo #${repoId}`),
    badge: h("span", { className: "badge status-badge" }),
    lastSync: h("span", { className: "last-sync" }),
    progress: h("div", { className: "repo-progress", hidden: true },
      h("progress", { "aria-label": "Import progress" }), h("span", { className: "progress-text" })),
    lastError: h("pre", { className: "repo-error", hidden: true }),
    message: h("span", { className: "action-message", role: "status", hidden: true }),
    error: h("p", { className: "list-error", role: "alert", hidden: true }),
  };
  const sync = h("button", { type: "button", className: "sync-now" }, "Sync now");
  sync.addEventListener("click", () => requestSync({ repo_id: repoId }, sync, parts.message, onChange));
  const searchLink = h("a", { href: searchHash("", repoId), className: "search-repo" }, "Search this repo");
  const closedWindow = createClosedWindow(repoId, onChange);
  const root = h("header", { className: "repo-header" }, parts.title,
    h("div", { className: "repo-summary" }, parts.badge, " Last sync ", parts.lastSync),
    parts.progress, parts.lastError, h("div", { className: "repo-actions" }, sync, searchLink, parts.message),
    closedWindow.root, parts.error);
  return {
    root,
    error: parts.error,
    update(repo, now) {
      setText(parts.title, repo.full_name);
      document.title = `${repo.full_name} — pmbot`;
      setAttr(parts.badge, "data-status", repo.status);
      setText(parts.badge, STATUS_LABELS[repo.status] || repo.status);
      setText(parts.lastSync, formatRelative(repo.last_sync_at, now));
      setAttr(parts.lastSync, "title", formatLocalTime(repo.last_sync_at));
      updateProgress(parts.progress, repo);
      closedWindow.update(repo);
      parts.lastError.hidden = !repo.last_error;
      setText(parts.lastError, repo.last_error ? `Last error: ${repo.last_error}` : "");
      showMessage(parts.error, "");
    },
  };
}

/** "Closed, updated since <date>" with the window's days, and a form to set the repo's own. */
function createClosedWindow(repoId, onChange) {
  const text = h("span", { className: "closed-window-text" });
  const days = h("input", { id: "closed-window-days", name: "days", type: "number", min: "0", max: "10000", step: "1", required: true });
  const save = h("button", { type: "submit" }, "Set window");
  const message = h("span", { className: "closed-window-message", role: "status", hidden: true });
  const root = h("form", { className: "closed-window" }, text, " ",
    h("label", { for: "closed-window-days" }, "Keep closed items updated in the last"), " ", days, " days ", save, " ", message);
  let edited = false;
  days.addEventListener("input", () => { edited = true; });
  root.addEventListener("submit", async (event) => {
    event.preventDefault();
    save.disabled = true;
    try {
      const repo = await setClosedWindow(repoId, Number(days.value));
      edited = false;
      const note = repo.closed_window_backfilling ? "; the older closed items are being fetched" : "";
      showMessage(message, `Window set to ${repo.closed_window_days} days${note}.`, "ok");
      onChange();
    } catch (error) {
      showMessage(message, `Window not changed: ${error.message}`, "error");
    } finally {
      save.disabled = false;
    }
  });
  return {
    root,
    update(repo) {
      const whose = repo.closed_window_default ? "the default" : "this repo's";
      const backfill = repo.closed_window_backfilling ? ", older ones being fetched" : "";
      setText(text, `Closed items: ${closedText(repo)} (${repo.closed_window_days} days, ${whose}${backfill}).`);
      setAttr(root, "data-backfilling", repo.closed_window_backfilling ? "true" : "false");
      if (!edited && document.activeElement !== days) days.value = String(repo.closed_window_days);
    },
  };
}

function select(id, label, options, value) {
  const node = h("select", { id, name: id }, options.map(([v, text]) => h("option", { value: v, selected: v === value }, text)));
  return [h("label", { for: id }, label), node];
}

function createFilters(onChange) {
  const [stateLabel, state] = select("filter-state", "State", [["open", "Open"], ["closed", "Closed"], ["all", "All"]], "open");
  const [sortLabel, sort] = select("filter-sort", "Sort by", [["updated", "Recently updated"], ["created", "Newest"], ["number", "Number"]], "updated");
  const label = h("input", { id: "filter-label", name: "label", type: "text", autocomplete: "off" });
  const text = h("input", { id: "filter-q", name: "q", type: "search", autocomplete: "off" });
  const gone = h("input", { id: "filter-gone", name: "include_gone", type: "checkbox" });
  const form = h("form", { className: "filters" },
    h("div", { className: "field" }, stateLabel, state),
    h("div", { className: "field" }, h("label", { for: "filter-label" }, "Label"), label),
    h("div", { className: "field" }, h("label", { for: "filter-q" }, "Text in title"), text),
    h("div", { className: "field" }, sortLabel, sort),
    h("div", { className: "field check" }, gone, h("label", { for: "filter-gone" }, "Include items no longer on GitHub")),
    h("button", { type: "submit" }, "Apply"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    onChange();
  });
  state.addEventListener("change", onChange);
  sort.addEventListener("change", onChange);
  gone.addEventListener("change", onChange);
  const values = () => ({ state: state.value, sort: sort.value, label: label.value.trim(), q: text.value.trim(), include_gone: gone.checked ? "1" : null });
  return { form, values };
}

function createTabs(onSelect) {
  const tabs = Object.entries(KIND_LABELS).map(([kind, text]) =>
    h("button", { type: "button", role: "tab", className: "tab", dataset: { kind }, "aria-selected": kind === "issues" ? "true" : "false" }, text));
  for (const tab of tabs) {
    tab.addEventListener("click", () => {
      for (const other of tabs) other.setAttribute("aria-selected", String(other === tab));
      onSelect(tab.dataset.kind);
    });
  }
  return { root: h("div", { role: "tablist", className: "tabs", "aria-label": "Item kind" }, tabs), tabs };
}

function createBrowser(repoId) {
  const state = { kind: "issues", next: null, request: 0 };
  const view = {
    rows: h("tbody"),
    status: h("p", { className: "list-status", role: "status" }),
    more: h("button", { type: "button", className: "load-more", hidden: true }, "Load more"),
  };
  const load = (append) => loadItems(repoId, state, view, append);
  view.filters = createFilters(() => load(false));
  const tabs = createTabs((kind) => {
    state.kind = kind;
    load(false);
  });
  const headings = ["#", "Title", "State", "Labels", "Author", "Comments", "Updated"];
  const table = h("table", { className: "items" },
    h("thead", {}, h("tr", {}, headings.map((t) => h("th", { scope: "col" }, t)))), view.rows);
  view.more.addEventListener("click", () => load(true));
  const root = h("section", { className: "panel", "aria-label": "Cached issues and pull requests" },
    tabs.root, view.filters.form, view.status, h("div", { className: "table-wrap" }, table), view.more);
  return {
    root,
    load,
    stop: () => { state.request += 1; },
    setCounts: (repo) => setTabCounts(tabs.tabs, repo),
    /** New data arrived: reload the list, unless the operator has loaded more pages. */
    refreshFirstPage: () => { if (view.rows.children.length <= PAGE_SIZE) load(false); },
  };
}

/** Fetch a page of items; a newer request (new filters, tab, page left) wins over older ones. */
async function loadItems(repoId, state, view, append) {
  const request = ++state.request;
  const params = { ...view.filters.values(), limit: PAGE_SIZE, cursor: append ? state.next : null };
  view.more.disabled = true;
  try {
    const page = await listItems(repoId, state.kind, params);
    if (request !== state.request) return;
    if (!append) view.rows.replaceChildren();
    view.rows.append(...page.items.map((item) => itemRow(item, state.kind)));
    state.next = page.next || null;
    view.more.hidden = !state.next;
    showListStatus(view.status, view.rows.children.length, state.kind);
  } catch (error) {
    if (request === state.request) showMessage(view.status, `Cannot load the cache: ${error.message}`, "error");
  } finally {
    view.more.disabled = false;
  }
}

function setTabCounts(tabs, repo) {
  const counts = repo.counts;
  if (!counts) return;
  for (const tab of tabs) {
    const prefix = tab.dataset.kind;
    const open = counts[`${prefix}_open`];
    const closed = counts[`${prefix}_closed`];
    setText(tab, `${KIND_LABELS[prefix]} (${formatNumber(open)} open, ${formatNumber(closed)} ${closedText(repo)})`);
  }
}

function showListStatus(node, count, kind) {
  const noun = kind === "issues" ? "issue" : "pull request";
  const text = count
    ? `Showing ${formatCount(count, `cached ${noun}`)}.`
    : `No cached ${noun}s match these filters. Try state "All", clear the filters, or wait for the import.`;
  showMessage(node, text, count ? "info" : "empty");
}

/** Why an item left GitHub's listings, in the API's words (`gone_reason`), and where it went. */
function goneNote(item) {
  if (!item.gone) return null;
  const where = item.moved_to ? ` (now ${item.moved_to})` : "";
  return h("span", { className: "gone-note", dataset: { gone: item.gone } }, `${item.gone_reason}${where}`);
}

function itemRow(item, kind) {
  const flags = kind === "prs" ? [item.draft && h("span", { className: "tag" }, "draft"), item.merged_at && h("span", { className: "tag", dataset: { state: "merged" } }, "merged")] : [];
  return h("tr", { dataset: { number: item.number } },
    h("td", { className: "num" }, `#${item.number}`),
    h("td", { className: "title" }, h("a", { href: item.html_url, target: "_blank", rel: "noopener noreferrer" }, item.title), " ", ...flags, goneNote(item)),
    h("td", {}, h("span", { className: "badge", dataset: { state: item.state } }, item.state)),
    h("td", { className: "labels" }, (item.labels || []).map((name) => h("span", { className: "label-chip" }, name))),
    h("td", {}, item.user || "—"),
    h("td", { className: "num" }, formatNumber(item.comments)),
    h("td", { title: formatLocalTime(item.updated_at) }, formatRelative(item.updated_at)));
}
