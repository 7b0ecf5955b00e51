"""Git hook files and commit-message text: pure functions, no I/O.

A coder hook is a POSIX sh script marked by its second line (``MARKER``) that holds
its own settings (``SETTINGS``, one JSON line), so `coder hook status` can show them
and the hook runs without reading any config. The script runs a chained previous
hook first (its status, when it fails, is the hook's), then the hidden
`coder hook run` supervisor with the absolute interpreter path recorded at install.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import asdict, dataclass

HOOK_NAMES = ("prepare-commit-msg", "pre-commit", "post-index-change")
MARKER = "# coder-hook:"
SETTINGS = "# coder-settings:"
PREVIOUS_SUFFIX = ".coder-previous"
DEFAULT_TIMEOUT = 20.0
SERVER_FILE = "server.json"  # the record a running `coder serve` leaves in $CODER_HOME (engine/server_record.py)

# The supervisor's "stop the commit" status. The script turns it into exit 1; any other
# non-zero status means the supervisor itself failed (no coder_cli in that interpreter, a
# bug), and the commit goes on with a note.
BLOCK_STATUS = 99

# prepare-commit-msg's SOURCE values that already carry a message: merge, squash,
# amend / -c / -C ("commit"), -m / -F ("message").
SKIP_SOURCES = frozenset({"merge", "squash", "commit", "message"})

# A hook that finds its work by its own name stops working once renamed to NAME.coder-previous:
# husky's `. "$(dirname "$0")/h"` shims (the sourced file reads $0), overcommit's File.basename($0),
# `case "$(basename "$0")"` dispatchers. `dirname "$0"` alone is safe: the folder stays the same.
_SOURCES_BESIDE = re.compile(r'^\s*(?:\.|source)\s+"?\$\(\s*dirname\s+(?:--\s+)?"?\$(?:0|\{0\})"?\s*\)', re.MULTILINE)
_DIRNAME_0 = re.compile(r'dirname\s+(?:--\s+)?"?\$(?:0|\{0\})"?')
_OWN_NAME = re.compile(r"\$0|\$\{0|\bbasename\b|\bargv\[0\]")

# What git may pick for core.commentChar=auto.
_AUTO_COMMENT_CHARS = "#;@!$%^&|:"
_SCISSORS = "------------------------ >8 ------------------------"


@dataclass(frozen=True)
class HookSettings:
    timeout: float = DEFAULT_TIMEOUT
    conventional: bool = False  # prepare-commit-msg and post-index-change: `commit-msg --conventional`
    strict: bool = False  # pre-commit: block when the review finds an error

    def describe(self, name: str) -> str:
        """The settings that matter for hook NAME, for people: "timeout 20 s, conventional"."""
        parts = [f"timeout {self.timeout:g} s"]
        if name in ("prepare-commit-msg", "post-index-change") and self.conventional:
            parts.append("conventional")
        if name == "post-index-change":
            parts.append("pre-reads the staged diff into a running coder serve")
        if name == "pre-commit":
            parts.append("strict: blocks on an error finding" if self.strict else "advisory: never blocks")
        return ", ".join(parts)

    def run_options(self, name: str) -> list[str]:
        """The `coder hook run NAME` options that carry these settings."""
        opts = ["--timeout", f"{self.timeout:g}"]
        if name in ("prepare-commit-msg", "post-index-change") and self.conventional:
            opts.append("--conventional")
        if name == "pre-commit" and self.strict:
            opts.append("--strict")
        return opts


def run_line(name: str, settings: HookSettings, python: str) -> str:
    """The shell line that runs hook NAME's supervisor: what our hook runs, and what a hook manager's hook can."""
    # PYTHONSAFEPATH: git runs hooks in the work tree, and `-m` would import a `coder_cli` folder
    # there (a checkout of coder itself) before the installed one; the children inherit it.
    py = shlex.quote(python)
    return " ".join(["PYTHONSAFEPATH=1", py, "-m", "coder_cli", "hook", "run", name, *settings.run_options(name), '-- "$@"'])


def manager_lines(name: str, settings: HookSettings, python: str, server_record: str | None = None) -> str:
    """What to add to a hook manager's NAME hook (husky's .husky/NAME): the run line; for
    post-index-change, inside a subshell with the server gate first (its `exit 0` leaves only the
    subshell, so the rest of the manager's hook still runs), so `git add` starts no Python when no
    server can be there."""
    run = run_line(name, settings, python)
    if name != "post-index-change":
        return run
    return f"(\n{server_gate(server_record)}{run}\n)"


def own_name_use(text: str) -> str | None:
    """Why the hook file TEXT would stop working under another name (None: nothing says it would).

    It does when it reads its own name ($0, ${0…}, basename, argv[0]) or sources a file beside it
    (husky's `. "$(dirname "$0")/h"`), which then reads the name.
    """
    if _SOURCES_BESIDE.search(text):
        return "it sources a file beside it, which reads the hook's name from $0"
    if _OWN_NAME.search(_DIRNAME_0.sub("", text)):
        return "it reads its own name ($0 or basename)"
    return None


def server_gate(server_record: str | None) -> str:
    """Shell lines that end post-index-change at once when no `coder serve` can be there to pre-read into.

    git runs the hook at every index write (`git status` refreshing stat data too): starting Python
    costs over 100 ms each time, the shell test a few. The lines decide what `find_server` would, as
    far as sh can without starting anything: CODER_SERVER off (or empty) means never; CODER_SERVER set
    to anything else is for Python to ask; otherwise the server record in $CODER_HOME, or in
    SERVER_RECORD (the default folder's, resolved at install) when CODER_HOME is unset, must exist.
    A CODER_HOME starting with ~ is left to Python, which expands it.
    """
    default = (
        f"""elif [ ! -f {shlex.quote(server_record)} ]; then
    exit 0
"""
        if server_record
        else ""
    )
    return f"""# No `coder serve` to pre-read into: done before Python starts (git runs this at every index write).
if [ -n "${{CODER_SERVER+set}}" ]; then
    case "$CODER_SERVER" in
        ""|0|[Oo][Ff][Ff]|[Nn][Oo]|[Nn][Oo][Nn][Ee]|[Ff][Aa][Ll][Ss][Ee]) exit 0 ;;
    esac
elif [ -n "${{CODER_HOME-}}" ]; then
    case "$CODER_HOME" in
        "~"*) ;;
        *) [ -f "$CODER_HOME/{SERVER_FILE}" ] || exit 0 ;;
    esac
{default}fi
"""


def render_script(name: str, settings: HookSettings, python: str, server_record: str | None = None) -> str:
    """The hook file for NAME: a POSIX sh script running PYTHON -m coder_cli hook run NAME.

    SERVER_RECORD: for post-index-change, the `coder serve` record of the default CODER_HOME; the
    hook ends in sh, without Python, when there is no record (see `server_gate`).
    """
    py = shlex.quote(python)
    run = run_line(name, settings, python)
    gate = server_gate(server_record) if name == "post-index-change" else ""
    return f"""#!/bin/sh
{MARKER} {name} (written by `coder hook install`; `coder hook uninstall` removes it)
{SETTINGS} {json.dumps({**asdict(settings), "python": python}, sort_keys=True)}
# A commit is never blocked by coder failing: any failure here is a one-line note.
previous="$(dirname "$0")/{name}{PREVIOUS_SUFFIX}"
if [ -x "$previous" ]; then
    "$previous" "$@" || exit $?
