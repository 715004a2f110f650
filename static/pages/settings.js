/**
 * The Settings page: the setup facts in full, and the danger zone — reset
 * the local cache behind a typed confirmation that says exactly what goes
 * and what stays.
 */
import { getSetup, listRepos, resetCache } from "../api.js";
import { githubFacts, refreshBanner, tokenState, tokenText, dbSize } from "../banner.js";
import { h, replaceChildren, showMessage } from "../dom.js";
import { formatBytes, formatLocalTime, formatNumber } from "../format.js";

const CONFIRM_WORD = "reset";

export function render(main) {
  const setup = h("section", { className: "panel", "aria-labelledby": "setup-title" },
    h("h2", { id: "setup-title" }, "Setup"), h("p", {}, "Loading…"));
  const danger = createDangerZone();
  main.append(h("h1", {}, "Settings"), setup, danger.root);
  loadSetup(setup);
  danger.loadRepos();
  return () => {};
}

async function loadSetup(section) {
  try {
    const setup = await getSetup();
    const facts = githubFacts(setup);
    const rate = facts.rateLimit || {};
    const rows = [
      ["GitHub token", `${tokenText(setup)} (The token itself is never shown.)`],
      ["GitHub", facts.reachable === null ? "not contacted yet" : facts.reachable ? "reachable" : `unreachable: ${facts.lastError || "unknown error"}`],
      ["Last GitHub request", formatLocalTime(facts.lastRequestAt)],
      ["Rate limit left", tokenState(setup) === "accepted" && rate.remaining != null
        ? `${formatNumber(rate.remaining)} (resets ${formatLocalTime(rate.reset_at)})`
        : "not known for this token yet"],
      ["Data dir", setup.data_dir || "—"],
      ["Database size", formatBytes(dbSize(setup))],
      ["pmbot version", setup.version || "—"],
    ];
    replaceChildren(section, section.firstChild,
      h("dl", { className: "setup-facts" }, rows.map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)])));
  } catch (error) {
    replaceChildren(section, section.firstChild, h("p", { className: "list-error", role: "alert" }, error.message));
  }
}

function createDangerZone() {
  const scope = h("select", { id: "reset-scope", name: "repo_id" }, h("option", { value: "" }, "All repos"));
  const confirm = h("input", { id: "reset-confirm", name: "confirm", type: "text", autocomplete: "off", spellcheck: "false", "aria-describedby": "reset-what" });
  const button = h("button", { type: "submit", className: "danger", disabled: true }, "Reset local cache");
  const status = h("p", { className: "form-status", role: "status", hidden: true });
  confirm.addEventListener("input", () => { button.disabled = confirm.value.trim() !== CONFIRM_WORD; });
  const form = h("form", { className: "reset-form" },
    h("div", { className: "field" }, h("label", { for: "reset-scope" }, "Which repos"), scope),
    h("div", { className: "field" }, h("label", { for: "reset-confirm" }, "Type ", h("kbd", {}, CONFIRM_WORD), " to confirm"), confirm),
    button, status);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    submitReset(scope, confirm, button, status);
  });
  const root = h("section", { className: "panel danger-zone", "aria-labelledby": "danger-title" },
    h("h2", { id: "danger-title" }, "Danger zone"),
    h("h3", {}, "Reset local cache"),
    h("div", { id: "reset-what" },
      h("p", {}, h("strong", {}, "Wipes: "), "every cached issue and pull request, the sync cursors, and the stored ETags (conditional-request validators)."),
      h("p", {}, h("strong", {}, "Keeps: "), "the list of repos and the audit log. A cache.reset event is recorded, and the next sync re-imports everything from GitHub.")),
    form);
  return { root, loadRepos: () => fillScope(scope) };
}

async function fillScope(scope) {
  const { items } = await listRepos().catch(() => ({ items: [] }));
  scope.append(...items.map((repo) => h("option", { value: repo.repo_id }, repo.full_name)));
}

async function submitReset(scope, confirm, button, status) {
  if (confirm.value.trim() !== CONFIRM_WORD) return;
  button.disabled = true;
  try {
    await resetCache(scope.value ? Number(scope.value) : null);
    const which = scope.value ? scope.selectedOptions[0].textContent : "all repos";
    showMessage(status, `Local cache reset for ${which}. The next sync re-imports it.`, "ok");
    confirm.value = "";
    refreshBanner();
  } catch (error) {
    showMessage(status, `Reset failed: ${error.message}`, "error");
    button.disabled = false;
  }
}
