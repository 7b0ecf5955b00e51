import struct

import pytest

from coder_cli import gguf
from coder_cli.errors import ModelError


def _string(s: str) -> bytes:
    b = s.encode()
    return struct.pack("<Q", len(b)) + b


def tiny_gguf(n_floats: int = 64) -> bytes:
    """A minimal GGUF v3 file: two metadata keys and one F32 tensor."""
    head = b"GGUF" + struct.pack("<IQQ", 3, 1, 2)
    head += _string("general.architecture") + struct.pack("<I", 8) + _string("tiny")
    head += _string("tiny.context_length") + struct.pack("<I", 4) + struct.pack("<I", 128)
    head += _string("w") + struct.pack("<I", 1) + struct.pack("<Q", n_floats) + struct.pack("<I", 0) + struct.pack("<Q", 0)
    pad = (-len(head)) % 32
    return head + b"\0" * pad + b"\1" * (4 * n_floats)


def test_reads_a_small_file(tmp_path):
    p = tmp_path / "m.gguf"
    p.write_bytes(tiny_gguf())
    info = gguf.read_info(p)
    assert info.architecture == "tiny" and info.context_length == 128
    assert info.data_end == p.stat().st_size


def test_truncated_tensor_data_is_refused(tmp_path):
    p = tmp_path / "m.gguf"
    p.write_bytes(tiny_gguf()[:-10])
    with pytest.raises(ModelError, match="truncated"):
        gguf.read_info(p)


def test_file_ending_inside_the_header_is_refused(tmp_path):
    p = tmp_path / "m.gguf"
    p.write_bytes(tiny_gguf()[:40])
    with pytest.raises(ModelError, match="ends inside its GGUF header"):
        gguf.read_info(p)


def test_not_gguf(tmp_path):
    p = tmp_path / "notes.gguf"
    p.write_text("hello")
    with pytest.raises(ModelError, match="not a GGUF model file"):
        gguf.read_info(p)
    with pytest.raises(ModelError, match="not found"):
        gguf.read_info(tmp_path / "missing.gguf")


@pytest.mark.model
def test_real_model_header(model_path):
    info = gguf.read_info(model_path)
    assert info.architecture == "qwen2"
    assert info.context_length == 32768
    assert "<|im_start|>" in info.chat_template
    assert info.data_end <= info.file_size


@pytest.mark.model
def test_real_model_cut_short_is_refused(model_path, tmp_path):
    cut = tmp_path / "cut.gguf"
    with model_path.open("rb") as src, cut.open("wb") as dst:
        dst.write(src.read(model_path.stat().st_size // 2))
    with pytest.raises(ModelError, match="truncated: its tensors need"):
        gguf.read_info(cut)
