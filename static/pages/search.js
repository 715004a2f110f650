/**
 * The workspace search box: full-text search over every cached title and
 * body. Snippets arrive as `{text, hit}` segments; hits become <mark>
 * elements and all text goes in through text nodes — never as HTML.
 */
import { search } from "../api.js";
import { h, showMessage } from "../dom.js";
import { formatCount, formatLocalTime, formatRelative } from "../format.js";

/** Build the snippet's nodes from its segments. */
export function snippetNodes(segments) {
  return (segments || []).map((segment) =>
    segment.hit ? h("mark", {}, segment.text) : document.createTextNode(segment.text));
}

export function createSearch(repoId) {
  const input = h("input", { id: "search-q", name: "q", type: "search", autocomplete: "off" });
  const onlyRepo = h("input", { id: "search-this-repo", type: "checkbox" });
  const results = h("ol", { className: "search-results" });
  const status = h("p", { className: "list-status", role: "status", hidden: true });
  const form = h("form", { role: "search", className: "search-form" },
    h("label", { for: "search-q" }, "Search all cached issues and PRs"),
    h("div", { className: "field-row" }, input, h("button", { type: "submit" }, "Search")),
    h("label", { className: "inline" }, onlyRepo, " Only this repo"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const q = input.value.trim();
    if (!q) {
      showMessage(status, "Type words to search for.", "error");
      return;
    }
    await runSearch({ q, repo_id: onlyRepo.checked ? repoId : null, limit: 20 }, results, status);
  });
  return h("section", { className: "panel", "aria-labelledby": "search-title" },
    h("h2", { id: "search-title" }, "Search the workspace"), form, status, results);
}

async function runSearch(params, results, status) {
  try {
    const page = await search(params);
    results.replaceChildren(...page.items.map(resultItem));
    showMessage(status, page.items.length ? `${formatCount(page.items.length, "result")}.` : "No cached issue or PR matches.", "info");
  } catch (error) {
    results.replaceChildren();
    showMessage(status, `Search failed: ${error.message}`, "error");
  }
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
