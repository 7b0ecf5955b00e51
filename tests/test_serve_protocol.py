"""`coder serve`'s request parsing as pure functions: every field, every refusal, no socket."""

from __future__ import annotations

import pytest

from coder_cli.actions.serve.protocol import (
    MAX_BODY,
    body_length,
    hostname,
    json_body,
    messages_from,
    origin_allowed,
    params_from,
    probe_map,
    stream_flags,
    token_list,
)
from coder_cli.errors import UsageError


def test_params_defaults_and_fields():
    p = params_from({})
    assert (p.max_tokens, p.temperature, p.top_p, p.top_k, p.seed, p.stop) == (1024, 0.0, 0.8, 20, 0, ())
    p = params_from({"max_tokens": 7, "temperature": 0.5, "stop": "\n\n", "seed": 3}, default_max=16)
    assert (p.max_tokens, p.temperature, p.stop, p.seed) == (7, 0.5, ("\n\n",), 3)
    assert params_from({"seed": -1}).seed == -1  # llama.cpp's server's default: a random seed
    assert params_from({"max_completion_tokens": 9, "max_tokens": 99}).max_tokens == 9  # the newer name wins
    assert params_from({}, default_max=16).max_tokens == 16


@pytest.mark.parametrize(
    "body, message",
    [
        ({"temperature": "hot"}, "'temperature' must be a number"),
        ({"temperature": True}, "'temperature' must be a number"),
        ({"temperature": 3}, "'temperature' must be between 0.0 and 2.0"),
        ({"top_p": -0.1}, "'top_p' must be between 0.0 and 1.0"),
        ({"max_tokens": 0}, "'max_tokens' must be a whole number from 1"),
        ({"max_tokens": 2.5}, "'max_tokens' must be a whole number from 1"),
        ({"stop": ["a", 1]}, "'stop' must be a string or a list of strings"),
        # issue 16: NaN passed every range check and reached the engine; huge ints were taken whole
        ({"temperature": float("nan")}, "'temperature' must be a finite number"),
        ({"top_p": float("inf")}, "'top_p' must be a finite number"),
        ({"repeat_penalty": float("-inf")}, "'repeat_penalty' must be a finite number"),
        ({"repeat_penalty": 10**400}, "'repeat_penalty' must be a finite number"),
        ({"seed": 10**30}, "'seed' must be between -1 and 4294967295"),
        ({"seed": -2}, "'seed' must be between -1 and 4294967295"),
        ({"top_k": 10**30}, "'top_k' must be between 0 and 1000000"),
        # found by scripts/fuzz.py --serve: an int past a float's range raised OverflowError (a 500)
        ({"top_k": 10**400}, "'top_k' must be between 0 and 1000000"),
        ({"seed": -(10**400)}, "'seed' must be between -1 and 4294967295"),
    ],
)
def test_params_refusals(body, message):
    with pytest.raises(UsageError) as err:
        params_from(body)
    assert err.value.message == message


def test_messages_keep_text_parts_and_refuse_the_rest():
    body = {
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "image_url"}, {"type": "text", "text": "b"}]}
        ]
    }
    assert messages_from(body) == [{"role": "user", "content": "ab"}]
    for bad in (
        {},
        {"messages": []},
        {"messages": [{"role": "tool", "content": "x"}]},
        {"messages": [{"role": "user", "content": 3}]},
        {"messages": [{"role": "user", "content": [{"type": "text", "text": 5}]}]},  # was a TypeError: a 500
        {"messages": [{"role": "user", "content": [{"type": "text"}]}]},
    ):
        with pytest.raises(UsageError):
            messages_from(bad)


def test_token_lists_are_ints_only():
    assert token_list([1, 2, 3], "tokens", 10) == [1, 2, 3]
    for bad in (None, "1 2", [1, "2"], [True], [1.0]):
        with pytest.raises(UsageError, match="'tokens' must be a list of token ids"):
            token_list(bad, "tokens", 10)


def test_token_lists_stay_inside_the_vocabulary():
    assert token_list([0, 9], "tokens", 10) == [0, 9]
    for bad in ([10], [1, -1], [10**30]):
        with pytest.raises(UsageError, match="outside the vocabulary"):
            token_list(bad, "tokens", 10)


def test_probe_maps_name_positions_of_the_continuation_and_ids_in_the_vocabulary():
    assert probe_map(None, 3, 10) == {}
    assert probe_map({"0": [1, 2], "3": [9]}, 3, 10) == {0: [1, 2], 3: [9]}
    for bad in ([1], {"4": [1]}, {"-1": [1]}, {"x": [1]}, {"²": [1]}, {"0": [10]}, {"0": "1"}):
        with pytest.raises(UsageError):
            probe_map(bad, 3, 10)


@pytest.mark.parametrize(
    "value, name",
    [
        ("127.0.0.1:8080", "127.0.0.1"),
        ("localhost", "localhost"),
        ("[::1]:9", "::1"),
        ("http://LOCALHOST:5/x", "localhost"),
        ("https://evil.example", "evil.example"),
        ("::1", "::1"),
    ],
)
def test_hostname(value, name):
    assert hostname(value) == name


def test_body_length_and_json():
    assert body_length(None, None) == 0
    assert body_length("12", None) == 12
    assert MAX_BODY == 8 * 1024 * 1024  # a prompt cannot be bigger than the context anyway
    # "²" and "٣" are str.isdigit() but not int(): they were a 500
    for length, encoding in (("-1", None), ("1e3", None), (str(MAX_BODY + 1), None), ("5", "chunked"), ("²", None), ("٣", None)):
        with pytest.raises(UsageError):
            body_length(length, encoding)
    assert json_body(b'{"a": 1}') == {"a": 1}
    for bad in (b"[1]", b"{", b'"x"', b""):  # (b"": a body cut short; no body at all is the handler's {})
        with pytest.raises(UsageError):
            json_body(bad)


def test_stream_flags():
    assert stream_flags({}) == (False, False)
    assert stream_flags({"stream": True, "stream_options": {"include_usage": True}}) == (True, True)
    assert stream_flags({"stream": True, "stream_options": None}) == (True, False)
    for bad in ({"stream_options": [1]}, {"stream_options": "yes"}, {"stream": "no"}):  # [1] was an AttributeError
        with pytest.raises(UsageError):
            stream_flags(bad)


@pytest.mark.parametrize(
    "origin, allowed",
    [
        ("http://127.0.0.1:8741", True),
        ("http://localhost:8741", True),
        ("http://[::1]:8741", True),
        ("HTTP://LOCALHOST:8741", True),
        ("http://localhost:3000", False),  # another local page: was allowed (the port was ignored)
        ("http://localhost", False),
        ("https://localhost:8741", False),
        ("http://evil.example:8741", False),
        ("null", False),
        ("http://localhost:8741/x", False),
        ("http://localhost:99999999999", False),
    ],
)
def test_an_origin_must_be_this_server_exactly(origin, allowed):
    assert origin_allowed(origin, 8741) is allowed


@pytest.mark.parametrize(
    "rel, inside",
    [("src/a.py", True), (".git/config", False), (".GIT/config", False), (".Git/hooks/x", False),
     (".git./config", False), ("sub/.git/config", False), (".github/workflows/ci.yml", True), ("git/x", True)],
)  # fmt: skip
def test_coder_complete_never_reads_a_git_folder_whatever_its_case(tmp_path, rel, inside):
    """On a case-insensitive file system `.GIT/config` is `.git/config` (review of issue 16)."""
    from coder_cli.actions.complete_json import _inside

    assert _inside(tmp_path / rel, tmp_path) is inside
