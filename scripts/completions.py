"""Write static shell completions for `coder` (bash, zsh, fish) from the Typer app's click tree.

Usage: .venv/bin/python scripts/completions.py [--check]

The scripts go to completions/coder.{bash,zsh,fish}; they are plain shell, so nothing starts Python on
Tab. Everything comes from the click tree of `typer.main.get_command(app)`: the visible subcommands
(nested) and their one-line help, every visible option (long and short, flag or value, --x/--no-x
pairs) and argument. A value completes, in this order, from the parameter's own completion
(click.Choice, click.Path, click.File, or an `autocompletion=` callback such as the model ids: it runs
here, once, and its words are embedded), from HELP_CHOICES for choices that only the help text names,
and from PATH_PARAMS or a help text that mentions a path for files. `--check` writes nothing and exits
1 naming the files that differ.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import click
import typer.main

OUT = Path(__file__).resolve().parent.parent / "completions"
REGENERATE = ".venv/bin/python scripts/completions.py"

# Options that take a plain string whose choices only the help text names: long name -> (value, description).
HELP_CHOICES: dict[str, tuple[tuple[str, str], ...]] = {
    "--kv-type": (("f16", "16-bit floats"), ("q8_0", "8-bit quantized"), ("q4_0", "4-bit quantized")),
    "--backend": (("local", "llama.cpp in this process, or a running coder serve"), ("openai", "the server at --base-url")),
    "--mode": (("auto", "from the code"), ("line", "finish the line"), ("block", "the body the cursor opens")),
}
# Plain-string parameters (by name) that hold file paths; click.Path and click.File parameters need no entry.
PATH_PARAMS = frozenset({"file", "files", "path", "paths", "target", "focus"})


@dataclass(frozen=True)
class Values:
    """What a value completes to: fixed words (each with a description, maybe empty), and files or dirs."""

    words: tuple[tuple[str, str], ...] = ()
    files: str = ""  # "", "file" or "dir"


@dataclass(frozen=True)
class Opt:
    names: tuple[str, ...]  # as declared, e.g. ("--model", "-m")
    help: str
    values: Values | None  # None: a flag
    multiple: bool = False
    excludes: tuple[str, ...] = ()  # names it cannot be given with (a --x/--no-x pair)
    final: bool = False  # --help, --version: nothing else follows


@dataclass(frozen=True)
class Arg:
    name: str
    variadic: bool
    values: Values


@dataclass(frozen=True)
class Node:
    path: tuple[str, ...]  # ("coder", "models", "pull")
    help: str
    options: tuple[Opt, ...]
    args: tuple[Arg, ...]
    children: tuple[Node, ...]

    @property
    def name(self) -> str:
        return " ".join(self.path)

    def walk(self):
        yield self
        for child in self.children:
            yield from child.walk()


def one_line(text: str | None) -> str:
    """The first sentence of a help text, on one line, without its final period."""
    para = re.split(r"\n\s*\n", (text or "").replace("\b", "").strip())[0]
    line = " ".join(para.split())
    first = re.match(r"(.+?\.)(\s+[A-Z]|$)", line)  # "e.g. http://" does not end a sentence
    return (first.group(1) if first else line).removesuffix(".")


def _values(param: click.Parameter, ctx: click.Context) -> Values:
    items = param.shell_complete(ctx, "")
    words = tuple((str(i.value), one_line(i.help)) for i in items if i.type == "plain")
    files = next((i.type for i in items if i.type in ("file", "dir")), "")
    if isinstance(param.type, click.Path):  # typer's TyperPath completes nothing itself
        files = "dir" if param.type.dir_okay and not param.type.file_okay else "file"
    longs = [n for n in param.opts if n.startswith("--")]
    if not words and longs and longs[0] in HELP_CHOICES:
        words = HELP_CHOICES[longs[0]]
    if not files and (param.name in PATH_PARAMS or re.search(r"\bpath\b", getattr(param, "help", None) or "", re.I)):
        files = "file"
    return Values(words, files)


def _options(param: click.Option, ctx: click.Context) -> list[Opt]:
    helptext = one_line(param.help)
    if not (param.is_flag or param.count):
        return [Opt(tuple(param.opts), helptext, _values(param, ctx), multiple=param.multiple)]
    if not param.secondary_opts:
        return [Opt(tuple(param.opts), helptext, None, multiple=bool(param.count), final=param.is_eager and not param.count)]
    pair = (*param.opts, *param.secondary_opts)
    return [
        Opt(tuple(param.opts), helptext, None, excludes=pair),
        Opt(tuple(param.secondary_opts), f"Opposite of {param.opts[0]}", None, excludes=pair),
    ]


def build(cmd: click.Command, name: str, parent: click.Context | None = None, path: tuple[str, ...] = ()) -> Node:
    """The completion tree of a click command: visible subcommands (sorted), options, arguments."""
    ctx = cmd.context_class(cmd, info_name=name, parent=parent, **cmd.context_settings)
    options: list[Opt] = []
    args: list[Arg] = []
    for param in cmd.get_params(ctx):
        if isinstance(param, click.Option) and not param.hidden:
            options.extend(_options(param, ctx))
        elif isinstance(param, click.Argument) and not getattr(param, "hidden", False):
            args.append(Arg(param.name or "arg", param.nargs == -1, _values(param, ctx)))
    children = []
    if isinstance(cmd, click.Group):
        for sub in sorted(cmd.list_commands(ctx)):
            child = cmd.get_command(ctx, sub)
            if child is not None and not child.hidden:
                children.append(build(child, sub, ctx, (*path, name)))
    return Node((*path, name), one_line(cmd.short_help or cmd.help), tuple(options), tuple(args), tuple(children))


def app_tree() -> Node:
    from coder_cli.cli.app import app

    return build(typer.main.get_command(app), "coder")


def fill(template: str, **parts: str) -> str:
    """The template with each @NAME@ replaced (shell code is full of braces, so no str.format)."""
    parts["HEADER"] = (
        "# Generated by scripts/completions.py from the Typer app. Do not edit by hand.\n"
        f"# Regenerate after changing a command or option: {REGENERATE}"
    )
    return re.sub(r"@([A-Z]+)@", lambda m: parts[m.group(1)], template)


def sq(text: str) -> str:
    """Single-quote for bash and zsh."""
    return "'" + text.replace("'", "'\\''") + "'"


# -- bash -----------------------------------------------------------------------------------------

BASH = r"""@HEADER@
# bash: source it from ~/.bashrc, or copy it to ~/.local/share/bash-completion/completions/coder

