"""LlamaEngine: llama.cpp in-process through llama-cpp-python.

This is the only module that imports ``llama_cpp``. It works around the
binding's pitfalls (DESIGN.md): n_ctx and verbose are always passed, chat
prompts are rendered with the GGUF's own template (fail loudly without one),
FIM prompts are token sequences built from special-token ids, and prompts go
through ``Llama.generate`` so the longest common token prefix with the
previous call is reused.
"""

from __future__ import annotations

import codecs
import os
import re
from collections.abc import Iterator, Mapping, Sequence

from coder_cli.crash_guard import mark
from coder_cli.engine.base import (
    EngineInfo,
    Generation,
    GenParams,
    GenStats,
    Message,
    StopMatcher,
    TokenScore,
    common_prefix,
    now,
)
from coder_cli.engine.lookup import MAX_K, Drafter, Pacer
from coder_cli.errors import ContextOverflow, ModelError

_KV_TYPES = {"f16": 1, "q8_0": 8, "q4_0": 2}
_CONTENT_MARK = re.compile("\ue000(\\d+)\ue001")  # where chat_prompt's template put message I's content


CANCEL_CHUNK = 128  # tokens read between checks of a cancel flag (read_prompt)


def physical_cores() -> int:
    try:
        import psutil

        n = psutil.cpu_count(logical=False)
    except ImportError:  # pragma: no cover - declared dependency
        n = None
    return n or os.cpu_count() or 1


def system_info() -> str:
    import llama_cpp

    raw = llama_cpp.llama_print_system_info()
    return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)


def gpu_backend(info: str | None = None) -> tuple[bool, str]:
    """(offload supported, backend name) of the installed llama.cpp build (INFO: its system info)."""
    import llama_cpp

    supported = bool(llama_cpp.llama_supports_gpu_offload())
    info = system_info() if info is None else info
    for name in ("CUDA", "Metal", "Vulkan", "ROCm", "HIP", "SYCL", "OpenCL"):
        if name.lower() in info.lower():
            return supported, name
    return supported, "CPU"


