/**
 * One cached item (`#/repo/ID/issues/N` or `#/repo/ID/prs/N`): pmbot's own view of
 * an issue or PR, read from the cache (GitHub's payload as last synced), so it
 * opens while GitHub is down. The body is shown as plain text, never as HTML.
 */
import { getItem } from "../api.js";
import { h, showMessage } from "../dom.js";
import { formatLocalTime, formatRelative } from "../format.js";

export function render(main, [repoIdText, kind, numberText]) {
  const status = h("p", { className: "list-status", role: "status" });
  main.append(h("p", {}, h("a", { href: `#/repo/${repoIdText}` }, "← Repo"), " · ",
    h("a", { href: "#/work" }, "Work")), status);
  document.title = `#${numberText} — pmbot`;
  let live = true;
  getItem(Number(repoIdText), kind, Number(numberText))
    .then((item) => { if (live) main.append(itemView(item, kind)); status.hidden = true; })
    .catch((error) => { if (live) showMessage(status, `Cannot load the item: ${error.message}`, "error"); });
  return () => { live = false; };
}

function people(users) {
  const logins = (users || []).map((u) => u && u.login).filter(Boolean);
  return logins.length ? logins.join(", ") : "—";
}

function itemView(item, kind) {
  document.title = `${item.title} — pmbot`;
  const labels = (item.labels || []).map((l) => h("span", { className: "label-chip" }, typeof l === "string" ? l : l.name));
  return h("article", { className: "panel cached-item" },
    h("h1", {}, `${kind === "prs" ? "PR " : ""}#${item.number} `, item.title),
    h("p", {},
      h("span", { className: "badge", dataset: { state: item.state } }, item.state), " ",
      item.draft ? h("span", { className: "tag" }, "draft") : null, " ",
      h("a", { href: item.html_url, target: "_blank", rel: "noopener noreferrer" }, "Open on GitHub")),
    h("dl", { className: "item-facts" },
      h("dt", {}, "Author"), h("dd", {}, (item.user && item.user.login) || "—"),
      h("dt", {}, "Assignees"), h("dd", { className: "assignees" }, people(item.assignees)),
      h("dt", {}, "Labels"), h("dd", {}, labels.length ? labels : "—"),
      h("dt", {}, "Updated"), h("dd", { title: formatLocalTime(item.updated_at) }, formatRelative(item.updated_at)),
      h("dt", {}, "Comments"), h("dd", {}, String(item.comments ?? "—"))),
    h("pre", { className: "item-body" }, item.body || "(no description)"));
}