_coder_node() {
    # Sets subs, opts, valopts (the options that take a value) and varg (the variadic argument, or -1)
    # for the command "$1" ("coder models pull").
    case $1 in
@NODES@
    *) subs='' opts='' valopts='' varg=-1 ;;
    esac
}

_coder_value() {
    # COMPREPLY: the completions of $3 as the value of option $2, or of argument @N, of the command "$1".
    COMPREPLY=()
    case "$1 $2" in
@VALUES@
    esac
}

_coder_compgen() {
    # COMPREPLY: the words of $2 that start with $1, then files ($3 = file) or directories ($3 = dir).
    local line
    COMPREPLY=()
    if [[ -n $3 ]]; then compopt -o filenames 2>/dev/null; fi
    while IFS= read -r line; do
        [[ -n $line ]] && COMPREPLY+=("$line")
    done < <(
        [[ -n $2 ]] && compgen -W "$2" -- "$1"
        case $3 in file) compgen -f -- "$1" ;; dir) compgen -d -- "$1" ;; esac
    )
}

_coder() {
    local cur=${COMP_WORDS[COMP_CWORD]} node=coder w i npos=0 opt='' dashdash=''
    local subs opts valopts varg
    _coder_node "$node"
    for ((i = 1; i < COMP_CWORD; i++)); do
        w=${COMP_WORDS[i]}
        if [[ -n $opt ]]; then
            [[ $w == = ]] || opt=''  # bash splits --model=x into --model, =, x
        elif [[ -z $dashdash && $w == -- ]]; then
            dashdash=1
        elif [[ -z $dashdash && $w == -?* ]]; then
            [[ " $valopts " == *" $w "* ]] && opt=$w
        elif [[ $npos == 0 && -z $dashdash && " $subs " == *" $w "* ]]; then
            node="$node $w"
            _coder_node "$node"
        else
            npos=$((npos + 1))
        fi
    done
    if [[ -n $opt ]]; then
        [[ $cur == = ]] && cur=''
        _coder_value "$node" "$opt" "$cur"
    elif [[ -z $dashdash && $cur == --*=* && " $valopts " == *" ${cur%%=*} "* ]]; then
        opt=${cur%%=*}
        _coder_value "$node" "$opt" "${cur#*=}"
        COMPREPLY=("${COMPREPLY[@]/#/$opt=}")
    elif [[ -z $dashdash && $cur == -* ]]; then
        _coder_compgen "$cur" "$opts"
    elif [[ $npos == 0 && -n $subs ]]; then
        _coder_compgen "$cur" "$subs"
    else
        ((varg >= 0 && npos > varg)) && npos=$varg
        _coder_value "$node" "@$npos" "$cur"
    fi
    return 0
}

