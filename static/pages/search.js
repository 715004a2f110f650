/**
 * The Search page (`#/search?q=…&repo_id=…`), reached from the search box in the
 * top navigation, so it works before any repo is opened: full-text search over
 * every cached title and body, with the total ("more than N" past the server's
 * count cap) and pages of results. Snippets arrive as `{text, hit}` segments;
 * hits become <mark> elements and all text goes in through text nodes — never
 * as HTML.
 */
import { listRepos, search } from "../api.js";
import { h, showMessage } from "../dom.js";
import { formatCount, formatLocalTime, formatNumber, formatRelative } from "../format.js";

const PAGE_SIZE = 20;

/** Build the snippet's nodes from its segments. */
export function snippetNodes(segments) {
  return (segments || []).map((segment) =>
    segment.hit ? h("mark", {}, segment.text) : document.createTextNode(segment.text));
}

/** The hash of a search: what the top navigation's box and the repo page link to. */
export function searchHash(q, repoId = null) {
  const params = new URLSearchParams({ q });
  if (repoId) params.set("repo_id", String(repoId));
  return `#/search?${params}`;
}

/** "457 results", "More than 1,000 results", "No cached issue or PR matches." */
export function totalText(page) {
  if (!page.total) return "No cached issue or PR matches.";
  if (page.total_capped) return `More than ${formatCount(page.total, "result")}.`;
  return `${formatCount(page.total, "result")}.`;
}

export function render(main, [queryText]) {
  const params = new URLSearchParams(queryText || "");
  const view = createView(params.get("q") || "", params.get("repo_id") || "");
  main.append(h("h1", {}, "Search"), view.root);
  document.title = "Search — pmbot";
  fillRepos(view.repo, params.get("repo_id") || "");
  if (view.input.value.trim()) view.run();
  return () => { view.state.request += 1; };
}

function createView(q, repoId) {
  const input = h("input", { id: "search-q", name: "q", type: "search", autocomplete: "off", value: q });
  const repo = h("select", { id: "search-repo", name: "repo_id" }, h("option", { value: "" }, "All repos"));
  const results = h("ol", { className: "search-results" });
  const status = h("p", { className: "list-status search-total", role: "status", hidden: true });
  const range = h("p", { className: "muted search-range", hidden: true });
  const previous = h("button", { type: "button", className: "search-previous", hidden: true }, "Previous page");
  const next = h("button", { type: "button", className: "search-next", hidden: true }, "Next page");
  const form = h("form", { role: "search", className: "search-form" },
    h("div", { className: "field" }, h("label", { for: "search-q" }, "Search all cached issues and PRs"),
      h("div", { className: "field-row" }, input, h("button", { type: "submit" }, "Search"))),
    h("div", { className: "field" }, h("label", { for: "search-repo" }, "In"), repo));
  const state = { cursors: [null], index: 0, request: 0, repoId };
  const view = { root: null, input, repo, state, run: () => runPage(view) };
  Object.assign(view, { results, status, range, previous, next });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const words = input.value.trim();
    if (!words) {
      showMessage(status, "Type words to search for.", "error");
      return;
    }
    const hash = searchHash(words, repo.value || null);
    if (location.hash !== hash) location.hash = hash; // the router renders the page anew
    else view.run();
  });
  previous.addEventListener("click", () => { state.index -= 1; runPage(view); });
  next.addEventListener("click", () => { state.index += 1; runPage(view); });
  view.root = h("section", { className: "panel", "aria-label": "Search" },
    form, status, range, results, h("div", { className: "pager" }, previous, next));
  return view;
}

async function fillRepos(select, chosen) {
  const { items } = await listRepos().catch(() => ({ items: [] }));
  select.append(...items.map((repo) =>
    h("option", { value: String(repo.repo_id), selected: String(repo.repo_id) === chosen }, repo.full_name)));
}

async function runPage(view) {
  const { state } = view;
  const request = ++state.request;
  const params = { q: view.input.value.trim(), repo_id: state.repoId || null, limit: PAGE_SIZE, cursor: state.cursors[state.index] };
  try {
    const page = await search(params);
    if (request !== state.request) return;
    state.cursors[state.index + 1] = page.next || null;
    view.results.replaceChildren(...page.items.map(resultItem));
    view.results.start = state.index * PAGE_SIZE + 1;
    showMessage(view.status, totalText(page), "info");
    showRange(view.range, state.index * PAGE_SIZE, page.items.length);
    view.previous.hidden = state.index === 0;
    view.next.hidden = !page.next;
  } catch (error) {
    if (request !== state.request) return;
    view.results.replaceChildren();
    showMessage(view.status, `Search failed: ${error.message}`, "error");
  }
}

function showRange(node, before, count) {
  node.hidden = count === 0;
  node.textContent = count ? `Showing ${formatNumber(before + 1)}–${formatNumber(before + count)}.` : "";
}

function resultItem(result) {
  return h("li", { className: "search-result" },
    h("div", { className: "result-head" },
      h("span", { className: "muted" }, `${result.full_name} ${result.kind === "pr" ? "PR" : "issue"} #${result.number}`), " ",
      h("a", { href: result.html_url, target: "_blank", rel: "noopener noreferrer" }, result.title), " ",
      h("span", { className: "badge", dataset: { state: result.state } }, result.state), " ",
      h("span", { className: "muted", title: formatLocalTime(result.updated_at) }, formatRelative(result.updated_at))),
    h("p", { className: "snippet" }, snippetNodes(result.snippet)));
}
