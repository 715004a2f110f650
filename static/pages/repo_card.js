/**
 * One repo in the Repos list: built once, then updated in place by
 * `updateRepoCard` on every poll, touching only what changed (no flicker,
 * focus and open confirmations survive a refresh).
 */
import { removeRepo, setMirror, syncRepo } from "../api.js";
import { h, setAttr, setText, showMessage } from "../dom.js";
import {
  formatBytes, formatCount, formatLocalTime, formatNumber, formatRelative,
} from "../format.js";

export const STATUS_LABELS = {
  idle: "Idle",
  queued: "Queued",
  importing: "Importing",
  syncing: "Syncing",
  error: "Error",
  rate_limited: "Rate limited",
};

function fact(label, className) {
  return h("div", { className: "fact" }, h("dt", {}, label), h("dd", { className }));
}

/** "closed, updated since 2026-09-03": closed items are cached only inside the window. */
export function closedText(repo) {
  const since = repo.closed_window_start ? repo.closed_window_start.slice(0, 10) : null;
  return since ? `closed, updated since ${since}` : "closed";
}

function countsText(repo, open, closed) {
  const counts = repo.counts;
  if (!counts) return "—";
  return `${formatNumber(counts[open])} open · ${formatNumber(counts[closed])} ${closedText(repo)}`;
}

/** An import: items against the estimate (≈), pages and the ETA; a sync: pages and requests. */
export function progressText(repo) {
  const progress = repo.progress;
  if (!progress) return "Starting…";
  const pages = formatCount(progress.pages, "page");
  if (repo.status === "importing" && Number.isFinite(progress.estimate)) {
    const parts = [`${formatNumber(progress.items)} of ≈${formatCount(progress.estimate, "item")}`, pages];
    if (Number.isFinite(progress.eta_seconds)) parts.push(etaText(progress.eta_seconds));
    return parts.join(" · ");
  }
  const parts = repo.status === "importing" ? [formatCount(progress.items, "item"), pages] : [pages];
  if (Number.isFinite(progress.requests)) parts.push(formatCount(progress.requests, "request"));
  return `${parts.join(" · ")} so far`;
}

/** "less than a minute left", "about 4 minutes left", "about 2 hours left". */
export function etaText(seconds) {
  if (seconds < 60) return "less than a minute left";
  if (seconds < 3600) return `about ${formatCount(Math.round(seconds / 60), "minute")} left`;
  return `about ${formatCount(Math.round(seconds / 3600), "hour")} left`;
}

/** Show the progress box: a determinate bar (never past 100 %) when an import has an estimate. */
export function updateProgress(node, repo) {
  const running = repo.status === "importing" || repo.status === "syncing";
  node.hidden = !(running || repo.progress);
  const bar = node.querySelector("progress");
  const progress = repo.progress;
  if (repo.status === "importing" && progress && Number.isFinite(progress.estimate) && progress.estimate > 0) {
    setAttr(bar, "max", progress.estimate);
    setAttr(bar, "value", Math.min(progress.items, progress.estimate));
  } else {
    bar.removeAttribute("value"); // indeterminate: nothing to measure against
  }
  setText(node.querySelector(".progress-text"), progressText(repo));
}

function nextSyncText(repo, now) {
  if (repo.status === "rate_limited" && repo.rate_limit && repo.rate_limit.reset_at) {
    return `after the rate limit resets ${formatRelative(repo.rate_limit.reset_at, now)}`;
  }
  if (repo.status === "importing" || repo.status === "syncing") return "running now";
  if (repo.status === "queued") return "as soon as the worker is free";
  return formatRelative(repo.next_sync_at, now, "not scheduled");
}

function mirrorText(mirror, now) {
  if (!mirror || !mirror.enabled) return mirror && mirror.path ? "Off (kept on disk)" : "Off";
  if (mirror.last_error) return `Failing: ${mirror.last_error}`;
  if (!mirror.path) return "On · not cloned yet";
  return `On · ${formatBytes(mirror.size_bytes)} · fetched ${formatRelative(mirror.last_fetch_at, now)}`;
}

/** Build the card's elements and wire its buttons; `onChange` re-polls the list. */
export function createRepoCard(repo, onChange) {
  const parts = {
    name: h("a", { className: "repo-name", href: `#/repo/${repo.repo_id}` }),
    badge: h("span", { className: "badge status-badge" }),
    progress: h("div", { className: "repo-progress", hidden: true },
      h("progress", { "aria-label": `Import progress of ${repo.full_name}` }),
      h("span", { className: "progress-text" })),
    error: h("pre", { className: "repo-error", hidden: true }),
    message: h("span", { className: "action-message", role: "status", hidden: true }),
  };
  const actions = createActions(repo, parts.message, onChange);
  const root = h("li", { className: "repo-card", dataset: { repoId: repo.repo_id } },
    h("div", { className: "repo-head" }, parts.name, parts.badge),
    h("dl", { className: "repo-facts" },
      fact("Last sync", "last-sync"), fact("Next sync", "next-sync"),
      fact("Issues", "issues-counts"), fact("Pull requests", "prs-counts"),
      fact("Data", "data-size"), fact("Git mirror", "mirror-state")),
    parts.progress, parts.error, actions, parts.message);
  return { root, parts };
}

