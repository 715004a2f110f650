/**
 * The Repos page (landing): add repos by name or from an org, and the list
 * of tracked repos with live status. The list polls `GET /api/repos` with
 * `If-None-Match`; a 304 only refreshes the relative times.
 */
import { addRepo, listRepos, syncRepo } from "../api.js";
import { h, showMessage } from "../dom.js";
import { checkRepoName, formatCount } from "../format.js";
import { poll } from "../poll.js";
import { createOrgPicker } from "./org_picker.js";
import { createRepoCard, updateRepoCard } from "./repo_card.js";

const LIST_POLL_MS = 2000;

export function render(main) {
  const listView = createListView();
  const refresh = () => poller.refresh();
  main.append(
    h("h1", {}, "Repositories"),
    createAddForm(refresh),
    createOrgPicker(refresh),
    listView.root,
  );
  let etag = null;
  const poller = poll(
    async () => {
      const result = await listRepos(etag);
      etag = result.etag;
      listView.update(result.items, Date.now(), refresh);
      showMessage(listView.error, "");
    },
    LIST_POLL_MS,
    { onError: (error) => showMessage(listView.error, `Cannot refresh the list: ${error.message}`, "error") },
  );
  listView.onSyncAll = refresh;
  return () => poller.stop();
}

function createAddForm(onAdded) {
  const input = h("input", {
    id: "repo-name", name: "full_name", type: "text", autocomplete: "off", spellcheck: "false",
    placeholder: "octocat/hello-world", "aria-describedby": "repo-name-error",
  });
  const error = h("p", { id: "repo-name-error", className: "field-error", hidden: true });
  const status = h("p", { className: "form-status", role: "status", hidden: true });
  const form = h("form", { className: "add-repo-form", novalidate: true },
    h("label", { for: "repo-name" }, "Repository (owner/name or a github.com URL)"),
    h("div", { className: "field-row" }, input, h("button", { type: "submit" }, "Add repo")),
    error, status);
  input.addEventListener("input", () => showFieldError(input, error, liveHint(input.value)));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    submitRepo(input, error, status, onAdded);
  });
  return h("section", { className: "panel", "aria-labelledby": "add-title" },
    h("h2", { id: "add-title" }, "Add a repository"), form);
}

/** While typing, point out a malformed name (the server still has the last word). */
function liveHint(value) {
  if (!value.trim()) return "";
  const check = checkRepoName(value);
  return check.ok ? "" : check.message;
}

function showFieldError(input, error, message) {
  showMessage(error, message, "error");
  if (message) input.setAttribute("aria-invalid", "true");
  else input.removeAttribute("aria-invalid");
}

async function submitRepo(input, error, status, onAdded) {
  showMessage(status, "");
  if (!input.value.trim()) {
    showFieldError(input, error, checkRepoName("").message);
    input.focus();
    return;
  }
  try {
    const repo = await addRepo(input.value.trim());
    showFieldError(input, error, "");
    input.value = "";
    showMessage(status, `Added ${repo.full_name}. The first import starts shortly.`, "ok");
    onAdded();
  } catch (failure) {
    showFieldError(input, error, failure.message);
    const existing = failure.problem.repo_id;
    if (failure.status === 409 && existing) {
      error.append(" ", h("a", { href: `#/repo/${existing}` }, "Open it"));
    }
    input.focus();
  }
}

function createListView() {
  const list = h("ul", { className: "repo-list", "aria-label": "Tracked repositories" });
  const empty = h("p", { className: "empty-state", hidden: true }, "No repos yet — add owner/name above.");
  const error = h("p", { className: "list-error", role: "alert", hidden: true });
  const syncStatus = h("span", { className: "action-message", role: "status", hidden: true });
  const syncAll = h("button", { type: "button", className: "sync-all" }, "Sync all");
  const cards = new Map();
  let repos = [];
  const view = {
    error,
    onSyncAll: () => {},
    root: h("section", { className: "panel", "aria-labelledby": "list-title" },
      h("div", { className: "list-head" }, h("h2", { id: "list-title" }, "Tracked repositories"), syncAll, syncStatus),
      error, empty, list),
    update(items, now, onChange) {
      if (items) repos = items;
      renderCards(list, cards, repos, now, onChange);
      empty.hidden = repos.length > 0;
      syncAll.disabled = repos.length === 0;
    },
  };
  syncAll.addEventListener("click", () => requestSyncAll(repos, syncAll, syncStatus, () => view.onSyncAll()));
  return view;
}

/** Add, update, reorder and drop cards so the list matches `repos`, reusing existing nodes. */
function renderCards(list, cards, repos, now, onChange) {
  const seen = new Set();
  let previous = null;
  for (const repo of repos) {
    seen.add(repo.repo_id);
    let card = cards.get(repo.repo_id);
    if (!card) {
      card = createRepoCard(repo, onChange);
      cards.set(repo.repo_id, card);
    }
    updateRepoCard(card, repo, now);
    const wanted = previous ? previous.nextSibling : list.firstChild;
    if (wanted !== card.root) list.insertBefore(card.root, wanted);
    previous = card.root;
  }
  for (const [repoId, card] of cards) {
    if (!seen.has(repoId)) {
      card.root.remove();
      cards.delete(repoId);
    }
  }
}

async function requestSyncAll(repos, button, status, onDone) {
  button.disabled = true;
  const results = await Promise.allSettled(repos.map((repo) => syncRepo(repo.repo_id)));
  const failed = results.filter((r) => r.status === "rejected");
  if (failed.length) {
    showMessage(status, `Sync requested for ${formatCount(results.length - failed.length, "repo")}; ${failed.length} failed: ${failed[0].reason.message}`, "error");
  } else {
    showMessage(status, `Sync requested for ${formatCount(results.length, "repo")}.`, "ok");
  }
  button.disabled = false;
  onDone();
}
