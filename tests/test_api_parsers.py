"""The API's input parsers: every rule on its own, with the field it names."""

from __future__ import annotations

import io
import json

import pytest

from pmbot.control_plane.api import parsers as p
from pmbot.control_plane.api.problems import ApiProblem


def _fails(fn, *args) -> ApiProblem:
    with pytest.raises(ApiProblem) as caught:
        fn(*args)
    return caught.value


def test_query_params_decodes_utf8_and_replaces_bad_bytes():
    assert p.query_params("q=%C3%A9t%C3%A9&x=%FF&x=2") == {"q": "été", "x": "2"}
    assert p.query_params("q=%FF")["q"] == "\ufffd"


@pytest.mark.parametrize("raw", ["0", "501", "-1", "1.5", "abc", "١٢", "9" * 40, " 5"])
def test_parse_int_refuses_out_of_range_and_non_ascii_digits(raw):
    problem = _fails(p.parse_int, {"limit": raw}, "limit", 50, 1, 500)
    assert (problem.status, problem.field) == (422, "limit")


def test_parse_int_default_and_value():
    assert p.parse_int({}, "limit", 50, 1, 500) == 50
    assert p.parse_int({"limit": "500"}, "limit", 50, 1, 500) == 500


def test_parse_list_query_defaults():
    query = p.parse_list_query({})
    assert (query.state, query.sort, query.limit, query.after) == ("open", "updated", 50, None)
    assert not query.full and not query.include_gone and query.label is None


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"state": "merged"}, "state"),
        ({"sort": "comments"}, "sort"),
        ({"full": "yes"}, "full"),
        ({"label": "x" * 300}, "label"),
        ({"label": "a\x00b"}, "label"),
        ({"cursor": "not-a-cursor!"}, "cursor"),
    ],
)
def test_parse_list_query_names_the_bad_field(params, field):
    assert _fails(p.parse_list_query, params).field == field


def test_list_cursor_round_trips_and_is_bound_to_its_sort():
    cursor = p.list_cursor("updated", ("2026-01-01T00:00:00Z", 7))
    assert p.parse_list_query({"cursor": cursor}).after == ("2026-01-01T00:00:00Z", 7)
    assert _fails(p.parse_list_query, {"cursor": cursor, "sort": "number"}).field == "cursor"


@pytest.mark.parametrize(
    "after", [["x"], ["a", "b"], ["a", True], ["a", -1], [1, 2], ["a", 2**70], "nope"]
)
def test_list_cursor_with_wrong_shapes_is_refused(after):
    crafted = p.encode_cursor({"sort": "updated", "after": after})
    assert _fails(p.parse_list_query, {"cursor": crafted}).field == "cursor"


def test_search_query_requires_words():
    assert _fails(p.parse_search_query, {"q": "   "}).field == "q"
    query = p.parse_search_query({"q": " bug  fix ", "state": "open", "repo_id": "3"})
    assert (query.text, query.state, query.repo_id, query.limit) == ("bug  fix", "open", 3, 20)


def test_audit_query_cursor_and_type():
    assert _fails(p.parse_audit_query, {"type": "repo.exploded"}).field == "type"
    query = p.parse_audit_query({"cursor": p.encode_cursor({"before": 10})})
    assert (query["before_seq"], query["after_seq"]) == (10, None)
    bad = p.encode_cursor({"before": 1, "after": 2})
    assert _fails(p.parse_audit_query, {"cursor": bad}).field == "cursor"


def test_parse_head():
    assert p.parse_head({"head": "3:" + "a" * 64}) == (3, "a" * 64)
    assert _fails(p.parse_head, {"head": "3:xyz"}).field == "head"


def _environ(body: bytes, content_type: str = "application/json", length: str | None = None):
    return {
        "CONTENT_TYPE": content_type,
        "CONTENT_LENGTH": str(len(body)) if length is None else length,
        "wsgi.input": io.BytesIO(body),
    }


def test_read_json_body_accepts_an_object_with_charset():
    environ = _environ(b'{"a": 1}', "application/json; charset=utf-8")
    assert p.read_json_body(environ) == {"a": 1}


