"""Turn query strings and JSON bodies into checked values, or raise a problem.

Every check an input needs lives here, so handlers stay thin and each rule is
tested on its own. Failures are `ApiProblem`s: 400 for a body that is not
JSON (or JSON the services cannot keep: see `unkeepable`), 413 for one
over `MAX_BODY_BYTES`, 415 for a body that is not labelled JSON, 422 naming the
field for a value out of range or of the wrong type.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

from pmbot.control_plane.api.problems import ApiProblem, invalid_field
from pmbot.control_plane.audit.events import EVENT_TYPES
from pmbot.control_plane.cache.browse import ListQuery, SearchQuery
from pmbot.control_plane.registry import InvalidClosedWindow, parse_closed_days

MAX_BODY_BYTES = 1 << 20
MAX_JSON_DEPTH = 64
MAX_ID = (1 << 63) - 1
MAX_TEXT = 256
MAX_SEARCH_TEXT = 500
STATES = ("open", "closed", "all")
SORTS = ("updated", "created", "number")
_FLAGS = {"1": True, "0": False}


def query_params(query_string: str) -> dict[str, str]:
    """Decode a query string as UTF-8 (bad bytes replaced, never a 500); the last value wins."""
    return dict(parse_qsl(query_string, keep_blank_values=True, errors="replace"))


def parse_int(params: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = params.get(name)
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 19 or not low <= int(raw) <= high:
        raise invalid_field(name, f"{name} must be a whole number from {low} to {high}")
    return int(raw)


def parse_optional_id(params: Mapping[str, str], name: str) -> int | None:
    return None if name not in params else parse_int(params, name, 0, 1, MAX_ID)


def parse_choice(params: Mapping[str, str], name: str, choices: tuple[str, ...], default: str):
    value = params.get(name, default)
    if value not in choices:
        raise invalid_field(name, f"{name} must be one of {', '.join(choices)}")
    return value


def parse_flag(params: Mapping[str, str], name: str) -> bool:
    value = params.get(name, "0")
    if value not in _FLAGS:
        raise invalid_field(name, f"{name} must be 1 or 0")
    return _FLAGS[value]


def parse_text(params: Mapping[str, str], name: str, max_length: int = MAX_TEXT) -> str | None:
    """Optional free text: control characters anywhere are refused; blank means absent.

    Only spaces are trimmed, so the OpenAPI pattern (`TEXT_PATTERN`) says exactly
    what passes.
    """
    raw = params.get(name, "")
    if len(raw) > max_length or any(ord(c) < 32 or c == "\x7f" for c in raw):
        raise invalid_field(name, f"{name} must be at most {max_length} printable characters")
    return raw.strip(" ") or None


def encode_cursor(values: Mapping[str, Any]) -> str:
    """An opaque page cursor: URL-safe base64 of compact JSON."""
    raw = json.dumps(values, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(text: str, name: str = "cursor") -> dict[str, Any]:
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        values = json.loads(raw)
    except (binascii.Error, ValueError, RecursionError):
        values = None
    if not isinstance(values, dict) or unkeepable(values) is not None:
        raise invalid_field(name, f"{name} is not a cursor this server gave out")
    return values


def parse_list_query(params: Mapping[str, str]) -> ListQuery:
    """`state`, `sort`, `limit`, `label`, `q`, `include_gone`, `full`, `cursor` of a cache list."""
    sort = parse_choice(params, "sort", SORTS, "updated")
    return ListQuery(
        state=parse_choice(params, "state", STATES, "open"),
        sort=sort,
        limit=parse_int(params, "limit", 50, 1, 500),
        label=parse_text(params, "label"),
        text=parse_text(params, "q", MAX_SEARCH_TEXT),
        include_gone=parse_flag(params, "include_gone"),
        full=parse_flag(params, "full"),
        after=_list_cursor(params.get("cursor"), sort),
    )


def _list_cursor(text: str | None, sort: str) -> tuple | None:
    if not text:
        return None
    values = decode_cursor(text)
    after = values.get("after")
    width = 1 if sort == "number" else 2
    shape_ok = isinstance(after, list) and len(after) == width
    if not shape_ok or values.get("sort") != sort or not _keyset_types_ok(after):
        raise invalid_field("cursor", "cursor does not belong to this list and sort")
    return tuple(after)


def _keyset_types_ok(after: list) -> bool:
    *key, number = after
    number_ok = isinstance(number, int) and not isinstance(number, bool) and 0 <= number <= MAX_ID
    return number_ok and all(isinstance(k, str) and len(k) <= 64 for k in key)


def list_cursor(sort: str, after: tuple | None) -> str | None:
    return None if after is None else encode_cursor({"sort": sort, "after": list(after)})


MAX_SEARCH_OFFSET = 10_000


def parse_search_query(params: Mapping[str, str]) -> SearchQuery:
    text = parse_text(params, "q", MAX_SEARCH_TEXT)
    if text is None:
        raise invalid_field("q", "q is required: the words to search for")
    state = parse_choice(params, "state", STATES, "all")
    return SearchQuery(
        text=text,
        repo_id=parse_optional_id(params, "repo_id"),
        state=None if state == "all" else state,
        limit=parse_int(params, "limit", 20, 1, 100),
        offset=_search_offset(params.get("cursor")),
    )


def _search_offset(text: str | None) -> int:
    """A search page cursor holds the offset of the next result (ranked results have
    no stable key to seek by)."""
    if not text:
        return 0
    offset = decode_cursor(text).get("offset")
    if type(offset) is not int or not 0 < offset <= MAX_SEARCH_OFFSET:
        raise invalid_field("cursor", "cursor is not a cursor this server gave out")
    return offset


def search_cursor(query: SearchQuery, returned: int, total: int, capped: bool) -> str | None:
    """The next page's cursor, or None after the last result."""
    offset = query.offset + returned
    more = returned == query.limit and (capped or offset < total)
    return encode_cursor({"offset": offset}) if more and offset <= MAX_SEARCH_OFFSET else None