complete -F _coder coder
"""


def render_bash(tree: Node) -> str:
    nodes, values = [], []
    for node in tree.walk():
        subs = " ".join(c.path[-1] for c in node.children)
        opts = " ".join(n for o in node.options for n in o.names)
        valopts = " ".join(n for o in node.options if o.values is not None for n in o.names)
        varg = next((i for i, a in enumerate(node.args) if a.variadic), -1)
        nodes.append(f"    {sq(node.name)}) subs={sq(subs)} opts={sq(opts)} valopts={sq(valopts)} varg={varg} ;;")
        targets = [(o.names, o.values) for o in node.options if o.values is not None]
        targets += [((f"@{i}",), a.values) for i, a in enumerate(node.args)]
        for names, v in targets:
            if v.words or v.files:
                patterns = " | ".join(sq(f"{node.name} {n}") for n in names)
                call = f'_coder_compgen "$3" {sq(" ".join(w for w, _ in v.words))} {v.files}'.rstrip()
                values.append(f"    {patterns}) {call} ;;")
    return fill(BASH, NODES="\n".join(nodes), VALUES="\n".join(values))


# -- zsh ------------------------------------------------------------------------------------------

ZSH = r"""#compdef coder
@HEADER@
# zsh: copy it as _coder into a folder on $fpath (before compinit runs), or source it after compinit.

@FUNCTIONS@
if [[ $zsh_eval_context[-1] == loadautofunc ]]; then
  _coder "$@"
else
  compdef _coder coder
fi
"""

ZSH_GROUP = r"""@NAME@() {
  local curcontext=$curcontext state state_descr line ret=1
  typeset -A opt_args
  _arguments -C -s -S \
    @SPECS@ \
    ': :->command' \
    '*:: :->argument' && ret=0
  case $state in
  command)
    local -a commands=(
      @COMMANDS@
    )
    _describe -t commands @TITLE@ commands && ret=0
    ;;
  argument)
    curcontext=${curcontext%:*:*}:@CONTEXT@-$words[1]:
    case $words[1] in
    @CALLS@
    esac
    ;;
  esac
  return ret
}
"""

ZSH_VALUES = r"""@NAME@() {
  local ret=1
  local -a values=(@WORDS@)
  _describe -t values value values && ret=0@FILES@
  return ret
}
"""


def _zsh_ident(node: Node) -> str:
    return "_" + "_".join(re.sub(r"\W", "_", p) for p in node.path)


def _zsh_word(word: str, description: str = "") -> str:
    """A _describe entry: word:description."""
    return sq(word.replace(":", "\\:") + (f":{description}" if description else ""))


def _zsh_specs(node: Node, action) -> list[str]:
    specs = []
    for opt in node.options:
        excl = "(- *)" if opt.final else "*" if opt.multiple else "(" + " ".join(opt.excludes or opt.names) + ")"
        value = "" if opt.values is None else f":{opt.names[0].lstrip('-')}:{action(opt.values)}"
        text = re.sub(r"([\\\[\]:])", r"\\\1", opt.help)
        specs += [sq(f"{excl}{name}[{text}]{value}") for name in opt.names]
    for i, arg in enumerate(node.args):
        specs.append(sq(f"{'*' if arg.variadic else i + 1}:{arg.name}:{action(arg.values)}"))
    return specs


def render_zsh(tree: Node) -> str:
    helpers: dict[Values, str] = {}  # one function per distinct set of words, numbered as first met

    def action(v: Values) -> str:
        if not v.words:
            return {"file": "_files", "dir": "_files -/"}.get(v.files, " ")
        return helpers.setdefault(v, f"_coder__values_{len(helpers) + 1}")

    functions = []
    for node in tree.walk():
        specs = _zsh_specs(node, action)
        if not node.children:
            functions.append(f"{_zsh_ident(node)}() {{\n  _arguments -s -S \\\n    " + " \\\n    ".join(specs) + "\n}\n")
            continue
        functions.append(
            fill(
                ZSH_GROUP,
                NAME=_zsh_ident(node),
                SPECS=" \\\n    ".join(specs),
                COMMANDS="\n      ".join(_zsh_word(c.path[-1], c.help) for c in node.children),
                TITLE=sq(f"{node.name} command"),
                CONTEXT=node.name.replace(" ", "-"),
                CALLS="\n    ".join(f"{sq(c.path[-1])}) {_zsh_ident(c)} && ret=0 ;;" for c in node.children),
            )
        )
    if len({_zsh_ident(n) for n in tree.walk()}) != len(functions):
        raise SystemExit("two commands map to the same zsh function name")
    for v, name in helpers.items():
        files = {"file": "\n  _files && ret=0", "dir": "\n  _files -/ && ret=0"}.get(v.files, "")
        functions.append(fill(ZSH_VALUES, NAME=name, WORDS=" ".join(_zsh_word(w, d) for w, d in v.words), FILES=files))
    return fill(ZSH, FUNCTIONS="\n".join(functions))


# -- fish -----------------------------------------------------------------------------------------

FISH = r"""@HEADER@
# fish: copy it to ~/.config/fish/completions/coder.fish