def test_read_json_body_accepts_surrogate_pairs_big_numbers_and_the_deepest_nesting():
    deepest = b'{"a": ' * p.MAX_JSON_DEPTH + b"1" + b"}" * p.MAX_JSON_DEPTH
    assert p.read_json_body(_environ(deepest)) == json.loads(deepest)
    assert p.read_json_body(_environ(b'{"a": "\\ud83d\\ude00", "b": 1e308}')) == {
        "a": "\U0001f600",
        "b": 1e308,
    }


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        (b'{"a": 1}', "text/plain", 415),
        (b'{"a": 1}', "", 415),
        (b"{not json", "application/json", 400),
        (b"", "application/json", 400),
        (b"[1, 2]", "application/json", 422),
        (b'{"a": NaN}', "application/json", 400),
        (b"[" * 100_000 + b"]" * 100_000, "application/json", 400),
        (b'{"a": ' + b"9" * 5000 + b"}", "application/json", 400),
        (b"\xff\xfe", "application/json", 400),
        (b'{"a": "\\ud800"}', "application/json", 400),
        (b'{"\\udc00": 1}', "application/json", 400),
        (b'{"a": [1e400]}', "application/json", 400),
        (b'{"a": ' * 65 + b"1" + b"}" * 65, "application/json", 400),
    ],
)
def test_read_json_body_rejections(body, content_type, status):
    assert _fails(p.read_json_body, _environ(body, content_type)).status == status


def test_read_body_checks_declared_length_and_the_actual_read():
    big = b"x" * (p.MAX_BODY_BYTES + 1)
    assert _fails(p.read_body, _environ(big)).status == 413
    lying = {"CONTENT_LENGTH": "", "wsgi.input": io.BytesIO(big), "wsgi.input_terminated": True}
    assert _fails(p.read_body, lying).status == 413
    assert _fails(p.read_body, _environ(b"{}", length="12abc")).status == 400


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "full_name"),
        ({"full_name": "a/b", "default_branch": 5}, "default_branch"),
        ({"full_name": "a/b", "default_branch": ""}, "default_branch"),
    ],
)
def test_parse_new_repo(body, field):
    assert _fails(p.parse_new_repo, body).field == field


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "confirm"),
        ({"confirm": "RESET"}, "confirm"),
        ({"confirm": "reset", "repo_id": "1"}, "repo_id"),
        ({"confirm": "reset", "repo_id": True}, "repo_id"),
        ({"confirm": "reset", "repo_id": 0}, "repo_id"),
        ({"confirm": "reset", "repo_id": 2**64}, "repo_id"),
    ],
)
def test_parse_reset_rejections(body, field):
    assert _fails(p.parse_reset, body).field == field


def test_parse_reset_values():
    assert p.parse_reset({"confirm": "reset", "all": True}) is None
    assert p.parse_reset({"confirm": "reset", "repo_id": 4}) == [4]
    assert p.parse_reset({"confirm": "reset", "repo_id": 4, "all": False}) == [4]
    assert _fails(p.parse_reset, {"confirm": "reset"}).field == "repo_id"


@pytest.mark.parametrize("org", ["a/b", "x" * 40, "ac me", "../x"])
def test_parse_org_refuses_non_logins(org):
    assert _fails(p.parse_org, {"org": org}).field == "org"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"q": "a\rb"}, "q"),
        ({"q": "\tword"}, "q"),
        ({"label": "bug\x7f"}, "label"),
        ({"include_gone": "true"}, "include_gone"),
        ({"full": ""}, "full"),
    ],
)
def test_list_query_refuses_what_the_openapi_document_refuses(params, field):
    assert _fails(p.parse_list_query, params).field == field


def test_list_query_trims_spaces_only_and_blank_means_absent():
    assert p.parse_list_query({"q": "  two words "}).text == "two words"
    assert p.parse_list_query({"q": "   ", "label": ""}).text is None
    assert p.parse_list_query({"q": "\u00a0x"}).text == "\u00a0x"


@pytest.mark.parametrize(
    ("parse", "params", "field"),
    [
        (p.parse_search_query, {"q": "x", "repo_id": ""}, "repo_id"),
        (p.parse_audit_query, {"type": ""}, "type"),
        (p.parse_audit_query, {"after_seq": ""}, "after_seq"),
        (p.parse_head, {"head": ""}, "head"),
        (p.parse_org, {"org": " acme"}, "org"),
    ],
)
def test_an_empty_or_padded_value_is_not_read_as_absent(parse, params, field):
    assert _fails(parse, params).field == field
