"""Map quality on the standard library: with --focus on an identifier, the file that
defines it (or, for "where is it used" questions, a file that uses it) is among the
first 10 files of the map, for at least 18 of 20 questions."""

from __future__ import annotations

import sysconfig
from pathlib import Path

import pytest

from coder_cli.context.repomap import RepoIndex, build_map

# (identifier, the file that answers the question)
DEFINES = [
    ("JSONDecoder", "json/decoder.py"),
    ("urlsplit", "urllib/parse.py"),
    ("ThreadPoolExecutor", "concurrent/futures/thread.py"),
    ("ArgumentParser", "argparse.py"),
    ("dedent", "textwrap.py"),
    ("SequenceMatcher", "difflib.py"),
    ("HTTPConnection", "http/client.py"),
    ("Fraction", "fractions.py"),
    ("deepcopy", "copy.py"),
    ("TemporaryDirectory", "tempfile.py"),
    ("namedtuple", "collections/__init__.py"),
    ("dataclass", "dataclasses.py"),
    ("lru_cache", "functools.py"),
    ("heappush", "heapq.py"),
    ("SMTP", "smtplib.py"),
    ("Popen", "subprocess.py"),
]
USED_BY = [
    ("_default_decoder", "json/__init__.py"),
    ("_make_iterencode", "json/encoder.py"),
    ("_compile", "re/__init__.py"),
    ("_splittype", "urllib/request.py"),
]


@pytest.fixture(scope="module")
def stdlib_index(tmp_path_factory):
    root = Path(sysconfig.get_paths()["stdlib"])
    index = RepoIndex(root, tmp_path_factory.mktemp("stdlib-home"), time_budget=600)
    yield index
    index.close()


@pytest.mark.model
def test_focus_finds_the_answer_in_the_first_ten_files(stdlib_index, engine):
    hits, misses = 0, []
    for ident, answer in DEFINES + USED_BY:
        m = build_map(stdlib_index, budget=1024, count_tokens=engine.count_tokens, tokenizer_id=engine.info.model, focus=[ident])
        assert m.stats.tokens <= 1024
        if answer in m.files[:10]:
            hits += 1
        else:
            misses.append((ident, answer, m.files[:10]))
    print(f"{hits}/20", misses)
    assert hits >= 18, misses


@pytest.mark.model
def test_block_token_counts_add_up_to_the_whole_map(stdlib_index, engine, model_path):
    """The map's budget is checked per file block; for Qwen's tokenizer the sum is exact."""
    from coder_cli.context.render import render
    from coder_cli.engine.llama import LlamaTokenizer

    tokenizer = LlamaTokenizer(str(model_path))
    m = build_map(stdlib_index, budget=4096, count_tokens=engine.count_tokens, tokenizer_id=engine.info.model + "-x")
    assert m.stats.tokens == engine.count_tokens(m.text) == tokenizer.count_tokens(m.text)
    ranked = [(rel, i) for rel in m.files for i in range(len(stdlib_index.defs_of(rel)))]
    blocks, _ = render(ranked, stdlib_index.defs_of, len(ranked))
    assert sum(engine.count_tokens(b) for b in blocks) == engine.count_tokens("".join(blocks))
    tokenizer.close()
