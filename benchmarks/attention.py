"""Generation and prompt speed as the context grows, with flash attention on and off and each KV type.

A long chat slows down turn by turn even though every turn reuses the cached prompt: each
new token attends to every earlier one. How fast that cost grows depends on llama.cpp's
attention path for this CPU or GPU, so the defaults (`flash_attn`, `kv_type`) should be
chosen from measurements like these, per build. The real engine (`LlamaEngine`, with the
settings coder picks for this build: extra buffer types off on AMX), greedy, 48 tokens
generated after a prompt of each depth (this repository's chat.py, tokenized).

Usage: python benchmarks/attention.py [--model default] [--depths 100,2500,5000]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPO, machine, store_path, table  # noqa: E402

CONFIGS = [(True, "f16"), (False, "f16"), (True, "q8_0")]  # a quantized V cache needs flash attention


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="default")
    ap.add_argument("--depths", default="100,2500,5000")
    ap.add_argument("--tokens", type=int, default=48)
    args = ap.parse_args()
    from coder_cli.engine import GenParams
    from coder_cli.engine.llama import LlamaEngine

    path = store_path(None, args.model)
    depths = [int(d) for d in args.depths.split(",")]
    rows = []
    base: dict[int, float] = {}
    for fa, kv in CONFIGS:
        engine = LlamaEngine(str(path), path.stem, flash_attn=fa, kv_type=kv, n_ctx=8192)
        tokens = engine.tokenize((REPO / "coder_cli" / "actions" / "chat.py").read_text() * 2)
        for depth in depths:
            gen = engine.complete(tokens[:depth], GenParams(max_tokens=args.tokens, temperature=0.0))
            gen.text()
            st = gen.stats
            base.setdefault(depth, st.tokens_per_s)
            rows.append(
                [
                    "on" if fa else "off",
                    kv,
                    f"{depth:,}",
                    f"{st.tokens_per_s:.1f}",
                    f"{st.tokens_per_s / base[depth]:.2f}",
                    f"{st.prompt_tokens_per_s:.0f}",
                ]
            )
            print(" ".join(rows[-1]), file=sys.stderr, flush=True)
        del engine
    print(f"machine: {machine()}")
    print(f"model: {path.name}; {args.tokens} tokens generated after each prompt; ratio: against the first row of its depth\n")
    print(table(["flash attention", "KV cache", "context", "generation tok/s", "ratio", "prompt tok/s"], rows))


if __name__ == "__main__":
    main()
