"""What the installed llama.cpp build reports, and the load settings that follow from it.

A source build of llama-cpp-python compiles ggml with ``-march=native``. On Intel CPUs with AMX
(Sapphire Rapids and later) that turns on ggml's AMX backend, whose repack of Q4_K/Q6_K/Q8_0
weights into "extra" CPU buffer types segfaults on the first decode (llama.cpp issue 20824).
The build says so in ``llama_print_system_info()`` (``AMX_INT8 = 1``). Loading with
``llama_model_params.use_extra_bufts = False`` keeps every weight in ordinary CPU buffers and
avoids it; the cost is the x86/ARM weight repack as well (measured: benchmarks/extra_bufts.py).

``Llama(...)`` takes no ``use_extra_bufts`` argument: it builds its model parameters from
``llama_cpp.llama_model_default_params()`` inside ``__init__``. ``model_params`` wraps that
function (once, for good) with one that applies overrides set for the current thread only, for
the duration of one load; the engine then checks the field on the ``model_params`` object that
``Llama`` kept, so a binding that stops calling it is an error, not a silent crash.

Nothing here imports ``llama_cpp`` at module level: the decision is pure, and tests inject the
system-info string.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


class BindingMismatch(Exception):
    """The installed llama-cpp-python does not build its model parameters the way this module expects."""


_FEATURE = re.compile(r"([A-Za-z0-9_]+)\s*=\s*([^|]+?)\s*(?:\||$)")
_INSTALL_LOCK = threading.Lock()
_OVERRIDES = threading.local()


def features(system_info: str) -> dict[str, str]:
    """``llama_print_system_info()`` as a dict: ``{"AVX2": "1", "AMX_INT8": "1", "REPACK": "1", ...}``."""
    return {m.group(1).upper(): m.group(2) for m in _FEATURE.finditer(system_info)}


def has_amx(system_info: str) -> bool:
    return features(system_info).get("AMX_INT8") == "1"


@dataclass(frozen=True)
class ExtraBufts:
    """Whether a load uses llama.cpp's extra (weight-repack) buffer types, and why."""

    on: bool
    why: str


def decide_extra_bufts(setting: str | bool, system_info: str) -> ExtraBufts:
    """SETTING is the config value: "auto", True or False. "auto" turns them off when the build
    reports AMX (its repack crashes) and leaves llama.cpp's default (on) everywhere else."""
    if setting is True:
        return ExtraBufts(True, "on (extra_bufts = true)")
    if setting is False:
        return ExtraBufts(False, "off (extra_bufts = false)")
    if has_amx(system_info):
        return ExtraBufts(
            False,
            "off: this llama.cpp build reports AMX_INT8 = 1, and its AMX weight repack crashes on the first decode "
            "(llama.cpp issue 20824); extra_bufts = true turns them back on",
        )
    return ExtraBufts(True, "on: llama.cpp's default (this build reports no AMX)")


@contextmanager
def model_params(llama_cpp_module, **fields) -> Iterator[None]:
    """While active, in this thread only, ``llama_model_default_params()`` (which ``Llama.__init__``
    calls to start its model parameters) returns them with FIELDS set. The binding's function is
    wrapped once, for good; the wrapper changes nothing for other threads or outside this block."""
    lowlevel = llama_cpp_module.llama_cpp
    names = {name for name, _ in lowlevel.llama_model_params._fields_}
    unknown = sorted(set(fields) - names)
    if unknown:
        raise BindingMismatch(f"this llama-cpp-python's llama_model_params has no {', '.join(unknown)}")
    _install(lowlevel)
    previous = getattr(_OVERRIDES, "fields", None)
    _OVERRIDES.fields = {**(previous or {}), **fields}
    try:
        yield
    finally:
        _OVERRIDES.fields = previous


def _install(lowlevel) -> None:
    with _INSTALL_LOCK:
        original = lowlevel.llama_model_default_params
        if getattr(original, "coder_overrides", False):
            return

        def defaults():
            params = original()
            for name, value in (getattr(_OVERRIDES, "fields", None) or {}).items():
                setattr(params, name, value)
            return params

        defaults.coder_overrides = True
        lowlevel.llama_model_default_params = defaults
