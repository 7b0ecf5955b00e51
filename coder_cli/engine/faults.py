"""Test-only native faults: make the engine really die (SIGSEGV, abort) or hang at its first decode.

The crash report of `coder` and the probe of `coder doctor` exist for crashes inside llama.cpp
that this machine may never produce (the AMX repack crash needs an Intel AMX CPU). Tests set
``CODER_TEST_FAULT=KIND[@WHEN]`` to produce the same kind of death on any machine:

- KIND: ``segv`` (a real invalid read: SIGSEGV), ``abort`` (SIGABRT, as a C++ ``std::terminate``),
  ``hang`` (sleeps, as a deadlocked decode would).
- WHEN: a condition on the engine's load settings, so a probe that changes that setting gets
  past it: ``extra_bufts`` (extra buffer types on: the AMX crash), ``flash_attn``, ``gpu``
  (layers offloaded), ``threads`` (more than one), or ``always`` (the default).
"""

from __future__ import annotations

from dataclasses import dataclass

ENV = "CODER_TEST_FAULT"
KINDS = ("segv", "abort", "hang")
CONDITIONS = ("always", "extra_bufts", "flash_attn", "gpu", "threads")


@dataclass(frozen=True)
class Fault:
    kind: str
    when: str = "always"

    @classmethod
    def parse(cls, spec: str | None) -> Fault | None:
        if not spec:
            return None
        kind, _, when = spec.strip().lower().partition("@")
        when = when or "always"
        if kind not in KINDS or when not in CONDITIONS:
            raise ValueError(f"{ENV}={spec!r}: expected KIND[@WHEN], KIND one of {KINDS}, WHEN one of {CONDITIONS}")
        return cls(kind, when)

    def applies(self, *, extra_bufts: bool, flash_attn: bool, gpu_layers: int, threads: int) -> bool:
        return {
            "always": True,
            "extra_bufts": extra_bufts,
            "flash_attn": flash_attn,
            "gpu": gpu_layers != 0,
            "threads": threads > 1,
        }[self.when]

    def trigger(self) -> None:
        if self.kind == "segv":
            import ctypes

            ctypes.string_at(0)  # reads address 0: a real SIGSEGV, as in ggml's AMX matmul
        elif self.kind == "abort":
            import os

            os.abort()
        else:
            import time

            while True:
                time.sleep(3600)
