"""Which FIM prompt layout the model fills best: bare, the file's path in front, or the repository name and path.

HumanEval single-line infilling on a fixed random subset, greedy, one line asked
for (generation stops at the newline), the same line post-processing as `coder
complete --mode line`; "raw" is the text as generated (up to the newline or
--cap tokens). The file is alone, so there is no cross-file context: this
measures what the header itself costs or gains.

Usage: python benchmarks/fim_layout.py {bare,repo,path} [--limit 50] [--seed 0] [--model default]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import store_path  # noqa: E402
from fim import DATA, load, passes  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("layout", choices=["bare", "repo", "path"])
    ap.add_argument("--limit", type=int, default=50)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--model", default="default")
    ap.add_argument("--cap", type=int, default=48)
    args = ap.parse_args()

    from coder_cli import manifest
    from coder_cli.core.fim_post import choose_mode, cursor, finish
    from coder_cli.core.fim_prompt import fim_layout
    from coder_cli.engine import GenParams
    from coder_cli.engine.llama import LlamaEngine

    tasks = load(DATA["single"])
    keep = set(random.Random(args.seed).sample(range(len(tasks)), args.limit))
    tasks = [t for i, t in enumerate(tasks) if i in keep]
    path = store_path(Path(tempfile.mkdtemp(prefix="coder-fimlayout-")) / "home", args.model)
    e = LlamaEngine(str(path), args.model, prompt_format=manifest.default().prompt)
    ids = e.fim_tokens()
    raw_ok = pp_ok = 0
    for t in tasks:
        name = f"{t['entry_point']}.py"
        if args.layout == "bare":
            toks = fim_layout(e.tokenize, ids, t["prompt"], t["suffix"])
        elif args.layout == "repo":
            toks = fim_layout(e.tokenize, ids, t["prompt"], t["suffix"], repo="human-eval", path=name)
        else:
            toks = [ids.file_sep, *e.tokenize(f"{name}\n"), *fim_layout(e.tokenize, ids, t["prompt"], t["suffix"])]
        gen = e.complete(toks, GenParams(max_tokens=args.cap, temperature=0.0, stop=("\n",)))
        raw = gen.text()
        gen.close()
        cur = cursor(t["prompt"], t["suffix"])
        pp = finish(raw, cur, choose_mode(cur))
        r, p = passes(t, raw), passes(t, pp)
        raw_ok += r
        pp_ok += p
        print(t["task_id"], r, p, repr(raw[:80]), repr(pp[:80]), flush=True)
    print(f"{args.layout}: functional pass raw {raw_ok}/{len(tasks)}, post-processed {pp_ok}/{len(tasks)}")


if __name__ == "__main__":
    main()
