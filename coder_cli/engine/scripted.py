"""A scripted engine for deterministic logic tests (never instead of a real test).

Chosen through the same registry as the real engines, with the model name
``scripted:FILE``, where FILE is JSON: ``{"replies": ["...", ...], "n_ctx": 4096, "fim": false}``
(with ``"fim": true`` it claims FIM tokens, so `coder fix` also runs its line round).
Two keys stand in for a broken model: ``"delay_s": N`` sleeps N seconds before each
reply (a slow model, for timeouts), ``"crash": true`` calls ``os.abort()`` at the first
generation (a native crash: the process dies by SIGABRT, nothing is cleaned up).
Each chat or complete call takes the next reply (the last one repeats). Calls
are recorded in FILE + ".calls.jsonl" so a CLI test can check what was asked.
Tokens are whitespace-separated words, so counts are predictable.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from coder_cli.engine.base import EngineInfo, Generation, GenParams, GenStats, Message, TokenScore, common_prefix, now
from coder_cli.errors import ContextOverflow, ModelError

_WORD = re.compile(r"\s*\S+|\s+")


class ScriptedEngine:
    def __init__(
        self,
        replies: Sequence[str],
        n_ctx: int = 4096,
        record: Path | None = None,
        fim: bool = False,
        delay_s: float = 0.0,
        crash: bool = False,
    ) -> None:
        self.replies = list(replies) or [""]
        self.fim = fim
        self.delay_s = delay_s
        self.crash = crash
        self.calls: list[dict] = []
        self._record = record
        self._next = 0
        self._cache: list[int] = []  # the tokens a real engine would hold in its KV cache
        self._vocab: dict[str, int] = {}
        self.info = EngineInfo(
            model="scripted",
            path="",
            n_ctx=n_ctx,
            n_ctx_train=n_ctx,
            threads=1,
            gpu_layers=0,
            backend="scripted",
            flash_attn=False,
            kv_type="f16",
            load_s=0.0,
        )

    @classmethod
    def from_file(cls, path: Path) -> ScriptedEngine:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ModelError(f"cannot read scripted engine file {path}: {exc}") from None
        record = path.with_name(path.name + ".calls.jsonl")
        return cls(
            data.get("replies", []),
            int(data.get("n_ctx", 4096)),
            record,
            bool(data.get("fim", False)),
            float(data.get("delay_s", 0.0)),
            bool(data.get("crash", False)),
        )

    @property
    def n_ctx(self) -> int:
        return self.info.n_ctx

    @property
    def n_vocab(self) -> int:
        """The size of Qwen2's vocabulary (ids 0-99 stand for special tokens, words start at 100)."""
        return max(151_936, len(self._vocab) + 100)

    def tokenize(self, text: str, special: bool = False) -> list[int]:
        return [self._vocab.setdefault(w, len(self._vocab) + 100) for w in _WORD.findall(text)]

    def count_tokens(self, text: str) -> int:
        return len(self.tokenize(text))

    def chat_prompt(self, messages: Sequence[Message]) -> list[int]:
        text = "".join(f"<{m['role']}> {m['content']} " for m in messages)
        return self.tokenize(text)

    def special_token_id(self, text: str) -> int:
        return {"<|fim_prefix|>": 1, "<|fim_suffix|>": 2, "<|fim_middle|>": 3, "<|repo_name|>": 4, "<|file_sep|>": 5}.get(text, 9)

    def detokenize(self, tokens: Sequence[int]) -> str:
        words = {v: k for k, v in self._vocab.items()}
        return "".join(words.get(t, "") for t in tokens)

    def is_eog(self, token: int) -> bool:
        return token < 100

    def fim_tokens(self):
        from coder_cli.core.fim_prompt import FimTokens

        return FimTokens(1, 2, 3, 4, 5) if self.fim else None

    def score(
        self, prompt: Sequence[int], continuation: Sequence[int], probes: Mapping[int, Sequence[int]] | None = None
    ) -> list[TokenScore]:
        """The scripted model agrees with every token it is shown; a probed token is rated -5 (an
        end of generation -1: the scripted model is content with what it was shown)."""
        probes = probes or {}

        def rated(k: int) -> tuple[float, ...]:
            return tuple(-1.0 if self.is_eog(t) else -5.0 for t in probes.get(k, ()))

        out = [TokenScore(t, 0.0, t, 0.0, rated(k)) for k, t in enumerate(continuation)]
        if len(continuation) in probes:
            out.append(TokenScore(-1, 0.0, 0, 0.0, rated(len(continuation))))
        return out

    def check_fits(self, n_prompt: int, reserve: int) -> None:
        if n_prompt + reserve > self.n_ctx:
            raise ContextOverflow(
                f"the prompt is {n_prompt:,} tokens and the reply needs {reserve:,}, "
                f"but the context holds {self.n_ctx:,}: {n_prompt + reserve - self.n_ctx:,} tokens over"
            )

    def chat(self, messages: Sequence[Message], params: GenParams) -> Generation:
        return self._reply({"kind": "chat", "messages": list(messages)}, self.chat_prompt(messages), params)

    def complete(self, tokens: Sequence[int], params: GenParams, stop_tokens: Sequence[str] = ()) -> Generation:
        return self._reply({"kind": "complete", "tokens": list(tokens)}, list(tokens), params)

    def prefill(self, tokens: Sequence[int], cancel=None) -> int:
        """Like the real engine: only the tokens past the cached prefix count as evaluated."""
        tokens = list(tokens)
        self.check_fits(len(tokens), 1)
        done = len(tokens) - common_prefix(self._cache, tokens)
        self._log({"kind": "prefill", "tokens": len(tokens), "evaluated": done})
        self._cache = tokens
        return done

    def _log(self, call: dict) -> None:
        self.calls.append(call)
        if self._record is not None:
            with self._record.open("a", encoding="utf-8") as fh:
                fh.write(json.dumps(call) + "\n")

    def _reply(self, call: dict, prompt: list[int], params: GenParams) -> Generation:
        self.check_fits(len(prompt), 1)
        call["params"] = {"max_tokens": params.max_tokens, "temperature": params.temperature}
        self._log(call)
        if self.crash:
            os.abort()
        if self.delay_s > 0:
            time.sleep(self.delay_s)
        reply = self.replies[min(self._next, len(self.replies) - 1)]
        self._next += 1
        stats = GenStats(prompt_tokens=len(prompt), cached_tokens=min(common_prefix(self._cache, prompt), len(prompt) - 1))
        self._cache = prompt + self.tokenize(reply)
        return Generation(self._stream(reply, params, stats), stats)

    def _stream(self, reply: str, params: GenParams, stats: GenStats) -> Iterator[str]:
        t0 = now()
        stats.finish_reason = "stop"
        for i, piece in enumerate(_WORD.findall(reply)):
            if i >= params.max_tokens:
                stats.finish_reason = "length"
                break
            if i == 0:
                stats.prompt_s = now() - t0
            stats.completion_tokens += 1
            yield piece
        stats.generate_s = now() - t0 - stats.prompt_s

    def close(self) -> None:
        pass
