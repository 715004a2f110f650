/**
 * The Work page (`#/work?state=open&kind=pr&label=bug…`): every cached issue and
 * PR of every tracked repo, filtered, sorted and keyset-paged by `GET /api/items`,
 * with the counts per repo of the filter beside the list. The filter lives in
 * the URL (bookmark it, share it on this machine); the last one applied is kept
 * in localStorage and reopened by a bare `#/work`. Saved views name a filter
 * (stored on the server, through the audit log). All GitHub text goes in through
 * text nodes only.
 */
import { deleteWorkView, listRepos, listWorkItems, listWorkViews, saveWorkView } from "../api.js";
import { h, showMessage } from "../dom.js";
import { formatCount, formatLocalTime, formatNumber, formatRelative } from "../format.js";

const PAGE_SIZE = 50;
const LAST_FILTER_KEY = "pmbot.work.lastFilter";
// The filter's parameters, as GET /api/items names them; repo_id and label repeat.
const PARAMS = ["repo_id", "kind", "state", "label", "author", "assignee", "no_assignee", "draft",
  "updated_since", "q", "include_gone", "sort", "direction"];

/** The hash of a filter (URLSearchParams or a saved view's `{name: value | [values]}`). */
export function workHash(filter) {
  const params = new URLSearchParams();
  const entries = filter instanceof URLSearchParams ? [...filter.entries()] : Object.entries(filter);
  for (const [name, value] of entries) {
    for (const one of Array.isArray(value) ? value : [value]) {
      if (PARAMS.includes(name) && one !== "" && one !== null && one !== undefined) params.append(name, String(one));
    }
  }
  const text = params.toString();
  return text ? `#/work?${text}` : "#/work";
}

export function render(main, [queryText]) {
  if (queryText === undefined) {
    const last = localStorage.getItem(LAST_FILTER_KEY);
    if (last) {
      location.replace(workHash(new URLSearchParams(last)));
      return () => {};
    }
  }
  const params = new URLSearchParams(queryText || "");
  localStorage.setItem(LAST_FILTER_KEY, params.toString());
  const page = createPage(params);
  main.append(h("h1", {}, "Work"), page.root);
  document.title = "Work — pmbot";
  fillRepos(page.form.repos, params.getAll("repo_id"));
  page.views.load();
  page.load(false);
  return () => { page.state.request += 1; };
}

function field(id, label, control, className = "field") {
  return h("div", { className }, h("label", { for: id }, label), control);
}

function select(id, options, value) {
  return h("select", { id, name: id },
    options.map(([v, text]) => h("option", { value: v, selected: v === (value || "") }, text)));
}

function input(id, type, value) {
  return h("input", { id, name: id, type, autocomplete: "off", value: value || "" });
}

function checkbox(id, checked) {
  return h("input", { id, name: id, type: "checkbox", checked });
}

/** The filter form, filled from the URL; submitting it moves the URL (the router renders anew). */
function createForm(params) {
  const c = {
    repos: h("select", { id: "work-repos", name: "repo_id", multiple: true, size: 4 }),
    kind: select("work-kind", [["", "Issues and PRs"], ["issue", "Issues"], ["pr", "Pull requests"]], params.get("kind")),
    state: select("work-state", [["", "Open"], ["closed", "Closed"], ["all", "All"]], params.get("state")),
    labels: input("work-labels", "text", params.getAll("label").join(", ")),
    author: input("work-author", "text", params.get("author")),
    assignee: input("work-assignee", "text", params.get("assignee")),
    noAssignee: checkbox("work-no-assignee", params.get("no_assignee") === "1"),
    draft: select("work-draft", [["", "Any"], ["1", "Drafts"], ["0", "Ready"]], params.get("draft")),
    since: input("work-since", "date", (params.get("updated_since") || "").slice(0, 10)),
    text: input("work-q", "search", params.get("q")),
    gone: checkbox("work-gone", params.get("include_gone") === "1"),
    sort: select("work-sort", [["", "Updated"], ["created", "Created"], ["comments", "Comments"]], params.get("sort")),
    direction: select("work-direction", [["", "Newest / most first"], ["asc", "Oldest / fewest first"]], params.get("direction")),
  };
  const form = h("form", { className: "filters work-filters", "aria-label": "Filter the work view" },
    field("work-repos", "Repos", c.repos), field("work-kind", "Kind", c.kind), field("work-state", "State", c.state),
    field("work-labels", "Labels (all of, comma-separated)", c.labels), field("work-author", "Author", c.author),
    field("work-assignee", "Assignee", c.assignee),
    h("div", { className: "field check" }, c.noAssignee, h("label", { for: "work-no-assignee" }, "No assignee")),
    field("work-draft", "Draft PRs", c.draft), field("work-since", "Updated since", c.since),
    field("work-q", "Text", c.text), field("work-sort", "Sort by", c.sort), field("work-direction", "Order", c.direction),
    h("div", { className: "field check" }, c.gone, h("label", { for: "work-gone" }, "Include items no longer on GitHub")),
    h("button", { type: "submit" }, "Apply"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    location.hash = workHash(formFilter(c));
  });
  return { root: form, repos: c.repos, filter: () => formFilter(c) };
}

