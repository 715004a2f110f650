/**
 * The setup banner shown on every page: token present or missing, whether
 * GitHub answered the last request, the rate limit left, and the data dir.
 * It never shows the token (the API only says whether there is one).
 */
import { getSetup } from "./api.js";
import { h, replaceChildren } from "./dom.js";
import { formatBytes, formatLocalTime, formatNumber, formatRelative } from "./format.js";
import { poll } from "./poll.js";

const BANNER_POLL_MS = 5000;
let bannerPoll = null;

/** The GitHub facts, whether the API nests them under `github` or not. */
export function githubFacts(setup) {
  const github = setup.github && typeof setup.github === "object" ? setup.github : setup;
  return {
    reachable: github.reachable ?? null,
    lastRequestAt: github.last_request_at ?? null,
    lastError: github.last_error ?? null,
    rateLimit: github.rate_limit || setup.rate_limit || null,
  };
}

export function tokenPresent(setup) {
  if (typeof setup.token_present === "boolean") return setup.token_present;
  return Boolean(setup.token && setup.token.present);
}

export function dbSize(setup) {
  return setup.db_size_bytes ?? setup.db_size ?? null;
}

function item(kind, label, ...content) {
  return h("p", { className: "banner-item", dataset: { kind } }, h("strong", {}, label), " ", ...content);
}

function tokenItem(setup) {
  return tokenPresent(setup)
    ? item("ok", "Token:", "GitHub token is set.")
    : item("warn", "Token:", "No GitHub token. Set ", h("code", {}, "GITHUB_TOKEN"), " in ", h("code", {}, ".env"), " and restart pmbot.");
}

function githubItem(facts) {
  if (facts.reachable === true) {
    const when = formatRelative(facts.lastRequestAt, Date.now(), "just now");
    return item("ok", "GitHub:", h("span", { title: formatLocalTime(facts.lastRequestAt) }, `reachable (last request ${when}).`));
  }
  if (facts.reachable === false) {
    return item("error", "GitHub:", `unreachable — ${facts.lastError || "unknown error"}. Showing the cache read-only.`);
  }
  return item("info", "GitHub:", "not contacted yet.");
}

function rateItem(rateLimit) {
  if (!rateLimit || rateLimit.remaining === null || rateLimit.remaining === undefined) {
    return item("info", "Rate limit:", "not known yet.");
  }
  const limit = Number.isFinite(rateLimit.limit) ? ` of ${formatNumber(rateLimit.limit)}` : "";
  const kind = rateLimit.remaining === 0 ? "warn" : "info";
  const reset = rateLimit.reset_at
    ? h("span", { title: formatLocalTime(rateLimit.reset_at) }, `, resets ${formatRelative(rateLimit.reset_at)}`)
    : "";
  return item(kind, "Rate limit:", `${formatNumber(rateLimit.remaining)}${limit} left`, reset, ".");
}

function renderBanner(node, setup) {
  const facts = githubFacts(setup);
  const size = dbSize(setup);
  replaceChildren(
    node,
    tokenItem(setup),
    githubItem(facts),
    rateItem(facts.rateLimit),
    item("info", "Data:", h("code", {}, setup.data_dir || "—"), size === null ? "" : ` (database ${formatBytes(size)})`),
  );
  node.dataset.reachable = String(facts.reachable);
}

/** Start polling `/api/setup` into the banner element. */
export function startBanner(node) {
  bannerPoll = poll(async () => renderBanner(node, await getSetup()), BANNER_POLL_MS, {
    onError: (error) => replaceChildren(node, item("error", "pmbot server:", `not answering — ${error.message}`)),
  });
}

/** Re-read the setup now (after an action that may have changed it). */
export function refreshBanner() {
  if (bannerPoll) bannerPoll.refresh();
}