class LlamaEngine:
    def __init__(
        self,
        path: str,
        name: str,
        *,
        n_ctx: int = 8192,
        n_ctx_train: int | None = None,
        threads: int = 0,
        gpu_layers: str | int = "auto",
        batch: int = 512,
        flash_attn: bool = True,
        kv_type: str = "f16",
        seed: int = 0,
        chat_stops: Sequence[str] = (),
        prompt_format=None,
        extra_bufts: str | bool = "auto",
        build_info: str | None = None,
        speculate: bool = True,
        fault=None,
        warn=None,
    ) -> None:
        """EXTRA_BUFTS: "auto", True or False (engine/native.py). BUILD_INFO: what the llama.cpp
        build reports (llama_print_system_info); tests inject an AMX build's. SPECULATE: greedy
        generations use prompt-lookup drafts unless their GenParams say otherwise. FAULT: test only
        (engine/faults.py)."""
        import llama_cpp

        from coder_cli.engine import native

        self._warn = warn or (lambda msg: None)
        self._llama_cpp = llama_cpp
        threads = threads or physical_cores()
        info = system_info() if build_info is None else build_info
        supported, backend = gpu_backend(info)
        bufts = native.decide_extra_bufts(extra_bufts, info)
        notes: list[str] = []
        if gpu_layers == "auto":
            layers = -1 if supported else 0
            where = f"all layers on {backend}" if supported else "CPU only (this llama.cpp build has no GPU offload)"
            notes.append(f"gpu_layers auto: {where}")
        else:
            layers = int(gpu_layers)
            if layers != 0 and not supported:
                notes.append(f"gpu_layers {layers} asked for, but this llama.cpp build has no GPU offload: CPU only")
        ctx = n_ctx
        if n_ctx_train and ctx > n_ctx_train:
            notes.append(f"ctx {ctx} capped at the model's trained length {n_ctx_train}")
            ctx = n_ctx_train
        kwargs = dict(
            model_path=path,
            n_ctx=ctx,
            n_batch=min(batch, ctx),
            n_ubatch=min(batch, ctx),
            n_threads=threads,
            n_threads_batch=threads,
            flash_attn=flash_attn,
            type_k=_KV_TYPES[kv_type],
            type_v=_KV_TYPES[kv_type],
            seed=seed,
            verbose=False,
            use_mmap=True,
        )
        notes.append(f"extra buffer types {bufts.why}")
        mark(f"while llama.cpp loaded {name}")
        t0 = now()
        try:
            self._llm = self._load(layers, bufts.on, kwargs)
        except (ValueError, RuntimeError) as exc:
            if layers == 0:
                raise ModelError(f"llama.cpp could not load {path}: {exc}", "run `coder doctor`") from None
            self._warn(f"loading on the GPU failed ({exc}); retrying on the CPU")
            notes.append(f"GPU load failed ({exc}); fell back to the CPU")
            layers = 0
            try:
                self._llm = self._load(0, bufts.on, kwargs)
            except (ValueError, RuntimeError) as exc2:
                raise ModelError(f"llama.cpp could not load {path}: {exc2}", "run `coder doctor`") from None
        load_s = now() - t0
        if bool(self._llm.model_params.use_extra_bufts) != bufts.on:
            self.close()
            raise ModelError(
                f"could not set use_extra_bufts = {bufts.on} for llama.cpp (this llama-cpp-python builds its model "
                "parameters another way); loading anyway could crash on this CPU",
                "install the tested version: pip install -c constraints.txt llama-cpp-python",
            )
        self._vocab = llama_cpp.llama_model_get_vocab(self._llm.model)
        self.info = EngineInfo(
            model=name,
            path=str(path),
            n_ctx=self._llm.n_ctx(),
            n_ctx_train=self._llama_cpp.llama_model_n_ctx_train(self._llm.model),
            threads=threads,
            gpu_layers=layers,
            backend=backend if layers != 0 and supported else "CPU",
            flash_attn=flash_attn,
            kv_type=kv_type,
            load_s=load_s,
            notes=notes,
            extra_bufts=bufts.on,
        )
        self._decoded = False
        self.speculate = speculate
        self._pacer = Pacer()  # draft lengths from batch costs timed here and acceptance (engine/lookup.py)
        load = {"extra_bufts": bufts.on, "flash_attn": flash_attn, "gpu_layers": layers, "threads": threads}
        self._fault = fault if fault is not None and fault.applies(**load) else None
        self._template = None
        self._chat_stop_ids = {self.special_token_id(s) for s in chat_stops if self._has_special(s)}
        self._prompt_format = prompt_format
        self._fim = None
        self._eog: list[int] | None = None

    def _load(self, layers: int, extra_bufts: bool, kwargs: dict):
        from coder_cli.engine.native import BindingMismatch, model_params

        try:
            with model_params(self._llama_cpp, use_extra_bufts=extra_bufts):
                return self._llama_cpp.Llama(n_gpu_layers=layers, **kwargs)
        except BindingMismatch as exc:
            raise ModelError(str(exc), "install the tested version: pip install -c constraints.txt llama-cpp-python") from None

    def _decode_starts(self) -> None:
        """Called before every decode: the first is marked for the crash report (the AMX crash
        happens there), and a test fault fires there."""
        if self._decoded:
            return
        self._decoded = True
        mark("at or after the first decode")
        if self._fault is not None:
            self._fault.trigger()

    # -- tokens --------------------------------------------------------------------------
    @property
    def n_ctx(self) -> int:
        return self.info.n_ctx

    @property
    def n_vocab(self) -> int:
        """Token ids run from 0 to n_vocab - 1; llama.cpp aborts the process on any other."""
        return self._llm.n_vocab()

    def tokenize(self, text: str, special: bool = False) -> list[int]:
        return self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=special)

    def count_tokens(self, text: str) -> int:
        return len(self.tokenize(text)) if text else 0

    def detokenize(self, tokens: Sequence[int]) -> str:
        return self._llm.detokenize(list(tokens)).decode("utf-8", "replace")

    def _has_special(self, text: str) -> bool:
        ids = self.tokenize(text, special=True)
        return len(ids) == 1 and self.tokenize(text, special=False) != ids

    def special_token_id(self, text: str) -> int:
        ids = self.tokenize(text, special=True)
        if len(ids) != 1 or self.tokenize(text, special=False) == ids:
            raise ModelError(
                f"{self.info.model} has no special token {text!r} in its vocabulary",
                "use a Qwen2.5-Coder model (see `coder models list`)",
            )
        return ids[0]

    def is_eog(self, token: int) -> bool:
        return bool(self._llama_cpp.llama_vocab_is_eog(self._vocab, token))

    def eog_ids(self) -> list[int]:
        """Every end-of-generation token id of the vocabulary (found once: a scan of 151k ids)."""
        if self._eog is None:
            is_eog = self._llama_cpp.llama_vocab_is_eog
            self._eog = [t for t in range(self._llm.n_vocab()) if is_eog(self._vocab, t)]
        return list(self._eog)

    def fim_tokens(self):
        """FIM token ids from the manifest's prompt format (the default model's for a bare GGUF); None without them."""
        if self._fim is None:
            from coder_cli import manifest
            from coder_cli.core.fim_prompt import fim_tokens

            fmt = self._prompt_format or manifest.default().prompt
            try:
                self._fim = fim_tokens(self.special_token_id, fmt)
            except ModelError:
                self._fim = False
        return self._fim or None

    def score(
        self, prompt: Sequence[int], continuation: Sequence[int], probes: Mapping[int, Sequence[int]] | None = None
    ) -> list[TokenScore]:
        """Teacher-forced ratings of CONTINUATION after PROMPT: one batched pass with logits for every
        position, reusing the cached prefix; the cache then holds PROMPT + CONTINUATION. PROBES: see
        the Engine protocol (position len(CONTINUATION) rates what would follow the last token)."""
        import numpy as np

        llm = self._llm
        tokens = list(prompt) + list(continuation)
        probes = probes or {}
        if not prompt or not (continuation or probes):
            return []
        self.check_fits(len(tokens), 1)
        self._decode_starts()
        # The logits that predict continuation[0] come from the prompt's last token: evaluate it again.
        keep = min(self._cached_prefix(tokens), len(prompt) - 1)
        llm._ctx.kv_cache_seq_rm(-1, keep, -1)
        llm.n_tokens = keep
        llm._requires_eval = True  # its logits will not be the last token's alone
        n_vocab = llm.n_vocab()
        out: list[TokenScore] = []
        todo = tokens[keep:]
        last = len(tokens) if len(continuation) in probes else len(tokens) - 1  # positions that predict
        for i in range(0, len(todo), llm.n_batch):
            batch = todo[i : i + llm.n_batch]
            n_past = llm.n_tokens
            llm._batch.set_batch(batch=batch, n_past=n_past, logits_all=True)
            llm._ctx.decode(llm._batch)
            llm.input_ids[n_past : n_past + len(batch)] = batch
            llm.n_tokens += len(batch)
            rows = np.ctypeslib.as_array(llm._ctx.get_logits(), shape=(len(batch), n_vocab))
            for r in range(len(batch)):
                pos = n_past + r
                if pos < len(prompt) - 1 or pos >= last:
                    continue
                row = rows[r].astype(np.float64)
                top = float(row.max())
                norm = top + float(np.log(np.exp(row - top).sum()))
                k = pos + 1 - len(prompt)  # the position in CONTINUATION this row predicts
                given = tokens[pos + 1] if pos + 1 < len(tokens) else -1
                rated = float(row[given]) - norm if given >= 0 else 0.0
                wanted = tuple(float(row[t]) - norm for t in probes.get(k, ()))
                out.append(TokenScore(given, rated, int(row.argmax()), top - norm, wanted))
        return out

    def _token_text(self, token: int) -> str:
        if token < 0:
            return ""
        return self._llm.detokenize([token], special=True).decode("utf-8", "replace")

    # -- chat ----------------------------------------------------------------------------
    def _chat_template(self):
        if self._template is None:
            source = self._llm.metadata.get("tokenizer.chat_template")
            if not source:
                raise ModelError(
                    f"{self.info.model} has no chat template in its GGUF metadata",
                    "use a model file that carries `tokenizer.chat_template` (every Qwen2.5-Coder GGUF does)",
                )
            from jinja2 import TemplateError
            from jinja2.sandbox import ImmutableSandboxedEnvironment

            def raise_exception(message: str):
                raise TemplateError(message)

            env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
            env.globals["raise_exception"] = raise_exception
            self._template = env.from_string(source)
        return self._template

    def chat_prompt(self, messages: Sequence[Message]) -> list[int]:
        """The template's own text is read with special tokens; each message's content is not, so a
        file that contains `<|im_end|>` (this project's sources do) cannot end its turn early."""
        marked = [{**m, "content": f"\ue000{i}\ue001"} for i, m in enumerate(messages)]
        pieces = _CONTENT_MARK.split(self._render(marked))
        if len(pieces[1::2]) != len(set(pieces[1::2])):  # a template that repeats a content: read it whole
            return self.tokenize(self._render(list(messages)), special=True)
        tokens: list[int] = []
        for k, piece in enumerate(pieces):
            if k % 2:
                tokens += self.tokenize(messages[int(piece)]["content"], special=False)
            elif piece:
                tokens += self.tokenize(piece, special=True)
        return tokens

    def _render(self, messages: list) -> str:
        return self._chat_template().render(
            messages=messages,
            add_generation_prompt=True,
            bos_token=self._token_text(self._llm.token_bos()),
            eos_token=self._token_text(self._llm.token_eos()),
        )

    def chat(self, messages: Sequence[Message], params: GenParams) -> Generation:
        tokens = self.chat_prompt(messages)
        return self._generation(tokens, params, self._chat_stop_ids)

    def complete(self, tokens: Sequence[int], params: GenParams, stop_tokens: Sequence[str] = ()) -> Generation:
        stop_ids = {self.special_token_id(s) for s in stop_tokens if self._has_special(s)}
        return self._generation(list(tokens), params, stop_ids)

    def prefill(self, tokens: Sequence[int], cancel=None) -> int:
        """Evaluate TOKENS into the KV cache in batches (no logits kept), reusing what it already holds.

        llama.cpp releases the GIL while it decodes, so this runs in a background thread while the
        user types; the caller must not start a generation until it returns."""
        llm = self._llm
        tokens = list(tokens)
        self.check_fits(len(tokens), 1)
        keep = common_prefix(llm.input_ids[: llm.n_tokens], tokens)
        if keep == len(tokens):
            return 0
        self._decode_starts()
        return self.read_prompt(tokens, keep, cancel)

    def read_prompt(self, tokens: Sequence[int], keep: int, cancel=None) -> int:
        """Drop what the KV cache holds past KEEP tokens and evaluate TOKENS[KEEP:] after them, in
        batches of n_batch with the last position's logits only; `input_ids`/`n_tokens` follow. Stops
        between batches once CANCEL is set; returns how many tokens were evaluated. (The one prompt
        reader: prefill, the speculative decoder and benchmarks/speculate.py.)"""
        llm = self._llm
        llm._ctx.kv_cache_seq_rm(-1, keep, -1)
        llm.n_tokens = keep
        done = 0
        # With a way out, smaller batches: a stale editor request (benchmarks/lsp.py's burst) or a
        # pre-warm that must give way stops within about CANCEL_CHUNK tokens, not n_batch (512:
        # 2.5 s of the 0.5B's prompt reading on 2 cores).
        step = min(llm.n_batch, CANCEL_CHUNK) if cancel is not None else llm.n_batch
        for i in range(keep, len(tokens), step):
            if cancel is not None and cancel.is_set():
                break
            batch = list(tokens[i : i + step])
            llm.eval(batch)
            done += len(batch)
        return done

    def check_fits(self, n_prompt: int, reserve: int) -> None:
        """Raise ContextOverflow when the prompt leaves less than RESERVE tokens to reply."""
        if n_prompt + reserve > self.n_ctx:
            over = n_prompt + reserve - self.n_ctx
            raise ContextOverflow(
                f"the prompt is {n_prompt:,} tokens and the reply needs {reserve:,}, "
                f"but the context holds {self.n_ctx:,}: {over:,} tokens over",
                f"send less input, or raise --ctx (up to the model's trained length {self.info.n_ctx_train:,})",
            )

    def _generation(self, tokens: list[int], params: GenParams, stop_ids: set[int]) -> Generation:
        if not tokens:
            raise ContextOverflow("the prompt is empty")
        self.check_fits(len(tokens), 1)
        stats = GenStats(prompt_tokens=len(tokens))
        return Generation(self._run(tokens, params, stop_ids, stats), stats)

    def _cached_prefix(self, tokens: list[int]) -> int:
        llm = self._llm
        return min(common_prefix(llm.input_ids[: llm.n_tokens], tokens), len(tokens) - 1)

    def speculates(self, params: GenParams) -> bool:
        """Whether a generation with PARAMS decodes with prompt-lookup drafts: greedy only (sampling
        decodes plainly), and only without a repeat penalty (drafts are checked by plain argmax)."""
        wanted = self.speculate if params.speculate is None else params.speculate
        return bool(wanted) and params.temperature <= 0 and params.repeat_penalty == 1.0

    def _run(self, tokens: list[int], params: GenParams, stop_ids: set[int], stats: GenStats) -> Iterator[str]:
        llm = self._llm
        is_eog = self._llama_cpp.llama_vocab_is_eog
        vocab = self._vocab
        n_ctx = self.n_ctx
        stats.cached_tokens = self._cached_prefix(tokens)
        self._decode_starts()
        if params.temperature > 0:
            llm.set_seed(params.seed)
        decoder = codecs.getincrementaldecoder("utf-8")("replace")
        matcher = StopMatcher(params.stop)
        t0 = now()
        first = last = None
        stats.finish_reason = "length"
        if self.speculates(params):
            gen = self._lookup_tokens(tokens, stats, params.max_tokens)
        else:
            gen = llm.generate(
                tokens,
                top_k=params.top_k if params.temperature > 0 else 1,
                top_p=params.top_p,
                min_p=0.0,
                temp=params.temperature,
                repeat_penalty=params.repeat_penalty,
                reset=True,
            )
        try:
            for token in gen:
                t = now()
                if first is None:
                    first = t
                    stats.prompt_s = t - t0
                if token in stop_ids or is_eog(vocab, token):
                    stats.finish_reason = "stop"
                    break
                stats.completion_tokens += 1
                last = t
                out, stopped = matcher.feed(decoder.decode(llm.detokenize([token])))
                if out:
                    yield out
                if stopped:
                    stats.finish_reason = "stop"
                    break
                # (The cache then holds the prompt and every token but this one.)
                if stats.completion_tokens >= params.max_tokens or len(tokens) + stats.completion_tokens >= n_ctx:
                    break
            tail = decoder.decode(b"", final=True) + matcher.flush()
            if tail:
                yield tail
        except GeneratorExit:
            stats.finish_reason = "interrupted"
            raise
        except KeyboardInterrupt:
            stats.finish_reason = "interrupted"
            raise
        finally:
            gen.close()
            if first is not None and last is not None:
                stats.generate_s = last - first

    def _lookup_tokens(self, tokens: list[int], stats: GenStats, max_tokens: int) -> Iterator[int]:
        """Greedy decoding with prompt-lookup drafts (engine/lookup.py): the tokens plain greedy
        decoding would give, several per `llama_decode` where the reply copies text it was shown
        (the same tokens up to how a batch rounds the logits: benchmarks/speculate.py measures it).

        Each step decodes the token just chosen together with a draft of the tokens that followed
        the same n-gram earlier, with logits for those positions only (never `logits_all`: 0.6 GiB
        per 1K of context with Qwen's vocabulary); the draft's longest prefix that agrees with the
        argmax at each position is kept, the rest removed from the KV cache. The cache then holds the
        prompt and every token yielded but the last (as `Llama.generate` leaves it), plus the
        accepted tokens not yet yielded, and `input_ids`/`n_tokens` say exactly that: the next call
        reuses the prefix as after a plain one."""
        import numpy as np

        llm = self._llm
        ctx, batch = llm._ctx, llm._batch
        n_vocab, n_ctx = llm.n_vocab(), self.n_ctx
        llm._requires_eval = True  # llama-cpp-python's logits will not match its last token
        self.read_prompt(tokens, self._cached_prefix(tokens))
        rows = np.ctypeslib.as_array(ctx.get_logits(), shape=(1, n_vocab))
        nxt = int(rows[0].argmax())
        drafter, pacer = Drafter(tokens), self._pacer
        pacer.begin()
        clock = now
        made = 0
        try:
            while True:
                yield nxt
                made += 1
                drafter.add(nxt)
                # Room: the reply's budget, and the context (the consumer stops at n_ctx).
                room = min(max_tokens - made, n_ctx - 1 - llm.n_tokens - 1)
                proposed = drafter.draft(min(room, MAX_K)) if room > 0 else []
                draft = proposed[: pacer.choose(len(proposed))]
                step = [nxt, *draft]
                n_past = llm.n_tokens
                t0 = clock()
                batch.set_batch(batch=step, n_past=n_past, logits_all=True)
                ctx.decode(batch)
                rows = np.ctypeslib.as_array(ctx.get_logits(), shape=(len(step), n_vocab))
                best = rows.argmax(axis=1)
                pacer.costs.observe(len(step), clock() - t0)
                llm.input_ids[n_past : n_past + len(step)] = step
                llm.n_tokens += len(step)
                took = 0
                while took < len(draft) and int(best[took]) == draft[took]:
                    took += 1
                if took < len(draft):  # the rejected tail leaves the cache
                    ctx.kv_cache_seq_rm(-1, n_past + 1 + took, -1)
                    llm.n_tokens = n_past + 1 + took
                pacer.record(len(draft), took)
                stats.drafted_tokens, stats.accepted_tokens, stats.drafts = pacer.drafted, pacer.accepted, pacer.drafts
                for t in draft[:took]:
                    yield t
                    made += 1
                    drafter.add(t)
                nxt = int(best[took])
        finally:
            # Accepted tokens the consumer did not take stay in the cache: it holds a prefix of what
            # this call would have said, which input_ids[:n_tokens] records exactly.
            llm._requires_eval = True

    def close(self) -> None:
        llm = getattr(self, "_llm", None)
        if llm is not None:
            llm.close()
            self._llm = None
            mark("model closed")


