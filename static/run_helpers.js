/**
 * Runs: states, labels and the parsing the run forms need.
 *
 * Pure functions (no DOM), so the browser tests import this module directly.
 * The server validates everything again and has the last word; these helpers
 * only turn what the operator typed into the request body, and map the
 * server's problems (JSON pointers into the spec) back onto the form's fields.
 */

export const GOAL_MAX = 10000;

export const RUN_STATES = [
  "draft", "approved", "rejected", "cancelled", "running", "waiting", "completed", "failed",
];
export const FINAL_STATES = new Set(["rejected", "cancelled", "completed", "failed"]);

export const STATE_LABELS = {
  draft: "Draft",
  approved: "Approved",
  rejected: "Rejected",
  cancelled: "Cancelled",
  running: "Running",
  waiting: "Waiting for you",
  completed: "Completed",
  failed: "Failed",
};

export const INTERRUPT_STATUS_LABELS = {
  pending: "Pending",
  approved: "Approved",
  rejected: "Rejected",
  edited: "Edited",
};

export const BUDGET_FIELDS = [
  ["max_total_tokens", "Max total tokens"],
  ["max_tool_calls", "Max tool calls"],
  ["max_wall_seconds", "Max wall seconds"],
];

export function stateLabel(state) {
  return STATE_LABELS[state] || String(state || "unknown");
}

export function isFinal(state) {
  return FINAL_STATES.has(state);
}

/** Tool names from a comma- or line-separated list: trimmed, empties dropped, order and repeats kept. */
export function parseTools(text) {
  return String(text)
    .split(/[\n,]/)
    .map((part) => part.trim())
    .filter(Boolean);
}

/**
 * A budget field as typed: empty → null (the server fills its default), a
 * number → that number (the server refuses 0, negatives and fractions with a
 * reason), anything else → the text itself, so the server names the problem.
 */
export function parseBudgetValue(text) {
  const value = String(text).trim();
  if (!value) return null;
  if (/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(value)) return Number(value);
  return value;
}

/** Parse a JSON object typed by the operator: `{ok, value}` or `{ok: false, message}`. */
export function parseJsonObject(text, { emptyIsEmptyObject = false } = {}) {
  const source = String(text).trim();
  if (!source && emptyIsEmptyObject) return { ok: true, value: {} };
  let value;
  try {
    value = JSON.parse(source);
  } catch (error) {
    return { ok: false, message: `This is not valid JSON: ${error.message}` };
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    return { ok: false, message: "This must be a JSON object, e.g. {\"key\": \"value\"}." };
  }
  return { ok: true, value };
}

/**
 * The request body of `POST /api/runs` from the form's values
 * (`{repo, goal, graphId, budget: {name: text}, tools: text, inputs: object}`).
 * Empty budget fields are left out, so the server's defaults apply.
 */
export function buildPlanBody(values) {
  const budget = {};
  for (const [name] of BUDGET_FIELDS) {
    const parsed = parseBudgetValue((values.budget || {})[name] ?? "");
    if (parsed !== null) budget[name] = parsed;
  }
  return {
    goal: values.goal,
    inputs: values.inputs || {},
    execution: {
      graph_id: values.graphId,
      budget,
      tools_allowed: parseTools(values.tools || ""),
      scopes: { repo: values.repo },
    },
  };
}

const FIELD_PREFIXES = [
  ["/execution/scopes", "repo"],
  ["/goal", "goal"],
  ["/execution/graph_id", "graph"],
  ["/execution/budget/max_total_tokens", "max_total_tokens"],
  ["/execution/budget/max_tool_calls", "max_tool_calls"],
  ["/execution/budget/max_wall_seconds", "max_wall_seconds"],
  ["/execution/budget", "budget"],
  ["/execution/tools_allowed", "tools"],
  ["/inputs", "inputs"],
];

/** A problem's location as a JSON pointer: accepts "/a/b", "a.b" and "a/b". */
export function toPointer(path) {
  const text = String(path || "");
  if (!text) return "";
  if (text.startsWith("/")) return text;
  return `/${text.replace(/\./g, "/")}`;
}

/** Which form field a problem at `path` belongs to ("" for the form as a whole). */
export function fieldForPath(path) {
  const pointer = toPointer(path);
  for (const [prefix, field] of FIELD_PREFIXES) {
    if (pointer === prefix || pointer.startsWith(`${prefix}/`)) return field;
  }
  return "";
}

/**
 * Every problem of a 422 as `[{field, path, message}]`: the `errors` list
 * when the server sent one, else the single `detail` (at `field`, if named).
 */
export function problemsOf(problem) {
  const body = problem || {};
  if (Array.isArray(body.errors) && body.errors.length) {
    return body.errors.map((error) => {
      const path = toPointer(error.path ?? error.field ?? "");
      return { field: fieldForPath(path), path, message: String(error.message || error.detail || "is not valid") };
    });
  }
  const path = toPointer(body.field || "");
  return [{ field: fieldForPath(path), path, message: String(body.detail || body.title || "The server refused this.") }];
}

/** The first line of a goal, shortened for lists and titles. */
export function shortGoal(goal, max = 90) {
  const line = String(goal || "").split("\n")[0].trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}
