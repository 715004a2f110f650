/**
 * The pmbot HTTP API: one async function per endpoint, all through `request`.
 *
 * Every state-changing call sends `X-PMBot-Request: 1` (the server's CSRF
 * check) and JSON. Any non-2xx answer becomes an `ApiError` carrying the
 * problem+json `detail`, its stable `code` and the `field` at fault.
 */

export class ApiError extends Error {
  constructor(message, code = "http_error", field = null, status = 0, problem = {}) {
    super(message);
    this.name = "ApiError";
    this.code = code;
    this.field = field;
    this.status = status;
    this.problem = problem;
  }
}

const JSON_TYPES = ["application/json", "application/problem+json"];

function isJson(response) {
  const type = (response.headers.get("Content-Type") || "").split(";")[0].trim();
  return JSON_TYPES.includes(type);
}

/** Read a response: JSON on success, null on 304, ApiError otherwise. */
async function handleResponse(response) {
  if (response.status === 304) return null;
  const body = isJson(response) ? await response.json().catch(() => null) : null;
  if (response.ok) return body;
  const problem = body && typeof body === "object" ? body : {};
  const message =
    problem.detail || problem.title || `The server answered ${response.status} ${response.statusText}`;
  throw new ApiError(message, problem.code || "http_error", problem.field || null, response.status, problem);
}

function withQuery(path, params = {}) {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== null && value !== undefined && value !== "") query.set(key, String(value));
  }
  const text = query.toString();
  return text ? `${path}?${text}` : path;
}

/** Send one request; network failures become ApiError("network_error"). */
async function request(method, path, { body, headers = {} } = {}) {
  const init = { method, headers: { Accept: "application/json", ...headers }, cache: "no-store" };
  if (method !== "GET") init.headers["X-PMBot-Request"] = "1";
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (error) {
    throw new ApiError(`Cannot reach the pmbot server (${error.message}).`, "network_error");
  }
  return { response, data: await handleResponse(response) };
}

async function getJson(path, params) {
  return (await request("GET", withQuery(path, params))).data;
}

async function send(method, path, body) {
  return (await request(method, path, { body })).data;
}

export const getSetup = () => getJson("/api/setup");
/** Have GitHub judge the token now (`GET /user`); answers the token's state. */
export const checkToken = () => send("POST", "/api/github/token/check");

/**
 * The repo list with status; pass the last ETag to get `{notModified: true}`
 * when nothing changed (a cheap 304 for the poll).
 */
export async function listRepos(etag = null) {
  const headers = etag ? { "If-None-Match": etag } : {};
  const { response, data } = await request("GET", "/api/repos", { headers });
  const newEtag = response.headers.get("ETag");
  if (data === null) return { notModified: true, etag: newEtag || etag, items: null };
  return { notModified: false, etag: newEtag, items: data.items };
}

export const addRepo = (fullName) => send("POST", "/api/repos", { full_name: fullName });
export const removeRepo = (repoId) => send("DELETE", `/api/repos/${repoId}`);
export const syncRepo = (repoId) => send("POST", `/api/repos/${repoId}/sync`);
/** Turn a repo's local git mirror on or off; answers the repo's status. */
export const setMirror = (repoId, enabled) => send("POST", `/api/repos/${repoId}/mirror`, { enabled });
/** Set how many days back the repo's closed items are cached; answers the repo's status. */
export const setClosedWindow = (repoId, days) => send("POST", `/api/repos/${repoId}/closed-window`, { days });
export const getRepoStatus = (repoId) => getJson(`/api/repos/${repoId}/status`);

/** Cached issues (`kind` "issues") or PRs ("prs"): `{items, next}`. */
export const listItems = (repoId, kind, params) => getJson(`/api/repos/${repoId}/${kind}`, params);

/** One cached item: GitHub's payload as last synced (`kind` "issues" or "prs"). */
export const getItem = (repoId, kind, number) => getJson(`/api/repos/${repoId}/${kind}/${number}`);

/** Workspace-wide full-text search: `{items}` with `{text, hit}` snippet segments. */
export const search = (params) => getJson("/api/search", params);

/** The Work view: every repo's cached items for a filter (a URLSearchParams, whose
 * `repo_id` and `label` may repeat): `{items, next, counts, total}`. */
export const listWorkItems = (params) => getJson(`/api/items?${params}`);
export const listWorkViews = () => getJson("/api/work/views");
/** Save a filter (`{param: text | [texts]}`) under a name; a taken name is a 409. */
export const saveWorkView = (name, filter) => send("POST", "/api/work/views", { name, filter });
export const deleteWorkView = (viewId) => send("DELETE", `/api/work/views/${encodeURIComponent(viewId)}`);

/** Repos the token can see (an org's, or the token owner's when `org` is empty). */
export const listGithubRepos = (org, params = {}) => getJson("/api/github/repos", { org, ...params });

export const listAudit = (params) => getJson("/api/audit", params);
export const getAuditHead = () => getJson("/api/audit/head");
export const verifyAudit = () => getJson("/api/audit/verify");

/** Wipe the local cache (all repos, or one): needs the typed word "reset".
 * "All repos" is said explicitly (`all: true`): the server never reads a
 * missing repo_id as "all". */
export function resetCache(repoId = null) {
  const body = repoId === null ? { confirm: "reset", all: true } : { confirm: "reset", repo_id: repoId };
  return send("POST", "/api/cache/reset", body);
}

/** Known graphs and the budget defaults: `{items: [{graph_id, title}], budget_defaults}`. */
export const listGraphs = () => getJson("/api/graphs");

/** Runs newest first, keyset-paged: `{items, next_cursor}`; params `repo_id`, `state`, `limit`, `cursor`. */
export const listRuns = (params) => getJson("/api/runs", params);
export const getRun = (runId) => getJson(`/api/runs/${encodeURIComponent(runId)}`);

/** Create a plan (a run in `draft`) from a partial AgentRunSpec v2; a 422 lists every problem in `problem.errors`. */
export const createRun = (spec) => send("POST", "/api/runs", spec);
export const approveRun = (runId) => send("POST", `/api/runs/${encodeURIComponent(runId)}/approve`, {});
export const rejectRun = (runId, reason) => send("POST", `/api/runs/${encodeURIComponent(runId)}/reject`, { reason });

export function cancelRun(runId, reason = "") {
  return send("POST", `/api/runs/${encodeURIComponent(runId)}/cancel`, reason ? { reason } : {});
}

/** Decide a pending interrupt: `decision` is "approve", "reject" or "edit" (with `editedPayload`). */
export function decideInterrupt(interruptId, decision, { comment = "", editedPayload } = {}) {
  const body = { decision };
  if (comment) body.comment = comment;
  if (decision === "edit") body.edited_payload = editedPayload;
  return send("POST", `/api/interrupts/${encodeURIComponent(interruptId)}/decision`, body);
}
