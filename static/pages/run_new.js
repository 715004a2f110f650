/**
 * The "New plan" form: a run in `draft` from the local cache. Repo from the
 * registry, goal (≤ 10,000 characters, with a counter), graph and budget
 * defaults from `GET /api/graphs`, tools as a comma- or line-separated list,
 * optional inputs as a JSON object. A 422 puts every problem next to its
 * field (and lists them all above the button); nothing typed is ever cleared.
 */
import { createRun, listGraphs, listRepos } from "../api.js";
import { h, replaceChildren, setAttr, setText, showMessage } from "../dom.js";
import { formatNumber } from "../format.js";
import { BUDGET_FIELDS, GOAL_MAX, buildPlanBody, parseJsonObject, problemsOf } from "../run_helpers.js";

export function render(main) {
  const form = createForm();
  main.append(
    h("p", {}, h("a", { href: "#/runs" }, "← All runs")),
    h("h1", {}, "New plan"),
    h("p", { className: "muted" },
      "A plan is a run in draft: it takes a context pack of the repo's cached issues and pull requests now, and runs only after you approve it."),
    form.root);
  document.title = "New plan — pmbot";
  form.load();
  return () => { form.left = true; };
}

/** One labelled control with its hint and its error line, wired for screen readers. */
function field(key, label, control, hint = null) {
  const errorId = `plan-${key}-error`;
  const hintId = hint ? `plan-${key}-hint` : null;
  const error = h("p", { id: errorId, className: "field-error", hidden: true });
  control.id = `plan-${key}`;
  setAttr(control, "aria-describedby", [hintId, errorId].filter(Boolean).join(" "));
  const root = h("div", { className: "field", dataset: { field: key } },
    h("label", { for: control.id }, label), control,
    hint ? h("p", { id: hintId, className: "field-hint" }, hint) : null, error);
  return { root, control, error };
}

function createForm() {
  const fields = {
    repo: field("repo", "Repository", h("select", { name: "repo", required: true }, h("option", { value: "" }, "Loading repos…"))),
    goal: field("goal", "Goal", h("textarea", { name: "goal", rows: 5, required: true, spellcheck: "true" })),
    graph: field("graph", "Graph", h("select", { name: "graph_id", required: true }, h("option", { value: "" }, "Loading graphs…"))),
    tools: field("tools", "Tools allowed", h("textarea", { name: "tools", rows: 3, spellcheck: "false", placeholder: "github.read_issue, repo.read_file" }),
      "Comma- or line-separated tool names. Empty means the run may call no tools."),
    inputs: field("inputs", "Inputs (JSON object, optional)", h("textarea", { name: "inputs", rows: 3, spellcheck: "false", placeholder: "{\"issue_number\": 412}" }),
      "Graph-specific inputs. Leave empty for none."),
  };
  for (const [name, label] of BUDGET_FIELDS) {
    fields[name] = field(name, label, h("input", { name, type: "text", inputmode: "numeric", autocomplete: "off", spellcheck: "false" }));
  }
  const counter = h("p", { id: "plan-goal-counter", className: "field-hint counter", "aria-live": "polite" });
  fields.goal.root.insertBefore(counter, fields.goal.error);
  setAttr(fields.goal.control, "aria-describedby", `plan-goal-counter plan-goal-error`);
  const budgetError = h("p", { id: "plan-budget-error", className: "field-error", hidden: true });
  const budget = h("fieldset", { className: "budget" },
    h("legend", {}, "Budget (prefilled with the defaults; every limit is a whole number ≥ 1)"),
    h("div", { className: "budget-fields" }, BUDGET_FIELDS.map(([name]) => fields[name].root)),
    budgetError);
  const summary = h("div", { className: "problem-summary", role: "alert", tabindex: "-1", hidden: true });
  const status = h("p", { className: "form-status", role: "status", hidden: true });
  const submit = h("button", { type: "submit" }, "Create plan");
  const form = h("form", { className: "run-form", novalidate: true, "aria-label": "New plan" },
    fields.repo.root, fields.goal.root, fields.graph.root, budget, fields.tools.root, fields.inputs.root,
    summary, h("div", { className: "row-actions" }, submit, h("a", { href: "#/runs" }, "Cancel")), status);
  const view = { fields, budgetError, summary, status, submit, counter, left: false };
  fields.goal.control.addEventListener("input", () => updateCounter(view));
  summary.addEventListener("click", (event) => {
    const link = event.target.closest("a[data-target]");
    if (!link) return;
    event.preventDefault(); // stay on #/runs/new: a hash change would leave the form
    document.getElementById(link.dataset.target).focus();
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    submitPlan(view);
  });
  updateCounter(view);
  return {
    root: h("section", { className: "panel" }, form),
    load: () => loadChoices(view),
    set left(value) { view.left = value; },
  };
}

function updateCounter(view) {
  const length = view.fields.goal.control.value.length;
  const over = length > GOAL_MAX;
  setText(view.counter, `${formatNumber(length)} / ${formatNumber(GOAL_MAX)} characters${over ? ` — ${formatNumber(length - GOAL_MAX)} too many` : ""}`);
  view.counter.dataset.kind = over ? "error" : "info";
  if (over) view.fields.goal.control.setAttribute("aria-invalid", "true");
  else if (view.fields.goal.error.hidden) view.fields.goal.control.removeAttribute("aria-invalid");
}