def parse_audit_query(params: Mapping[str, str]) -> dict[str, Any]:
    """Filters and position of an audit page: newest first, or ascending after a seq."""
    event_type = params.get("type")
    if event_type is not None and event_type not in EVENT_TYPES:
        raise invalid_field("type", f"type must be one of {', '.join(EVENT_TYPES)}")
    query = {
        "limit": parse_int(params, "limit", 50, 1, 500),
        "repo_id": parse_optional_id(params, "repo_id"),
        "type": event_type,
        "before_seq": None,
        "after_seq": None,
    }
    if "after_seq" in params:
        query["after_seq"] = parse_int(params, "after_seq", 0, 0, MAX_ID)
    if params.get("cursor"):
        query.update(_audit_cursor(params["cursor"]))
    return query


def _audit_cursor(text: str) -> dict[str, int | None]:
    values = decode_cursor(text)
    position = {"before_seq": values.get("before"), "after_seq": values.get("after")}
    given = [v for v in position.values() if v is not None]
    if len(given) != 1 or not isinstance(given[0], int) or not 0 <= given[0] <= MAX_ID:
        raise invalid_field("cursor", "cursor is not a cursor this server gave out")
    return position


def parse_head(params: Mapping[str, str]) -> tuple[int, str] | None:
    """`head=SEQ:HASH`, an anchor kept outside the DB, for verify."""
    raw = params.get("head")
    if raw is None:
        return None
    seq, _, digest = raw.partition(":")
    valid_hash = len(digest) == 64 and all(c in "0123456789abcdef" for c in digest)
    if not (seq.isascii() and seq.isdigit() and len(seq) <= 19 and valid_hash):
        raise invalid_field("head", "head must be SEQ:HASH (a number and 64 hex digits)")
    return int(seq), digest


def parse_org(params: Mapping[str, str]) -> str | None:
    org = params.get("org", "")
    if org and (len(org) > 39 or not all(c.isascii() and (c.isalnum() or c == "-") for c in org)):
        raise invalid_field("org", "org must be a GitHub login: letters, digits and '-'")
    return org or None