function __coder_subs --description 'The subcommands of the command $argv[1]'
    switch $argv[1]
@SUBS@
    end
end

function __coder_valopts --description 'The options of the command $argv[1] that take a value'
    switch $argv[1]
@VALOPTS@
    end
end

function __coder_state --description 'Print the command being completed ("coder models pull") and its argument count'
    set -l node coder
    set -l npos 0
    set -l skip 0
    set -l dashdash 0
    for w in (commandline -opc)[2..-1]
        if test $skip = 1
            set skip 0
        else if test $dashdash = 0; and test "x$w" = x--
            set dashdash 1
        else if test $dashdash = 0; and string match -q -- '-?*' $w
            contains -- $w (__coder_valopts $node); and set skip 1
        else if test $npos = 0 -a $dashdash = 0; and contains -- $w (__coder_subs $node)
            set node "$node $w"
        else
            set npos (math $npos + 1)
        end
    end
    printf '%s\n' $node $npos
end

function __coder_is --description 'Completing the command $argv[1]? With $argv[2] (N, or N+: N or more): at that argument?'
    set -l state (__coder_state)
    test "$state[1]" = "$argv[1]"; or return 1
    set -q argv[2]; or return 0
    set -l n (string trim -r -c + -- $argv[2])
    if string match -q -- '*+' $argv[2]
        test $state[2] -ge $n
    else
        test $state[2] -eq $n
    end
end
@FUNCTIONS@
complete -c coder -f
@LINES@
"""


def fq(text: str) -> str:
    """Single-quote for fish."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def render_fish(tree: Node) -> str:
    helpers: dict[Values, str] = {}  # one function per distinct set of words, numbered as first met

    def flags(v: Values | None, option: bool = True) -> str:
        """-r (an option's value is required), -F or -f (files or not), -a (the words)."""
        if v is None:
            return ""
        out = (" -r" if option else "") + (" -F" if v.files else " -f")
        if v.words:
            out += f" -a {fq('(' + helpers.setdefault(v, f'__coder_values_{len(helpers) + 1}') + ')')}"
        return out

    subs, valopts, lines = [], [], []
    for node in tree.walk():
        when = f'complete -c coder -n "__coder_is {fq(node.name)}'
        names = [c.path[-1] for c in node.children]
        vals = [n for o in node.options if o.values is not None for n in o.names]
        if names:
            subs.append(f"        case {fq(node.name)}\n            printf '%s\\n' {' '.join(map(fq, names))}")
        if vals:
            valopts.append(f"        case {fq(node.name)}\n            printf '%s\\n' {' '.join(map(fq, vals))}")
        lines.append(f"\n# {node.name}")
        lines += [f'{when} 0" -a {fq(c.path[-1])} -d {fq(c.help)}' for c in node.children]
        for opt in node.options:
            switches = [f"-l {n[2:]}" if n[1] == "-" else f"-s {n[1:]}" if len(n) == 2 else f"-o {n[1:]}" for n in opt.names]
            lines.append(f'{when}" {" ".join(switches)}{flags(opt.values)} -d {fq(opt.help)}')
        for i, arg in enumerate(node.args):
            if arg.values.words or arg.values.files:
                lines.append(f'{when} {i}{"+" if arg.variadic else ""}"{flags(arg.values, option=False)}')
    functions = []
    for v, name in helpers.items():
        rows = [f"    printf '%s\\t%s\\n' {fq(w)} {fq(d)}" if d else f"    echo {fq(w)}" for w, d in v.words]
        functions.append(f"\nfunction {name}\n" + "\n".join(rows) + "\nend\n")
    return fill(FISH, SUBS="\n".join(subs), VALOPTS="\n".join(valopts), FUNCTIONS="".join(functions), LINES="\n".join(lines))


# -- files ----------------------------------------------------------------------------------------


def render_all(tree: Node | None = None) -> dict[str, str]:
    """File name (in completions/) -> its generated text."""
    tree = tree or app_tree()
    return {"coder.bash": render_bash(tree), "coder.zsh": render_zsh(tree), "coder.fish": render_fish(tree)}


def stale(out: Path = OUT) -> list[str]:
    """The generated files that are missing from `out` or differ from what the generator writes now."""

    def differs(name: str, text: str) -> bool:
        return not (out / name).is_file() or (out / name).read_text(encoding="utf-8") != text

    return [name for name, text in render_all().items() if differs(name, text)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write completions/coder.{bash,zsh,fish} from the Typer app.")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 naming the files that differ")
    args = parser.parse_args(argv)
    if args.check:
        names = stale()
        for name in names:
            print(f"completions/{name} is out of date with the commands; run {REGENERATE}", file=sys.stderr)
        return 1 if names else 0
    for name, text in render_all().items():
        path = OUT / name
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8", newline="\n")
            print(f"wrote completions/{name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
