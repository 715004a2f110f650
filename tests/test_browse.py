"""cache/browse.py: the cache's read side, its pure parts (lists and search run through the API
in test_api_cache.py)."""

from __future__ import annotations

from pmbot.control_plane.cache.browse import snippet_segments


def test_snippet_segments_split_marks_and_never_mix_markup():
    assert snippet_segments("a \x02hit\x03 b") == [
        {"text": "a ", "hit": False},
        {"text": "hit", "hit": True},
        {"text": " b", "hit": False},
    ]
    assert snippet_segments("") == []