def read_json_body(environ: Mapping[str, Any]) -> dict[str, Any]:
    """The request body as a JSON object, read with a size limit."""
    content_type = environ.get("CONTENT_TYPE", "")
    if not is_json_type(content_type):
        raise ApiProblem(415, "unsupported_media_type", "send the body as application/json")
    raw = read_body(environ)
    try:
        body = json.loads(raw, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        raise ApiProblem(400, "malformed_json", "the body is not valid JSON") from exc
    reason = unkeepable(body)
    if reason is not None:
        raise ApiProblem(400, "malformed_json", f"the body {reason}")
    if not isinstance(body, dict):
        raise ApiProblem(422, "invalid_body", "the body must be a JSON object")
    return body


def unkeepable(value: Any) -> str | None:
    """Why parsed JSON cannot be kept or sent back, or None when it can.

    Nesting deeper than MAX_JSON_DEPTH (copies, audit payloads and the hash are recursive),
    a string with an unpaired UTF-16 surrogate (`"\\ud800"`: SQLite and UTF-8 refuse it) and
    a number too large for a float (`1e400` reads as infinity, which JSON cannot spell).
    """
    stack = [(value, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, (dict, list)):
            if depth > MAX_JSON_DEPTH:
                return f"nests deeper than {MAX_JSON_DEPTH} levels"
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, item in items:
                stack += [(key, depth), (item, depth + 1)]
        elif isinstance(value, str) and not _encodes(value):
            return "holds a string with an unpaired UTF-16 surrogate"
        elif isinstance(value, float) and not math.isfinite(value):
            return "holds a number too large for a float"
    return None


def _encodes(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def is_json_type(content_type: str) -> bool:
    return content_type.split(";", 1)[0].strip().lower() == "application/json"


def has_body(environ: Mapping[str, Any]) -> bool:
    length = environ.get("CONTENT_LENGTH", "")
    chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
    return chunked or (length.strip() not in ("", "0"))


def read_body(environ: Mapping[str, Any]) -> bytes:
    """Read at most MAX_BODY_BYTES (413 beyond): checks Content-Length, then the read."""
    declared = environ.get("CONTENT_LENGTH", "").strip()
    if declared and not declared.isdigit():
        raise ApiProblem(400, "bad_content_length", "Content-Length is not a number")
    if declared and int(declared) > MAX_BODY_BYTES:
        raise _too_large()
    stream = environ["wsgi.input"]
    if declared:
        data = stream.read(int(declared))
    elif environ.get("wsgi.input_terminated"):
        data = stream.read(MAX_BODY_BYTES + 1)
    else:
        data = b""
    if len(data) > MAX_BODY_BYTES:
        raise _too_large()
    return data


def _too_large() -> ApiProblem:
    return ApiProblem(413, "body_too_large", f"the body is over {MAX_BODY_BYTES} bytes")


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def _integral(value: Any) -> Any:
    """A JSON number with no fraction (`7.0`) is an integer, as JSON Schema counts them."""
    if isinstance(value, float) and value.is_integer() and abs(value) <= MAX_ID:
        return int(value)
    return value


def parse_new_repo(body: Mapping[str, Any]) -> tuple[object, str | None]:
    """`{full_name, default_branch?}`; the name's syntax is the registry's check."""
    if "full_name" not in body:
        raise invalid_field("full_name", "full_name is required, like 'owner/name'")
    branch = body.get("default_branch")
    if branch is not None and (not isinstance(branch, str) or not 0 < len(branch) <= 255):
        raise invalid_field("default_branch", "default_branch must be a branch name")
    return body["full_name"], branch


def parse_mirror_toggle(body: Mapping[str, Any]) -> bool:
    """`{"enabled": true|false}`: the repo's own mirror choice."""
    enabled = body.get("enabled")
    if not isinstance(enabled, bool):
        raise invalid_field("enabled", "enabled must be true or false")
    return enabled


def parse_closed_window(body: Mapping[str, Any]) -> int:
    """`{"days": N}`: the repo's closed-items window, whole days from 0 to MAX_CLOSED_DAYS."""
    for name in body:
        if name != "days":
            raise invalid_field(str(name)[:100], f"unknown field {str(name)[:100]!r}: send days")
    if "days" not in body:
        raise invalid_field("days", "days is required: how many days back closed items are kept")
    try:
        return parse_closed_days(body["days"])
    except InvalidClosedWindow as error:
        raise invalid_field("days", str(error)) from error


def parse_reset(body: Mapping[str, Any]) -> list[int] | None:
    """`{"confirm": "reset", "repo_id": N}` or `{"confirm": "reset", "all": true}`.

    Returns the repos to reset, or None for all. A destructive call is never
    widened by a null or a missing field: "all repos" must be said with `all`.
    """
    if body.get("confirm") != "reset":
        raise invalid_field("confirm", 'confirm must be the word "reset"')
    everything = body.get("all", False)
    if not isinstance(everything, bool):
        raise invalid_field("all", "all must be true or false")
    repo_id = _integral(body.get("repo_id"))
    if everything:
        if "repo_id" in body:
            raise invalid_field("repo_id", "give repo_id or all: true, not both")
        return None
    if isinstance(repo_id, bool) or not isinstance(repo_id, int) or not 1 <= repo_id <= MAX_ID:
        raise invalid_field(
            "repo_id", 'repo_id must be a repo id (a positive whole number), or send "all": true'
        )
    return [repo_id]