function formFilter(c) {
  const labels = c.labels.value.split(",").map((l) => l.trim()).filter(Boolean);
  return {
    repo_id: [...c.repos.selectedOptions].map((o) => o.value), kind: c.kind.value, state: c.state.value,
    label: labels, author: c.author.value.trim(), assignee: c.assignee.value.trim(),
    no_assignee: c.noAssignee.checked ? "1" : "", draft: c.draft.value, updated_since: c.since.value,
    q: c.text.value.trim(), include_gone: c.gone.checked ? "1" : "", sort: c.sort.value, direction: c.direction.value,
  };
}

function createPage(params) {
  const state = { next: null, request: 0 };
  const view = {
    rows: h("tbody"),
    counts: h("ul", { className: "work-counts" }),
    total: h("p", { className: "muted work-total" }),
    status: h("p", { className: "list-status", role: "status" }),
    more: h("button", { type: "button", className: "load-more", hidden: true }, "Load more"),
  };
  const form = createForm(params);
  const views = createViews(form);
  const headings = ["Repo", "#", "Title", "State", "Labels", "Author", "Assignees", "Updated"];
  const table = h("table", { className: "items work-items" },
    h("caption", { className: "visually-hidden" }, "Cached issues and pull requests of every repo"),
    h("thead", {}, h("tr", {}, headings.map((t) => h("th", { scope: "col" }, t)))), view.rows);
  const load = (append) => loadItems(params, state, view, append);
  view.more.addEventListener("click", () => load(true));
  const root = h("div", { className: "work-page" },
    h("section", { className: "panel", "aria-label": "Filters" }, form.root, views.root),
    h("div", { className: "work-body" },
      h("section", { className: "panel work-list", "aria-label": "Items" }, view.status,
        h("div", { className: "table-wrap" }, table), view.more),
      h("aside", { className: "panel work-side", "aria-label": "Counts per repo" },
        h("h2", {}, "Per repo"), view.total, view.counts)));
  return { root, form, views, state, load };
}

/** Fetch a page; a newer request (a new filter, the page left) wins over older ones. */
async function loadItems(params, state, view, append) {
  const request = ++state.request;
  const query = new URLSearchParams(params);
  query.set("limit", String(PAGE_SIZE));
  if (append && state.next) query.set("cursor", state.next);
  view.more.disabled = true;
  try {
    const page = await listWorkItems(query);
    if (request !== state.request) return;
    if (!append) {
      view.rows.replaceChildren();
      showCounts(view, params, page);
    }
    view.rows.append(...page.items.map(itemRow));
    state.next = page.next || null;
    view.more.hidden = !state.next;
    const shown = view.rows.children.length;
    showMessage(view.status, shown ? `Showing ${formatCount(shown, "item")} of ${formatNumber(page.total)}.`
      : "No cached issue or PR matches this filter.", shown ? "info" : "empty");
  } catch (error) {
    if (request === state.request) showMessage(view.status, `Cannot load the work view: ${error.message}`, "error");
  } finally {
    view.more.disabled = false;
  }
}

