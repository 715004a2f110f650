/**
 * The setup banner shown on every page: the token's state as GitHub last
 * judged it (missing / not yet checked / accepted / rejected), whether GitHub
 * answered the last request, the rate limit left (the server serves only the
 * current token's and API base's), and the data dir. It never shows the
 * token (the API only says whether there is one and how GitHub judged it).
 */
import { checkToken, getSetup } from "./api.js";
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

/** The token's state: `missing | unchecked | accepted | rejected`. */
export function tokenState(setup) {
  if (setup.token && setup.token.state) return setup.token.state;
  return tokenPresent(setup) ? "unchecked" : "missing";
}

const TOKEN_KINDS = { missing: "warn", unchecked: "info", accepted: "ok", rejected: "error" };

/** One sentence for the token's state, shared by the banner and Settings. */
export function tokenText(setup) {
  const token = setup.token || {};
  switch (tokenState(setup)) {
    case "missing":
      return "missing. Set GITHUB_TOKEN in .env and restart pmbot.";
    case "rejected":
      return "rejected by GitHub (401 Bad credentials). Create a new token, put it in GITHUB_TOKEN in .env and restart pmbot.";
    case "accepted": {
      const who = token.login ? ` as ${token.login}` : "";
      const scopes = Array.isArray(token.scopes) ? ` (scopes: ${token.scopes.join(", ") || "none"})` : "";
      return `accepted by GitHub${who}${scopes}.`;
    }
    default:
      return "set, not yet checked by GitHub (the first sync checks it).";
  }
}

function tokenItem(setup) {
  const state = tokenState(setup);
  const node = item(TOKEN_KINDS[state] || "info", "Token:", tokenText(setup));
  node.dataset.token = state;
  if (state === "unchecked" || state === "rejected") node.append(" ", checkButton());
  return node;
}

function checkButton() {
  const button = h("button", { type: "button", className: "check-token link-button" }, "Check now");
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      await checkToken();
    } catch {
      // An unreachable GitHub shows in the GitHub item on the refresh below.
    }
    refreshBanner();
  });
  return button;
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
  const state = tokenState(setup);
  replaceChildren(
    node,
    tokenItem(setup),
    githubItem(facts),
    state === "accepted" ? rateItem(facts.rateLimit) : item("info", "Rate limit:", "shown once GitHub accepts the token."),
    item("info", "Data:", h("code", {}, setup.data_dir || "—"), size === null ? "" : ` (database ${formatBytes(size)})`),
  );
  node.dataset.reachable = String(facts.reachable);
  node.dataset.token = state;
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
