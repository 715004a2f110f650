/**
 * "Add from org": list the repos the token can see (`/api/github/repos`),
 * mark the ones already tracked, and add the checked ones. This is the one
 * page action that makes the server call GitHub directly.
 */
import { addRepo, listGithubRepos } from "../api.js";
import { h, showMessage } from "../dom.js";
import { formatCount } from "../format.js";

export function createOrgPicker(onAdded) {
  const input = h("input", { id: "org-name", name: "org", type: "text", autocomplete: "off", spellcheck: "false", placeholder: "my-org" });
  const status = h("p", { className: "form-status", role: "status", hidden: true });
  const results = h("ul", { className: "org-results", "aria-label": "Repos visible to the token" });
  const addButton = h("button", { type: "button", className: "add-selected", hidden: true }, "Add selected");
  const moreButton = h("button", { type: "button", className: "load-more", hidden: true }, "Load more");
  const state = { org: "", next: null };
  const load = (append) => loadRepos(state, { results, status, addButton, moreButton }, append);
  const form = h("form", { className: "org-form" },
    h("label", { for: "org-name" }, "Organisation or user (leave empty for the token's own repos)"),
    h("div", { className: "field-row" }, input, h("button", { type: "submit" }, "List repos")));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    state.org = input.value.trim();
    state.next = null;
    load(false);
  });
  moreButton.addEventListener("click", () => load(true));
  addButton.addEventListener("click", () => addChecked(results, status, addButton, onAdded));
  return h("details", { className: "panel org-picker" },
    h("summary", {}, "Add from org"), form, status, results, h("div", { className: "row-actions" }, addButton, moreButton));
}

async function loadRepos(state, view, append) {
  showMessage(view.status, "Asking GitHub…", "info");
  try {
    const page = await listGithubRepos(state.org, state.next ? { cursor: state.next } : {});
    if (!append) view.results.replaceChildren();
    view.results.append(...page.items.map(orgRepoRow));
    state.next = page.next || null;
    view.moreButton.hidden = !state.next;
    view.addButton.hidden = view.results.children.length === 0;
    const shown = view.results.children.length;
    showMessage(view.status, shown ? `${formatCount(shown, "repo")} shown.` : "The token sees no repos here.", "info");
  } catch (error) {
    showMessage(view.status, `GitHub said: ${error.message}`, "error");
  }
}

function orgRepoRow(repo) {
  const box = h("input", { type: "checkbox", value: repo.full_name, checked: repo.tracked, disabled: repo.tracked });
  const tags = [
    repo.tracked && h("span", { className: "badge", dataset: { status: "tracked" } }, "tracked"),
    repo.private && h("span", { className: "tag" }, "private"),
    repo.archived && h("span", { className: "tag" }, "archived"),
  ];
  return h("li", { className: "org-repo", dataset: { fullName: repo.full_name } },
    h("label", {}, box, " ", repo.full_name), " ", ...tags,
    h("span", { className: "muted" }, ` ${openCount(repo.open_issues_count)}`));
}

/** GitHub's `open_issues_count` counts open pull requests too, so the text says so. */
function openCount(count) {
  return formatCount(count, "open issue or PR", "open issues and PRs");
}

async function addChecked(results, status, button, onAdded) {
  const boxes = [...results.querySelectorAll("input[type=checkbox]:checked:not(:disabled)")];
  if (!boxes.length) {
    showMessage(status, "Check the repos to add first.", "error");
    return;
  }
  button.disabled = true;
  const failures = [];
  for (const box of boxes) {
    try {
      await addRepo(box.value);
      box.disabled = true;
    } catch (error) {
      failures.push(`${box.value}: ${error.message}`);
    }
  }
  button.disabled = false;
  const added = boxes.length - failures.length;
  showMessage(status, [`Added ${formatCount(added, "repo")}.`, ...failures].join(" "), failures.length ? "error" : "ok");
  onAdded();
}