async function loadChoices(view) {
  const { repo, graph } = view.fields;
  const [repos, graphs] = await Promise.allSettled([listRepos(), listGraphs()]);
  if (view.left) return;
  if (repos.status === "fulfilled") {
    const items = repos.value.items || [];
    replaceChildren(repo.control,
      h("option", { value: "" }, items.length ? "Choose a repo…" : "No repos yet — add one on the Repos page"),
      items.map((r) => h("option", { value: r.full_name, dataset: { repoId: r.repo_id } }, r.full_name)));
    if (items.length === 1) repo.control.value = items[0].full_name;
  } else {
    replaceChildren(repo.control, h("option", { value: "" }, "Cannot load the repos"));
    showMessage(repo.error, repos.reason.message, "error");
  }
  if (graphs.status === "fulfilled") {
    const items = graphs.value.items || [];
    replaceChildren(graph.control, items.map((g) =>
      h("option", { value: g.graph_id }, g.title ? `${g.title} (${g.graph_id})` : g.graph_id)));
    const defaults = graphs.value.budget_defaults || {};
    for (const [name] of BUDGET_FIELDS) {
      const input = view.fields[name].control;
      if (!input.value && Number.isFinite(defaults[name])) input.value = String(defaults[name]);
    }
  } else {
    replaceChildren(graph.control, h("option", { value: "" }, "Cannot load the graphs"));
    showMessage(graph.error, graphs.reason.message, "error");
  }
}

function values(view) {
  const { fields } = view;
  const budget = {};
  for (const [name] of BUDGET_FIELDS) budget[name] = fields[name].control.value;
  return {
    repo: fields.repo.control.value,
    goal: fields.goal.control.value,
    graphId: fields.graph.control.value,
    budget,
    tools: fields.tools.control.value,
  };
}

function clearProblems(view) {
  for (const item of Object.values(view.fields)) {
    showMessage(item.error, "");
    item.control.removeAttribute("aria-invalid");
  }
  showMessage(view.budgetError, "");
  view.summary.hidden = true;
  view.summary.replaceChildren();
  updateCounter(view);
}

const FIELD_NAMES = {
  repo: "Repository", goal: "Goal", graph: "Graph", tools: "Tools allowed", inputs: "Inputs",
  budget: "Budget", max_total_tokens: "Max total tokens", max_tool_calls: "Max tool calls",
  max_wall_seconds: "Max wall seconds",
};

/** Put each problem next to its field and list them all in the summary; focus the summary. */
function showProblems(view, problems, tools) {
  const byField = new Map();
  for (const problem of problems) {
    let message = problem.message;
    const index = /^\/execution\/tools_allowed\/(\d+)/.exec(problem.path);
    if (index && tools[Number(index[1])] !== undefined) message = `“${tools[Number(index[1])]}”: ${message}`;
    const list = byField.get(problem.field) || [];
    list.push(message);
    byField.set(problem.field, list);
  }
  const items = [];
  for (const [key, messages] of byField) {
    const text = messages.join(" ");
    if (key === "budget") showMessage(view.budgetError, text, "error");
    else if (view.fields[key]) {
      showMessage(view.fields[key].error, text, "error");
      view.fields[key].control.setAttribute("aria-invalid", "true");
    }
    for (const message of messages) {
      const target = key === "budget" ? null : view.fields[key];
      const label = FIELD_NAMES[key];
      items.push(h("li", {},
        target ? h("a", { href: `#${target.control.id}`, dataset: { target: target.control.id } }, label) : label || "Plan",
        `: ${message}`));
    }
  }
  const count = problems.length;
  replaceChildren(view.summary,
    h("p", {}, count === 1 ? "The plan was not created: 1 problem." : `The plan was not created: ${count} problems.`),
    h("ul", {}, items));
  view.summary.hidden = false;
  view.summary.focus();
}

async function submitPlan(view) {
  clearProblems(view);
  showMessage(view.status, "");
  const inputsText = view.fields.inputs.control.value;
  const inputs = parseJsonObject(inputsText, { emptyIsEmptyObject: true });
  if (!inputs.ok) {
    showProblems(view, [{ field: "inputs", path: "/inputs", message: inputs.message }], []);
    return;
  }
  const formValues = { ...values(view), inputs: inputs.value };
  const body = buildPlanBody(formValues);
  view.submit.disabled = true;
  showMessage(view.status, "Creating the plan and taking a context pack…", "info");
  try {
    const run = await createRun(body);
    if (view.left) return;
    showMessage(view.status, "Plan created.", "ok");
    location.hash = `#/runs/${run.run_id}`;
  } catch (error) {
    if (view.left) return;
    showMessage(view.status, "");
    if (error.status === 422 || error.status === 400) {
      showProblems(view, problemsOf(error.problem), body.execution.tools_allowed);
    } else {
      showMessage(view.status, `The plan was not created: ${error.message}`, "error");
    }
  } finally {
    view.submit.disabled = false;
  }
}
