/**
 * Entry point: hash routing (`#/repos`, `#/repo/ID`, `#/repo/ID/issues/N`, `#/work?…`, `#/search?q=…`, `#/runs`,
 * `#/runs/new`, `#/runs/RUN_ID`, `#/audit`, `#/settings`),
 * so the server only ever serves index.html. Each page module exports
 * `render(main, params)` returning a cleanup function that stops its polls.
 */
import { startBanner } from "./banner.js";
import { h } from "./dom.js";
import * as auditPage from "./pages/audit.js";
import * as itemPage from "./pages/item.js";
import * as repoPage from "./pages/repo.js";
import * as reposPage from "./pages/repos.js";
import * as runPage from "./pages/run.js";
import * as runNewPage from "./pages/run_new.js";
import * as runsPage from "./pages/runs.js";
import * as searchPage from "./pages/search.js";
import * as settingsPage from "./pages/settings.js";
import * as workPage from "./pages/work.js";

const SELECTORS = {
  main: "#main",
  banner: "#setup-banner",
  navLinks: "[data-nav]",
  topSearch: "#top-search",
};

const ROUTES = [
  { pattern: /^#\/repos$/, page: reposPage, nav: "repos" },
  { pattern: /^#\/repo\/(\d+)$/, page: repoPage, nav: "repos" },
  { pattern: /^#\/repo\/(\d+)\/(issues|prs)\/(\d+)$/, page: itemPage, nav: "work" },
  { pattern: /^#\/work(?:\?(.*))?$/, page: workPage, nav: "work" },
  { pattern: /^#\/search(?:\?(.*))?$/, page: searchPage, nav: "search" },
  { pattern: /^#\/runs$/, page: runsPage, nav: "runs" },
  { pattern: /^#\/runs\/new$/, page: runNewPage, nav: "runs" },
  { pattern: /^#\/runs\/([A-Za-z0-9][A-Za-z0-9._-]{0,127})$/, page: runPage, nav: "runs" },
  { pattern: /^#\/audit$/, page: auditPage, nav: "audit" },
  { pattern: /^#\/settings$/, page: settingsPage, nav: "settings" },
];

let cleanup = null;

function renderNotFound(main, hash) {
  main.append(
    h("h1", {}, "Page not found"),
    h("p", {}, `Nothing lives at ${hash}. `, h("a", { href: "#/repos" }, "Go to the repos")),
  );
  return () => {};
}

function markNav(nav) {
  for (const link of document.querySelectorAll(SELECTORS.navLinks)) {
    if (link.dataset.nav === nav) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
}

/** Show the page for the current hash; hashes not starting with "#/" (the skip link) are left alone. */
function route() {
  const hash = location.hash || "#/repos";
  if (!hash.startsWith("#/")) return;
  const main = document.querySelector(SELECTORS.main);
  if (cleanup) cleanup();
  main.replaceChildren();
  const match = ROUTES.map((r) => ({ route: r, found: r.pattern.exec(hash) })).find((m) => m.found);
  markNav(match ? match.route.nav : null);
  cleanup = match
    ? match.route.page.render(main, match.found.slice(1))
    : renderNotFound(main, hash);
}

/** The search box in the top navigation: searching works before any repo is opened. */
function wireTopSearch(form) {
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const q = form.elements.q.value.trim();
    if (q) location.hash = searchPage.searchHash(q);
    else form.elements.q.focus();
  });
}

function init() {
  startBanner(document.querySelector(SELECTORS.banner));
  wireTopSearch(document.querySelector(SELECTORS.topSearch));
  window.addEventListener("hashchange", route);
  route();
}

init();
