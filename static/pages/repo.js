/**
 * The Repo page: the cached issues and PRs of one repo, with tabs, filters,
 * sort and keyset "load more"; plus the workspace search box. Everything
 * here reads the local cache, so it works the same when GitHub is down.
 */
import { getRepoStatus, listItems } from "../api.js";
import { h, replaceChildren, setText, showMessage } from "../dom.js";
import { formatCount, formatLocalTime, formatNumber, formatRelative } from "../format.js";
import { STATUS_LABELS } from "./repo_card.js";
import { createSearch } from "./search.js";

const PAGE_SIZE = 50;
const KIND_LABELS = { issues: "Issues", prs: "Pull requests" };

export function render(main, [repoIdText]) {
  const repoId = Number(repoIdText);
  const header = h("header", { className: "repo-header" }, h("h1", {}, `Repo #${repoId}`));
  const browser = createBrowser(repoId);
  main.append(
    h("p", {}, h("a", { href: "#/repos" }, "← All repos")),
    header,
    createSearch(repoId),
    browser.root,
  );
  loadHeader(header, browser, repoId);
  browser.load(false);
  return () => browser.stop();
}

async function loadHeader(header, browser, repoId) {
  try {
    const repo = await getRepoStatus(repoId);
    replaceChildren(header, h("h1", {}, repo.full_name), repoSummary(repo));
    browser.setCounts(repo.counts);
    document.title = `${repo.full_name} — pmbot`;
  } catch (error) {
    replaceChildren(header, h("h1", {}, `Repo #${repoId}`), h("p", { className: "list-error", role: "alert" }, error.message));
  }
}

function repoSummary(repo) {
  return h("div", { className: "repo-summary" },
    h("span", { className: "badge status-badge", dataset: { status: repo.status } }, STATUS_LABELS[repo.status] || repo.status),
    " Last sync ",
    h("span", { title: formatLocalTime(repo.last_sync_at) }, formatRelative(repo.last_sync_at)),
    repo.last_error ? h("pre", { className: "repo-error" }, `Last error: ${repo.last_error}`) : null);
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
  const form = h("form", { className: "filters" },
    h("div", { className: "field" }, stateLabel, state),
    h("div", { className: "field" }, h("label", { for: "filter-label" }, "Label"), label),
    h("div", { className: "field" }, h("label", { for: "filter-q" }, "Text in title"), text),
    h("div", { className: "field" }, sortLabel, sort),
    h("button", { type: "submit" }, "Apply"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    onChange();
  });
  state.addEventListener("change", onChange);
  sort.addEventListener("change", onChange);
  const values = () => ({ state: state.value, sort: sort.value, label: label.value.trim(), q: text.value.trim() });
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
    setCounts: (counts) => setTabCounts(tabs.tabs, counts),
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

function setTabCounts(tabs, counts) {
  if (!counts) return;
  for (const tab of tabs) {
    const prefix = tab.dataset.kind;
    const open = counts[`${prefix}_open`];
    const closed = counts[`${prefix}_closed`];
    setText(tab, `${KIND_LABELS[prefix]} (${formatNumber(open)} open, ${formatNumber(closed)} closed)`);
  }
}

function showListStatus(node, count, kind) {
  const noun = kind === "issues" ? "issue" : "pull request";
  const text = count
    ? `Showing ${formatCount(count, `cached ${noun}`)}.`
    : `No cached ${noun}s match these filters. Try state "All", clear the filters, or wait for the import.`;
  showMessage(node, text, count ? "info" : "empty");
}

function itemRow(item, kind) {
  const flags = kind === "prs" ? [item.draft && h("span", { className: "tag" }, "draft"), item.merged_at && h("span", { className: "tag", dataset: { state: "merged" } }, "merged")] : [];
  return h("tr", { dataset: { number: item.number } },
    h("td", { className: "num" }, `#${item.number}`),
    h("td", { className: "title" }, h("a", { href: item.html_url, target: "_blank", rel: "noopener noreferrer" }, item.title), " ", ...flags),
    h("td", {}, h("span", { className: "badge", dataset: { state: item.state } }, item.state)),
    h("td", { className: "labels" }, (item.labels || []).map((name) => h("span", { className: "label-chip" }, name))),
    h("td", {}, item.user || "—"),
    h("td", { className: "num" }, formatNumber(item.comments)),
    h("td", { title: formatLocalTime(item.updated_at) }, formatRelative(item.updated_at)));
}