fi
{gate}if [ ! -x {py} ]; then
    echo "coder: {name} skipped: "{py}" is gone (run \\`coder hook install\\` again)" >&2
    exit 0
fi
{run}
status=$?
if [ "$status" -eq {BLOCK_STATUS} ]; then
    exit 1
fi
if [ "$status" -ne 0 ]; then
    echo "coder: {name} skipped: "{py}" -m coder_cli could not run (exit $status)" >&2
fi
exit 0
"""


def is_ours(text: str) -> bool:
    """True when TEXT (a hook file) was written by `coder hook install`."""
    return any(line.startswith(MARKER) for line in text.splitlines()[:3])


def _settings_line(text: str) -> dict:
    """The JSON object on one of our hook files' settings line ({} when missing or broken)."""
    for line in text.splitlines()[:5]:
        if line.startswith(SETTINGS):
            try:
                data = json.loads(line[len(SETTINGS) :])
            except ValueError:
                return {}
            return data if isinstance(data, dict) else {}
    return {}


def parse_settings(text: str) -> HookSettings | None:
    """The settings recorded in one of our hook files; None when TEXT is not ours."""
    if not is_ours(text):
        return None
    data = _settings_line(text)
    try:
        return HookSettings(float(data["timeout"]), bool(data["conventional"]), bool(data["strict"]))
    except (ValueError, KeyError, TypeError):
        return HookSettings()


def recorded_python(text: str) -> str | None:
    """The interpreter one of our hook files runs (None: not ours, or not recorded)."""
    python = _settings_line(text).get("python") if is_ours(text) else None
    return python if isinstance(python, str) else None


def comment_chars(setting: str | None) -> str:
    """The characters that start a comment line, from core.commentChar (None: unset)."""
    if not setting:
        return "#"
    if setting == "auto":
        return _AUTO_COMMENT_CHARS
    return setting[0]


def has_message(text: str, comments: str = "#") -> bool:
    """True when the commit message file TEXT holds anything but blank and comment lines.

    Everything below a scissors line (`git commit -v` puts the diff there) is ignored.
    """
    for line in text.splitlines():
        if line[:1] in comments and line[1:].strip() == _SCISSORS:
            return False
        if line.strip() and line[:1] not in comments:
            return True
    return False


def with_message(message: str, existing: str) -> str:
    """MESSAGE at the top of the message file, git's comment lines (EXISTING) kept below."""
    body = message.strip("\n")
    rest = existing.lstrip("\n")
    return f"{body}\n\n{rest}" if rest else f"{body}\n"
