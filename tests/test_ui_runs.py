"""The Runs UI in a real browser (Debian chromium via Playwright) against a real
`pmbot serve` synced from the fake GitHub, with the scripted executor of
`tests/scripted_executor.py` driving the run against the server's database.

The tests share one server, fake and browser and run in file order: the first
creates a plan through the form (after a refused one), approves it, and follows
the scripted run live to its end; the others reject and cancel plans, and page
and filter the list. Screenshots go to `/tmp/pmbot-ui-runs/` (not the repo), and
any console or page error a test did not expect fails it.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

from tests import scripted_executor as se
from tests.fake_github import FakeGitHub
from tests.ui_support import LiveServer, chromium, open_route, serve, watched_page

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect

pytestmark = pytest.mark.slow

REPO = "acme/widgets"
ISSUES_OPEN, ISSUES_CLOSED, PRS_OPEN = 7, 2, 3
WAIT_MS = 15_000
SHOTS = Path("/tmp/pmbot-ui-runs")
GOAL = "Label the untriaged issues opened this week"
REPORT = b"# Triage report\n\n3 issues labelled <b>bug</b>.\n"


def _seed(fake: FakeGitHub) -> None:
    fake.add_repo(REPO)
    for index in range(ISSUES_OPEN + ISSUES_CLOSED):
        state = "closed" if index < ISSUES_CLOSED else "open"
        fake.add_issue(REPO, title=f"Sprocket fault {index}", body="Steps…", state=state)
    for index in range(PRS_OPEN):
        fake.add_pr(REPO, title=f"Fix sprocket {index}")


@pytest.fixture(scope="module")
def fake():
    with FakeGitHub() as fake:
        _seed(fake)
        yield fake


@pytest.fixture(scope="module")
def server(fake, tmp_path_factory):
    with serve(tmp_path_factory.mktemp("ui-runs"), fake) as live:
        status, _ = live.api("POST", "/api/repos", {"full_name": REPO})
        assert status == 201
        _wait_synced(live)
        yield live


def _wait_synced(server: LiveServer, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _, body = server.api("GET", "/api/repos")
        repo = next(r for r in body["items"] if r["full_name"] == REPO)
        counts = repo.get("counts") or {}
        if repo["status"] == "idle" and counts.get("issues_open") == ISSUES_OPEN:
            return
        time.sleep(0.1)
    raise AssertionError(f"{REPO} did not finish its import: {repo}")


@pytest.fixture(scope="module")
def browser():
    with chromium() as browser:
        yield browser


@pytest.fixture
def ui(browser, server):
    viewport = {"width": 1280, "height": 900}
    with watched_page(browser, WAIT_MS, viewport=viewport, accept_downloads=True) as watched:
        yield watched


def _shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _plan(server: LiveServer, goal: str) -> dict:
    body = {"goal": goal, "execution": {"graph_id": "triage@1", "scopes": {"repo": REPO}}}
    status, run = server.api("POST", "/api/runs", body)
    assert status == 201, run
    return run


def _pretty(value) -> str:
    """A JSON object as the page shows it (the server keeps payloads with sorted keys)."""
    return json.dumps(value, indent=2, sort_keys=True)


def _run_by_goal(server: LiveServer, goal: str) -> str:
    _, listing = server.api("GET", "/api/runs?limit=200")
    return next(r["run_id"] for r in listing["items"] if r["goal"] == goal)


def _run_id_from(page) -> str:
    match = re.search(r"#/runs/([^/]+)$", page.url)
    assert match and match.group(1) != "new", page.url
    return match.group(1)


def test_helpers_in_the_browser(ui, server):
    page = open_route(ui, server, "#/runs")
    results = page.evaluate(
        """async () => {
            const r = await import('/static/run_helpers.js');
            return {
                tools: r.parseTools('github.read_issue, repo.read_file\\n\\n repo.write_patch ,'),
                budget: [r.parseBudgetValue(' 40 '), r.parseBudgetValue('1.5'),
                         r.parseBudgetValue('lots'), r.parseBudgetValue('')],
                bad: r.parseJsonObject('{"a": 1,}').ok,
                array: r.parseJsonObject('[1]').message,
                good: r.parseJsonObject(' {"a": [1]} ').value,
                fields: ['/execution/scopes/repo', '/goal', '/execution/budget/max_tool_calls',
                         '/execution/budget', '/execution/tools_allowed/2', '/run_id',
                         'execution.graph_id'].map(r.fieldForPath),
            };
        }"""
    )
    assert results == {
        "tools": ["github.read_issue", "repo.read_file", "repo.write_patch"],
        "budget": [40, 1.5, "lots", None],
        "bad": False,
        "array": 'This must be a JSON object, e.g. {"key": "value"}.',
        "good": {"a": [1]},
        "fields": ["repo", "goal", "max_tool_calls", "budget", "tools", "", "graph"],
    }


def test_new_plan_form_shows_every_problem_then_creates_the_plan(ui, server):
    ui.allow_console_error("status of 422")
    _, graphs = server.api("GET", "/api/graphs")
    defaults = graphs["budget_defaults"]
    page = open_route(ui, server, "#/runs")
    expect(page.locator("main h1")).to_have_text("Runs")
    expect(page.locator('[data-nav="runs"]')).to_have_attribute("aria-current", "page")
    page.get_by_role("link", name="New plan").click()
    expect(page.locator("main h1")).to_have_text("New plan")
    form = page.locator("form.run-form")
    expect(form.get_by_label("Repository")).to_have_value(REPO)  # the only repo: preselected
    graph = form.get_by_label("Graph")
    expect(graph.locator("option")).to_have_count(len(graphs["items"]))
    expect(graph.locator("option").first).to_contain_text(graphs["items"][0]["graph_id"])
    for name, label in (
        ("max_total_tokens", "Max total tokens"),
        ("max_tool_calls", "Max tool calls"),
        ("max_wall_seconds", "Max wall seconds"),
    ):
        expect(form.get_by_label(label)).to_have_value(str(defaults[name]))
    goal = form.get_by_label("Goal", exact=True)
    goal.fill(GOAL)
    expect(page.locator("#plan-goal-counter")).to_have_text(f"{len(GOAL)} / 10,000 characters")
    graph.select_option("triage@1")
    form.get_by_label("Max tool calls").fill("0")
    form.get_by_label("Max wall seconds").fill("-5")
    form.get_by_label("Tools allowed").fill("repo.read_file,\ngithub.read_issue")
    form.get_by_label("Inputs (JSON object, optional)").fill('{"since": "7d"}')
    form.get_by_role("button", name="Create plan").click()

    summary = page.locator(".problem-summary")
    expect(summary).to_contain_text("The plan was not created: 2 problems.")
    expect(summary.locator("li")).to_have_count(2)
    expect(page.locator("#plan-max_tool_calls-error")).to_contain_text("at least 1")
    expect(page.locator("#plan-max_wall_seconds-error")).to_contain_text("at least 1")
    expect(form.get_by_label("Max tool calls")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#plan-goal-error")).to_be_hidden()
    expect(summary).to_be_focused()
    # Nothing the operator typed is lost.
    expect(goal).to_have_value(GOAL)
    expect(form.get_by_label("Max tool calls")).to_have_value("0")
    expect(form.get_by_label("Tools allowed")).to_have_value("repo.read_file,\ngithub.read_issue")
    _shot(page, "01-new-plan-problems")
    _, listing = server.api("GET", "/api/runs")
    assert listing["items"] == []  # nothing stored

    # Over 10,000 characters: the counter says so, and the server's problem lands at the goal.
    goal.fill("g" * 10_001)
    expect(page.locator("#plan-goal-counter")).to_have_text(
        "10,001 / 10,000 characters — 1 too many"
    )
    form.get_by_role("button", name="Create plan").click()
    expect(summary).to_contain_text("The plan was not created: 3 problems.")
    expect(page.locator("#plan-goal-error")).to_contain_text("10000")
    expect(goal).to_have_attribute("aria-invalid", "true")
    goal.fill(GOAL)

    # The summary's links move focus to the field (and stay on the form).
    summary.get_by_role("link", name="Max tool calls").click()
    expect(form.get_by_label("Max tool calls")).to_be_focused()
    assert page.url.endswith("#/runs/new")

    form.get_by_label("Max tool calls").fill("40")
    form.get_by_label("Max wall seconds").fill("600")
    form.get_by_role("button", name="Create plan").click()
    expect(page).to_have_url(re.compile(r"#/runs/(?!new)[A-Za-z0-9._-]+$"))
    run_id = _run_id_from(page)
    expect(page.locator("main h1")).to_have_text(GOAL)
    expect(page.locator(".run-title .run-state")).to_have_text("Draft")
    spec = page.locator(".spec-facts").first
    expect(spec).to_contain_text("triage@1")
    expect(spec).to_contain_text(f"Max total tokens{defaults['max_total_tokens']:,}")
    expect(spec).to_contain_text("Max tool calls40")
    expect(spec.locator(".label-chip")).to_have_text(["repo.read_file", "github.read_issue"])
    expect(spec).to_contain_text('"since": "7d"')
    expect(page.locator(".pack-summary")).to_contain_text(
        f"{ISSUES_OPEN} open issues and {PRS_OPEN} open pull requests, taken"
    )
    expect(page.locator("table.artifacts tbody tr")).to_have_count(1)
    expect(page.locator("table.artifacts")).to_contain_text("context.pack")
    _, run = server.api("GET", f"/api/runs/{run_id}")
    assert run["spec"]["execution"]["budget"]["max_tool_calls"] == 40
    assert run["spec"]["execution"]["tools_allowed"] == ["repo.read_file", "github.read_issue"]
    _shot(page, "02-run-draft")


def test_run_page_follows_the_scripted_run_live(ui, server):
    run_id = _run_by_goal(server, GOAL)
    page = open_route(ui, server, f"#/runs/{run_id}")
    badge = page.locator(".run-title .run-state")
    live = page.locator(".live-status")
    expect(badge).to_have_text("Draft")
    page.get_by_role("button", name="Approve plan").click()
    expect(badge).to_have_text("Approved")
    expect(page.locator(".run-actions .action-message")).to_have_text("Plan approved.")
    expect(page.locator(".run-actions")).to_contain_text("Approved: it starts when an executor")

    # The executor starts it: the page follows without a reload.
    se.start(server.settings, run_id)
    expect(badge).to_have_text("Running")
    expect(live).to_have_text("State changed: Approved → Running. Updates live.")
    expect(page.locator(".spec-facts").first).to_contain_text(f"thread-{run_id}")

    payload = {"tool": "github.add_labels", "args": {"issue": 3, "labels": ["bug"]}}
    interrupt = se.raise_interrupt(server.settings, run_id, risk="high", payload=payload)
    expect(badge).to_have_text("Waiting for you")
    expect(live).to_have_text("State changed: Running → Waiting for you. Updates live.")
    card = page.locator(f'.interrupt[data-interrupt-id="{interrupt["interrupt_id"]}"]')
    expect(card.locator(".interrupt-head")).to_contain_text("tool_call.approval")
    expect(card.locator(".risk")).to_have_text("High risk")
    expect(card.locator(".interrupt-status")).to_have_text("Pending")
    expect(card.locator(".payload")).to_have_text(_pretty(payload))
    expect(page.locator(".interrupt-count")).to_have_text("1 pending · 0 decided")
    _shot(page, "03-run-waiting")

    # Edit: the payload as JSON; invalid JSON is refused here and nothing is sent.
    card.get_by_role("button", name="Edit…").click()
    editor = card.get_by_label("Edited payload (JSON object)")
    expect(editor).to_be_focused()
    expect(editor).to_have_value(_pretty(payload))
    editor.fill('{"tool": "github.add_labels", "args": {"issue": 3}')
    card.get_by_role("button", name="Save edit and continue").click()
    error = card.locator(".interrupt-editor .field-error")
    expect(error).to_contain_text("This is not valid JSON")
    expect(error).to_contain_text("Nothing was sent.")
    expect(editor).to_have_attribute("aria-invalid", "true")
    _, still = server.api("GET", f"/api/runs/{run_id}")
    assert [i["status"] for i in still["interrupts"]] == ["pending"]
    edited = {"tool": "github.add_labels", "args": {"issue": 3, "labels": ["bug", "triaged"]}}
    editor.fill(json.dumps(edited))
    card.get_by_label("Comment (optional)").fill("Also mark it triaged")
    card.get_by_role("button", name="Save edit and continue").click()
    expect(badge).to_have_text("Running")
    expect(card).to_have_attribute("data-status", "edited")
    expect(card.locator(".decision-line")).to_contain_text("Edited by ")
    expect(card.locator(".decision-line")).to_contain_text("“Also mark it triaged”")
    expect(card.locator(".payload-block .payload")).to_have_text(_pretty(edited))
    expect(page.locator(".interrupt-count")).to_have_text("0 pending · 1 decided")
    _, decided = server.api("GET", f"/api/runs/{run_id}")
    assert decided["interrupts"][0]["status"] == "edited"
    assert decided["interrupts"][0]["decision"]["edited_payload"] == edited
    assert decided["interrupts"][0]["decision"]["comment"] == "Also mark it triaged"

    # An artifact filed through the port appears, and its link downloads the bytes.
    artifact = se.file_artifact(
        server.settings, run_id, REPORT, kind="report", media_type="text/markdown"
    )
    row = page.locator(f'table.artifacts tr[data-artifact-id="{artifact["artifact_id"]}"]')
    expect(row).to_contain_text("report")
    expect(row).to_contain_text("text/markdown")
    expect(row).to_contain_text(f"{len(REPORT)} B")
    with page.expect_download() as download:
        row.get_by_role("link", name="Download report").click()
    assert Path(download.value.path()).read_bytes() == REPORT
    assert download.value.suggested_filename == artifact["artifact_id"]

    se.finish(server.settings, run_id)
    expect(badge).to_have_text("Completed")
    expect(live).to_have_text("This run is final: the page no longer refreshes.")
    expect(page.locator(".run-actions")).to_contain_text("Completed. Nothing more can happen")
    events = page.locator(".run-timeline .event")
    expect(events.last).to_have_attribute("data-type", "run.finished")
    types = events.evaluate_all("nodes => nodes.map(n => n.dataset.type)")
    assert types == [
        "run.planned", "artifact.stored", "run.approved", "run.started", "run.interrupted",
        "interrupt.decided", "artifact.stored", "run.finished",
    ]  # fmt: skip
    subjects = page.locator(".run-timeline .event-subject")
    expect(subjects).to_have_text([
        re.compile(r"^Plan created for acme/widgets with triage@1\.$"),
        re.compile(r"^Artifact stored: context\.pack \(.+\)\.$"),
        "Plan approved.",
        f"Run started on thread thread-{run_id}.",
        "Interrupt raised: tool_call.approval (high risk) — waiting for a decision.",
        re.compile(r"^Interrupt edited by .+: “Also mark it triaged”\.$"),
        f"Artifact stored: report ({len(REPORT)} B).",
        "Run finished: completed.",
    ])  # fmt: skip
    events.last.locator("summary").click()
    expect(events.last.locator(".payload")).to_contain_text('"outcome": "completed"')
    _shot(page, "04-run-completed")


def test_reject_needs_a_reason_and_the_run_page_says_why(ui, server):
    run = _plan(server, "Draft release notes for 2.0")
    page = open_route(ui, server, f"#/runs/{run['run_id']}")
    expect(page.locator(".run-title .run-state")).to_have_text("Draft")
    actions = page.locator(".run-actions")
    expect(actions.get_by_role("button")).to_have_text(["Approve plan", "Reject…", "Cancel run…"])
    actions.get_by_role("button", name="Reject…").click()
    reason = actions.get_by_label("Why reject this plan? (required)")
    expect(reason).to_be_focused()
    actions.get_by_role("button", name="Reject plan").click()
    expect(actions.locator(".field-error")).to_have_text(
        "Give a reason: it is kept in the run's history."
    )
    page.keyboard.press("Escape")  # closes the form, focus back on its button
    expect(actions.get_by_role("button", name="Reject…")).to_be_focused()
    page.keyboard.press("Enter")
    page.keyboard.type("Wrong milestone")
    page.keyboard.press("Tab")  # to "Reject plan"
    page.keyboard.press("Enter")
    expect(page.locator(".run-title .run-state")).to_have_text("Rejected")
    expect(page.locator(".run-reason")).to_have_text("Reason: Wrong milestone")
    expect(actions).to_contain_text("Rejected. Nothing more can happen to this run.")
    expect(page.locator(".live-status")).to_have_text(
        "This run is final: the page no longer refreshes."
    )
    expect(page.locator('.run-timeline .event[data-type="run.rejected"]')).to_contain_text(
        "Plan rejected: Wrong milestone."
    )
    _, stored = server.api("GET", f"/api/runs/{run['run_id']}")
    assert (stored["state"], stored["state_reason"]) == ("rejected", "Wrong milestone")


def test_cancel_an_approved_run(ui, server):
    run = _plan(server, "Review the open pull requests")
    status, _ = server.api("POST", f"/api/runs/{run['run_id']}/approve", {})
    assert status == 200
    page = open_route(ui, server, f"#/runs/{run['run_id']}")
    expect(page.locator(".run-title .run-state")).to_have_text("Approved")
    actions = page.locator(".run-actions")
    expect(actions.get_by_role("button")).to_have_text(["Cancel run…"])
    actions.get_by_role("button", name="Cancel run…").click()
    actions.get_by_label("Reason for cancelling (optional)").fill("Not needed any more")
    actions.get_by_role("button", name="Yes, cancel run").click()
    expect(page.locator(".run-title .run-state")).to_have_text("Cancelled")
    expect(page.locator(".run-actions .action-message")).to_have_text("Run cancelled.")
    expect(page.locator(".run-reason")).to_have_text("Reason: Not needed any more")
    types = page.locator(".run-timeline .event").evaluate_all(
        "nodes => nodes.map(n => n.dataset.type)"
    )
    assert types[-2:] == ["run.approved", "run.cancelled"]


def test_runs_list_filters_pages_and_updates_live(ui, server):
    for index in range(50):
        _plan(server, f"Batch plan {index:02d}")
    _, listing = server.api("GET", "/api/runs?limit=200")
    total = len(listing["items"])
    assert total == 53  # the three plans of the tests above, and these fifty
    page = open_route(ui, server, "#/runs")
    rows = page.locator("table.runs-table tbody tr")
    expect(rows).to_have_count(50)
    expect(page.locator(".list-status")).to_have_text("Showing 50 runs, newest first.")
    newest = rows.first
    expect(newest.locator(".run-link")).to_have_text("Batch plan 49")
    expect(newest.locator(".run-state")).to_have_text("Draft")
    expect(newest.locator(".run-repo")).to_have_text(REPO)
    page.get_by_role("button", name="Load more").click()
    expect(rows).to_have_count(total)
    expect(page.get_by_role("button", name="Load more")).to_be_hidden()
    expect(rows.last.locator(".run-link")).to_have_text(GOAL)
    expect(rows.last.locator(".run-state")).to_have_text("Completed")
    _shot(page, "05-runs-list")

    # A run that changes state elsewhere is updated in place, without a reload.
    newest_id = newest.get_attribute("data-run-id")
    server.api("POST", f"/api/runs/{newest_id}/approve", {})
    expect(newest.locator(".run-state")).to_have_text("Approved")
    expect(rows).to_have_count(total)

    page.get_by_label("State").select_option(label="Rejected")
    expect(rows).to_have_count(1)
    expect(rows.first.locator(".run-link")).to_have_text("Draft release notes for 2.0")
    page.get_by_label("State").select_option(label="Completed")
    expect(rows).to_have_count(1)
    page.get_by_label("State").select_option(label="Waiting for you")
    expect(rows).to_have_count(0)
    expect(page.locator(".list-status")).to_have_text(
        "No runs match these filters. Create one with “New plan”."
    )
    page.get_by_label("State").select_option(label="All states")
    page.get_by_label("Repo").select_option(label=REPO)
    expect(rows).to_have_count(50)

    # Keyboard: the goal is a link; Enter opens the run.
    rows.first.locator(".run-link").focus()
    page.keyboard.press("Enter")
    expect(page.locator("main h1")).to_have_text("Batch plan 49")
    expect(page.locator(".run-title .run-state")).to_have_text("Approved")


def test_run_page_on_a_narrow_window_and_an_unknown_run(ui, server):
    ui.allow_console_error("status of 404")
    page = ui.page
    page.set_viewport_size({"width": 390, "height": 844})
    open_route(ui, server, f"#/runs/{_run_by_goal(server, GOAL)}")
    expect(page.locator(".run-title .run-state")).to_have_text("Completed")
    expect(page.locator("table.artifacts tbody tr")).to_have_count(2)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    _shot(page, "06-run-narrow")
    open_route(ui, server, "#/runs/run-does-not-exist")
    expect(page.locator("main h1")).to_have_text("Run not found")
    expect(page.locator("main [role=alert]")).to_contain_text("No run run-does-not-exist here")


def test_cancel_while_waiting_on_an_interrupt(ui, server):
    run_id = _plan(server, "Draft a plan for issue 5")["run_id"]
    server.api("POST", f"/api/runs/{run_id}/approve", {})
    se.start(server.settings, run_id)
    se.raise_interrupt(server.settings, run_id, kind="question", risk="low", payload={"q": "?"})
    page = open_route(ui, server, f"#/runs/{run_id}")
    badge = page.locator(".run-title .run-state")
    expect(badge).to_have_text("Waiting for you")
    card = page.locator(".interrupt")
    expect(card.get_by_role("button")).to_have_text(["Approve", "Reject", "Edit…"])
    actions = page.locator(".run-actions")
    actions.get_by_role("button", name="Cancel run…").click()
    actions.get_by_role("button", name="Yes, cancel run").click()  # the reason is optional
    expect(badge).to_have_text("Cancelled")
    expect(card).to_contain_text("Never decided: the run ended first.")
    expect(card.get_by_role("button")).to_have_count(0)
    expect(page.locator(".run-reason")).to_be_hidden()
    _, run = server.api("GET", f"/api/runs/{run_id}")
    assert (run["state"], run["state_reason"]) == ("cancelled", None)