class LlamaTokenizer:
    """The model's tokenizer alone (vocab-only load, no context): for budgets without a model loaded."""

    def __init__(self, path: str) -> None:
        import ctypes
        import logging

        import llama_cpp

        self._llama_cpp = llama_cpp
        self._ctypes = ctypes
        params = llama_cpp.llama_model_default_params()
        params.vocab_only = True
        # llama-cpp-python's log callback prints what its logger's level lets through; the
        # vocabulary loader complains about Qwen's '</s>' token at error level: quiet it here.
        log = logging.getLogger("llama-cpp-python")
        level = log.level
        log.setLevel(logging.CRITICAL)
        try:
            self._model = llama_cpp.llama_model_load_from_file(path.encode("utf-8"), params)
        finally:
            log.setLevel(level)
        if not self._model:
            raise ModelError(f"llama.cpp could not read the vocabulary of {path}")
        self._vocab = llama_cpp.llama_model_get_vocab(self._model)

    def tokenize(self, text: str) -> list[int]:
        data = text.encode("utf-8")
        size = len(data) + 16
        buf = (self._llama_cpp.llama_token * size)()
        n = self._llama_cpp.llama_tokenize(self._vocab, data, len(data), buf, size, False, False)
        if n < 0:  # pragma: no cover - the buffer is always large enough for byte-level BPE
            raise ValueError("tokenizer buffer too small")
        return list(buf[:n])

    def count_tokens(self, text: str) -> int:
        return len(self.tokenize(text)) if text else 0

    def close(self) -> None:
        if self._model:
            self._llama_cpp.llama_model_free(self._model)
            self._model = None