function createActions(repo, message, onChange) {
  const confirm = h("span", { className: "confirm-remove", hidden: true });
  const removeButton = h("button", { type: "button", className: "remove" }, "Remove");
  const syncButton = h("button", { type: "button", className: "sync-now" }, "Sync now");
  const mirrorButton = h("button", { type: "button", className: "mirror-toggle" });
  syncButton.addEventListener("click", () => requestSync(repo, syncButton, message, onChange));
  mirrorButton.addEventListener("click", () => toggleMirror(repo, mirrorButton, message, onChange));
  removeButton.addEventListener("click", () => askRemove(repo, confirm, removeButton, message, onChange));
  return h("div", { className: "repo-actions" }, syncButton, mirrorButton, removeButton, confirm);
}

async function toggleMirror(repo, button, message, onChange) {
  const enable = button.dataset.enabled !== "true";
  button.disabled = true;
  try {
    await setMirror(repo.repo_id, enable);
    showMessage(message, enable ? "Mirror turned on." : "Mirror turned off (kept on disk).", "ok");
    onChange();
  } catch (error) {
    showMessage(message, `Mirror change failed: ${error.message}`, "error");
  } finally {
    button.disabled = false;
  }
}

/** "Sync now": record the request, say so, and re-poll. */
export async function requestSync(repo, button, message, onChange) {
  button.disabled = true;
  try {
    await syncRepo(repo.repo_id);
    showMessage(message, "Sync requested.", "ok");
    onChange();
  } catch (error) {
    showMessage(message, `Sync request failed: ${error.message}`, "error");
  } finally {
    button.disabled = false;
  }
}

function askRemove(repo, confirm, removeButton, message, onChange) {
  const yes = h("button", { type: "button", className: "danger confirm" }, "Yes, remove");
  const no = h("button", { type: "button", className: "cancel" }, "Cancel");
  const close = () => {
    confirm.hidden = true;
    confirm.replaceChildren();
    removeButton.hidden = false;
    removeButton.focus();
  };
  no.addEventListener("click", close);
  yes.addEventListener("click", async () => {
    yes.disabled = true;
    try {
      await removeRepo(repo.repo_id);
      onChange();
    } catch (error) {
      close();
      showMessage(message, `Remove failed: ${error.message}`, "error");
    }
  });
  confirm.replaceChildren(
    `Remove ${repo.full_name} and its cached issues and PRs? Its audit history is kept. `, yes, no);
  removeButton.hidden = true;
  confirm.hidden = false;
  no.focus();
}

/** Bring the card up to date with the repo's latest status. */
export function updateRepoCard(card, repo, now) {
  const { root, parts } = card;
  setText(parts.name, repo.full_name);
  setAttr(root, "data-status", repo.status);
  setAttr(parts.badge, "data-status", repo.status);
  setText(parts.badge, STATUS_LABELS[repo.status] || repo.status);
  const lastSync = root.querySelector(".last-sync");
  setText(lastSync, formatRelative(repo.last_sync_at, now));
  setAttr(lastSync, "title", repo.last_sync_at ? formatLocalTime(repo.last_sync_at) : null);
  const nextSync = root.querySelector(".next-sync");
  setText(nextSync, nextSyncText(repo, now));
  setAttr(nextSync, "title", repo.next_sync_at ? formatLocalTime(repo.next_sync_at) : null);
  setText(root.querySelector(".issues-counts"), countsText(repo, "issues_open", "issues_closed"));
  setText(root.querySelector(".prs-counts"), countsText(repo, "prs_open", "prs_closed"));
  setText(root.querySelector(".data-size"), formatBytes(repo.data_bytes));
  const mirror = repo.mirror || null;
  setText(root.querySelector(".mirror-state"), mirrorText(mirror, now));
  const mirrorButton = root.querySelector(".mirror-toggle");
  setAttr(mirrorButton, "data-enabled", mirror && mirror.enabled ? "true" : "false");
  setText(mirrorButton, mirror && mirror.enabled ? "Stop mirror" : "Mirror code");
  updateProgress(parts.progress, repo);
  parts.error.hidden = !repo.last_error;
  setText(parts.error, repo.last_error ? `Last error: ${repo.last_error}` : "");
}