function showCounts(view, params, page) {
  view.total.textContent = `${formatCount(page.total, "item")} in ${formatCount(page.counts.length, "repo")}`;
  view.counts.replaceChildren(...page.counts.map((c) => {
    const only = new URLSearchParams(params);
    only.delete("repo_id");
    only.append("repo_id", String(c.repo_id));
    return h("li", { dataset: { repoId: c.repo_id } },
      h("a", { href: workHash(only) }, c.full_name), " ", h("span", { className: "count" }, formatNumber(c.count)));
  }));
}

function itemRow(item) {
  const kindPath = item.kind === "pr" ? "prs" : "issues";
  const flags = [item.draft && h("span", { className: "tag" }, "draft"),
    item.gone && h("span", { className: "gone-note", dataset: { gone: item.gone } }, item.gone_reason)];
  return h("tr", { dataset: { repoId: item.repo_id, kind: item.kind, number: item.number } },
    h("td", {}, h("a", { href: `#/repo/${item.repo_id}` }, item.full_name)),
    h("td", { className: "num" }, h("a", {
      href: `#/repo/${item.repo_id}/${kindPath}/${item.number}`, className: "cached-link",
      title: "pmbot's view of this item, from the cache",
    }, `${item.kind === "pr" ? "PR " : ""}#${item.number}`)),
    h("td", { className: "title" }, h("a", { href: item.html_url, target: "_blank", rel: "noopener noreferrer" }, item.title), " ", ...flags),
    h("td", {}, h("span", { className: "badge", dataset: { state: item.state } }, item.state)),
    h("td", { className: "labels" }, item.labels.map((name) => h("span", { className: "label-chip" }, name))),
    h("td", {}, item.user || "—"),
    h("td", { className: "assignees" }, item.assignees.length ? item.assignees.join(", ") : "—"),
    h("td", { title: formatLocalTime(item.updated_at) }, formatRelative(item.updated_at)));
}

async function fillRepos(selectNode, chosen) {
  const { items } = await listRepos().catch(() => ({ items: [] }));
  selectNode.append(...items.map((repo) =>
    h("option", { value: String(repo.repo_id), selected: chosen.includes(String(repo.repo_id)) }, repo.full_name)));
}

/** Saved views: open one (its URL), delete one, or save the current filter under a name. */
function createViews(form) {
  const list = h("ul", { className: "saved-views" });
  const name = h("input", { id: "work-view-name", name: "name", type: "text", maxlength: 100, autocomplete: "off" });
  const message = h("p", { className: "action-message", role: "status", hidden: true });
  const save = h("form", { className: "save-view" },
    field("work-view-name", "Save this filter as", name), h("button", { type: "submit" }, "Save view"));
  const views = {
    root: h("div", { className: "work-views" }, h("h2", {}, "Saved views"), list, save, message),
    async load() {
      try {
        const { items } = await listWorkViews();
        list.replaceChildren(...items.map((v) => viewItem(v, views, message)));
        if (!items.length) list.append(h("li", { className: "muted" }, "None yet."));
      } catch (error) {
        showMessage(message, `Cannot load the saved views: ${error.message}`, "error");
      }
    },
  };
  save.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const view = await saveWorkView(name.value, savedFilter(form.filter()));
      name.value = "";
      showMessage(message, `Saved “${view.name}”.`, "ok");
      await views.load();
    } catch (error) {
      showMessage(message, `Cannot save the view: ${error.message}`, "error");
    }
  });
  return views;
}

/** The form's filter as a saved view's body: text values, lists for repo_id and label. */
function savedFilter(filter) {
  return Object.fromEntries(Object.entries(filter).filter(([, v]) => (Array.isArray(v) ? v.length : v)));
}

function viewItem(view, views, message) {
  const remove = h("button", { type: "button", className: "link-button delete-view" }, "Delete");
  remove.addEventListener("click", async () => {
    try {
      await deleteWorkView(view.view_id);
      showMessage(message, `Deleted “${view.name}”.`, "ok");
      await views.load();
    } catch (error) {
      showMessage(message, `Cannot delete the view: ${error.message}`, "error");
    }
  });
  return h("li", { dataset: { viewId: view.view_id } }, h("a", { href: workHash(view.filter) }, view.name), " ", remove);
}
