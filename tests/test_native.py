"""The llama.cpp build's report decides the load settings: extra buffer types off on AMX builds."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from coder_cli import config
from coder_cli.engine.native import BindingMismatch, decide_extra_bufts, features, has_amx, model_params
from coder_cli.errors import ConfigError

# What llama-cpp-python 0.3.36 built with -march=native reports on an Intel Xeon with AMX (this
# project's CI machine at the time of writing), and on an AMD EPYC (the one before it).
AMX_INFO = (
    "CPU : SSE3 = 1 | SSSE3 = 1 | AVX = 1 | AVX_VNNI = 1 | AVX2 = 1 | F16C = 1 | FMA = 1 | BMI2 = 1 | AVX512 = 1 | "
    "AVX512_VBMI = 1 | AVX512_VNNI = 1 | AVX512_BF16 = 1 | AMX_INT8 = 1 | LLAMAFILE = 1 | OPENMP = 1 | REPACK = 1 | "
)
PLAIN_INFO = (
    "CPU : SSE3 = 1 | SSSE3 = 1 | AVX = 1 | AVX2 = 1 | F16C = 1 | FMA = 1 | BMI2 = 1 | LLAMAFILE = 1 | OPENMP = 1 | REPACK = 1 | "
)


def test_system_info_is_read_feature_by_feature():
    f = features(AMX_INFO)
    assert f["AMX_INT8"] == "1" and f["AVX2"] == "1" and f["REPACK"] == "1"
    assert has_amx(AMX_INFO) is True
    assert has_amx(PLAIN_INFO) is False
    assert has_amx(AMX_INFO.replace("AMX_INT8 = 1", "AMX_INT8 = 0")) is False
    assert has_amx("") is False


def test_auto_turns_extra_buffer_types_off_only_where_the_build_reports_amx():
    off = decide_extra_bufts("auto", AMX_INFO)
    assert off.on is False and "AMX_INT8 = 1" in off.why and "20824" in off.why
    assert decide_extra_bufts("auto", PLAIN_INFO).on is True
    assert decide_extra_bufts(True, AMX_INFO).on is True  # for those whose llama.cpp is fixed
    assert decide_extra_bufts(False, PLAIN_INFO).on is False


def test_the_config_key_and_its_environment_variable(tmp_path):
    home = tmp_path / "home"
    assert config.load(home, tmp_path, {}).extra_bufts == "auto"
    assert config.load(home, tmp_path, {"CODER_EXTRA_BUFTS": "1"}).extra_bufts is True
    assert config.load(home, tmp_path, {"CODER_EXTRA_BUFTS": "false"}).extra_bufts is False
    with pytest.raises(ConfigError, match="expected auto, true or false"):
        config.load(home, tmp_path, {"CODER_EXTRA_BUFTS": "maybe"})


def test_the_params_hook_sets_the_field_for_one_load_in_this_thread_only():
    import threading

    import llama_cpp

    defaults = lambda: llama_cpp.llama_cpp.llama_model_default_params()  # noqa: E731 - looked up at call time
    assert defaults().use_extra_bufts is True  # llama.cpp's default
    seen = {}
    with model_params(llama_cpp, use_extra_bufts=False):
        assert defaults().use_extra_bufts is False
        other = threading.Thread(target=lambda: seen.update(other=defaults().use_extra_bufts))
        other.start()
        other.join()
        with model_params(llama_cpp, use_extra_bufts=True):  # nested: the inner value, then the outer again
            assert defaults().use_extra_bufts is True
        assert defaults().use_extra_bufts is False
    assert seen == {"other": True}  # a Llama built by another thread meanwhile keeps the default
    assert defaults().use_extra_bufts is True
    with pytest.raises(BindingMismatch, match="no_such_field"):
        with model_params(llama_cpp, no_such_field=1):
            pass
    assert defaults().use_extra_bufts is True


_LOAD = """
import json, sys
from coder_cli.engine.llama import LlamaEngine
from coder_cli.engine import GenParams
setting = sys.argv[3] if sys.argv[3] == "auto" else sys.argv[3] == "true"
e = LlamaEngine(sys.argv[1], "t", n_ctx=512, build_info=sys.argv[2], extra_bufts=setting)
out = {"params": bool(e._llm.model_params.use_extra_bufts), "info": e.info.extra_bufts, "notes": e.info.notes}
if sys.argv[4] == "decode":
    out["text"] = e.complete(e.tokenize("def add(a, b):\\n    return"), GenParams(max_tokens=4)).text()
print(json.dumps(out))
"""


def _load_in_child(model_path, info: str, setting: str, decode: bool):
    # A child: on an AMX machine a load with extra buffer types on must not decode in the test process.
    return subprocess.run(
        [sys.executable, "-c", _LOAD, str(model_path), info, setting, "decode" if decode else "load"],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.model
def test_an_amx_report_reaches_the_model_params_that_llama_receives(model_path):
    from coder_cli.engine.llama import LlamaEngine

    engine = LlamaEngine(str(model_path), "t", n_ctx=1024, build_info=AMX_INFO)
    try:
        assert engine._llm.model_params.use_extra_bufts is False
        assert engine.info.extra_bufts is False
        assert any("AMX_INT8 = 1" in note for note in engine.info.notes)
        from coder_cli.engine import GenParams

        assert engine.complete(engine.tokenize("def add(a, b):\n    return"), GenParams(max_tokens=6)).text().strip()
    finally:
        engine.close()


@pytest.mark.model
def test_a_report_without_amx_keeps_llamas_default(model_path):
    r = _load_in_child(model_path, PLAIN_INFO, "auto", decode=False)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["params"] is True and out["info"] is True
    r = _load_in_child(model_path, AMX_INFO, "true", decode=False)  # extra_bufts = true wins over the report
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["params"] is True


@pytest.mark.model
def test_this_build_decides_from_its_own_report(model_path):
    """With nothing injected, the build's own report decides; and on a build that reports AMX the
    extra buffer types really do kill the first decode (the reason for the default), while with
    the default the same load answers."""
    from coder_cli.engine.llama import system_info

    info = system_info()
    r = _load_in_child(model_path, info, "auto", decode=True)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["params"] is (not has_amx(info)) and out["text"].strip()
    forced = _load_in_child(model_path, info, "true", decode=True)
    if has_amx(info):
        assert forced.returncode < 0, f"expected the AMX repack to crash, got exit {forced.returncode}"
    else:
        assert forced.returncode == 0, forced.stderr
