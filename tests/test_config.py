import os

import pytest

from coder_cli import config
from coder_cli.errors import ConfigError
from tests.conftest import run_inprocess


def test_layers_in_order(tmp_path):
    home, repo = tmp_path / "home", tmp_path / "repo"
    home.mkdir(), (repo / ".git").mkdir(parents=True)
    sub = repo / "pkg"
    sub.mkdir()
    (home / "config.toml").write_text("ctx = 2048\nthreads = 3\nseed = 7\nmax_tokens = 100\n")
    (repo / ".coder.toml").write_text("ctx = 4096\nthreads = 4\nmax_tokens = 200\n")
    s = config.load(home, sub, {"CODER_THREADS": "5", "CODER_MAX_TOKENS": "300"}, {"max_tokens": 400, "model": None})
    assert (s.seed, s.origins["seed"]) == (7, str(home / "config.toml"))
    assert (s.ctx, s.origins["ctx"]) == (4096, str(repo / ".coder.toml"))
    assert (s.threads, s.origins["threads"]) == (5, "CODER_THREADS")
    assert (s.max_tokens, s.origins["max_tokens"]) == (400, "flag")
    assert (s.model, s.origins["model"]) == ("default", "default")


def test_unknown_key_in_a_file_is_an_error_with_a_suggestion(tmp_path):
    (tmp_path / "config.toml").write_text("# settings\n\ntemprature = 0.2\n")
    with pytest.raises(ConfigError, match=r"config.toml:3: unknown config key 'temprature'") as err:
        config.load(tmp_path, tmp_path, {})
    assert err.value.hint == "did you mean 'temperature'?"


def test_invalid_toml_names_the_line(tmp_path):
    (tmp_path / "config.toml").write_text('model = "default"\nctx = = 3\n')
    with pytest.raises(ConfigError, match=r"line 2"):
        config.load(tmp_path, tmp_path, {})


def test_bad_values_are_errors(tmp_path):
    with pytest.raises(ConfigError, match="CODER_CTX"):
        config.load(tmp_path, tmp_path, {"CODER_CTX": "lots"})
    with pytest.raises(ConfigError, match="--gpu-layers"):
        config.load(tmp_path, tmp_path, {}, {"gpu_layers": "some"})
    assert config.load(tmp_path, tmp_path, {"CODER_GPU_LAYERS": "AUTO"}).gpu_layers == "auto"
    assert config.load(tmp_path, tmp_path, {"CODER_FLASH_ATTN": "off"}).flash_attn is False


def test_unknown_env_var_is_a_warning_not_an_error(tmp_path):
    s = config.load(tmp_path, tmp_path, {"CODER_MODLE": "x"})
    assert "CODER_MODLE" in s.warnings[0] and "model" in s.warnings[0]


def test_config_show_prints_values_and_origins(tmp_path, home):
    (home / "config.toml").write_text("ctx = 1024\n")
    r = run_inprocess(["config", "show"], home, tmp_path, CODER_TEMPERATURE="0.5")
    assert r.code == 0, r.stderr
    lines = {line.split()[0]: line.split() for line in r.stdout.splitlines()}
    assert lines["ctx"][1:] == ["1024", str(home / "config.toml")]
    assert lines["temperature"][1:] == ["0.5", "CODER_TEMPERATURE"]
    assert lines["model"][1:] == ["default", "default"]


def test_cli_reports_invalid_config_with_exit_3(tmp_path, home):
    (home / "config.toml").write_text("model = \n")
    r = run_inprocess(["config", "show"], home, tmp_path)
    assert r.code == 3
    assert "invalid TOML" in r.stderr and "line 1" in r.stderr


# --- what a cloned repository's .coder.toml may set (issue 16, finding 10) -------------------------


def project(tmp_path, text: str):
    """(home, repo) with TEXT as the repository's .coder.toml."""
    home, repo = tmp_path / "home", tmp_path / "repo"
    home.mkdir(parents=True), (repo / ".git").mkdir(parents=True)
    (repo / ".coder.toml").write_text(text)
    return home, repo


@pytest.mark.parametrize(
    "model",
    ["scripted:.git/../reply.json", "../models/evil.gguf", "/tmp/x.gguf", "reply.json", "no-such-model", "scripted:/abs"],
)
def test_a_project_file_cannot_choose_a_model_file_or_the_scripted_engine(tmp_path, model):
    home, repo = project(tmp_path, f"model = {model!r}\nctx = 4096\n")
    (repo / "reply.json").write_text("{}")
    s = config.load(home, repo, {})
    assert (s.model, s.origins["model"]) == ("default", "default")
    assert s.ctx == 4096  # the rest of the file still applies
    [warning] = s.warnings
    assert warning.startswith(f"{repo / '.coder.toml'}: ignoring 'model'")
    assert "CODER_MODEL" in warning and str(home / "config.toml") in warning


def test_a_project_file_may_name_a_manifest_model_by_id_or_alias(tmp_path):
    from coder_cli import manifest

    m = manifest.load_all()[-1]
    for name in (m.id, *m.aliases):
        home, repo = project(tmp_path / name, f"model = {name!r}\n")
        (home / "models").mkdir()
        (home / "models" / m.file).write_bytes(b"")  # installed (the store's file is there)
        s = config.load(home, repo, {})
        assert (s.model, s.origins["model"], s.warnings) == (name, str(repo / ".coder.toml"), [])


def test_a_project_file_may_not_choose_a_model_that_is_not_installed(tmp_path):
    """It would make every command in the clone fail with "not installed" (or start a download),
    and it would override the user's own choice of model."""
    from coder_cli import manifest

    m = manifest.load_all()[-1]
    home, repo = project(tmp_path, f"model = {m.id!r}\n")
    (home / "config.toml").write_text('model = "mine.gguf"\n')
    s = config.load(home, repo, {})
    assert s.model == "mine.gguf"
    [warning] = s.warnings
    assert f"{m.id} is not installed" in warning and f"coder models pull {m.id}" in warning


@pytest.mark.parametrize(
    "setup, why",
    [
        (lambda p: p.write_text("bogus = 1\nctx = 4096\n"), "unknown config key 'bogus'"),
        (lambda p: p.write_text("ctx = {a = 1}\n"), "must be a value, not a table"),
        (lambda p: p.write_text("ctx = \n"), "invalid TOML"),
        (lambda p: p.write_bytes(b"ctx = 4096 # \xff\n"), "not UTF-8"),
        (lambda p: p.write_text("# " + "x" * 70_000 + "\n"), "over 64 KB"),
        (lambda p: os.symlink("/dev/zero", p), "not a regular file"),
        (lambda p: os.mkfifo(p), "not a regular file"),
    ],
)
def test_a_broken_project_file_is_a_warning_not_a_stop(tmp_path, setup, why):
    """A cloned repository's .coder.toml that is not a config file (a FIFO, a link to /dev/zero,
    megabytes, garbage, a key from a newer coder) neither stops nor hangs every command in it."""
    home, repo = project(tmp_path, "")
    (repo / ".coder.toml").unlink()
    setup(repo / ".coder.toml")
    s = config.load(home, repo, {})
    assert s.model == "default"
    assert any(why in w for w in s.warnings), s.warnings
    if why.startswith("unknown"):
        assert s.ctx == 4096  # the rest of the file still applies


def test_the_user_may_still_choose_a_path_or_the_scripted_engine(tmp_path):
    home, repo = project(tmp_path, 'model = "scripted:evil.json"\n')
    (home / "config.toml").write_text('model = "scripted:mine.json"\n')
    assert config.load(home, repo, {}).model == "scripted:mine.json"
    assert config.load(home, repo, {"CODER_MODEL": "/models/x.gguf"}).model == "/models/x.gguf"
    assert config.load(home, repo, {}, {"model": "scripted:flag.json"}).model == "scripted:flag.json"


def test_a_project_file_cannot_set_the_remote_servers_timeout(tmp_path):
    home, repo = project(tmp_path, "request_timeout = 86400\n")
    s = config.load(home, repo, {})
    assert s.request_timeout == 600 and "ignoring 'request_timeout'" in s.warnings[0]


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("threads = 100000\n", "threads"),
        ("ctx = 10000000\n", "ctx"),
        ("batch = 1000000\n", "batch"),
        ("max_tokens = 100000000\n", "max_tokens"),
        ("gpu_layers = 100000\n", "gpu_layers"),
        ("seed = 100000000000000000000\n", "seed"),
        ("seed = -5\n", "seed"),  # -1 is llama.cpp's "random"; below it, nothing
        ('ctx = "lots"\n', "ctx"),
    ],
)
def test_out_of_bounds_values_in_a_project_file_are_ignored_with_a_warning(tmp_path, text, key):
    home, repo = project(tmp_path, text + "temperature = 0.5\n")
    s = config.load(home, repo, {})
    assert (s.values[key], s.origins[key]) == (config.KEYS[key].default, "default")
    assert s.temperature == 0.5
    [warning] = s.warnings
    assert warning.startswith(f"{repo / '.coder.toml'}: ignoring {key!r}") and f"CODER_{key.upper()}" in warning


def test_a_project_file_gets_no_more_threads_than_the_machine_has(tmp_path):
    import os

    cpus = os.cpu_count() or 1
    home, repo = project(tmp_path, f"threads = {cpus + 1}\n")
    assert config.load(home, repo, {}).threads == 0
    home, repo = project(tmp_path / "ok", f"threads = {cpus}\n")
    assert config.load(home, repo, {}).threads == cpus


def test_a_project_file_has_tighter_bounds_on_memory_than_the_user(tmp_path):
    home, repo = project(tmp_path, "ctx = 65536\nbatch = 4096\n")
    s = config.load(home, repo, {})
    assert (s.ctx, s.batch) == (8192, 512) and len(s.warnings) == 2
    assert "65,536 is more than a project file may set (32,768)" in s.warnings[1]
    (home / "config.toml").write_text("ctx = 65536\nbatch = 4096\n")
    s = config.load(home, repo, {})
    assert (s.ctx, s.batch) == (65536, 4096)
    home, repo = project(tmp_path / "ok", "ctx = 32768\nbatch = 2048\n")
    assert (config.load(home, repo, {}).ctx, config.load(home, repo, {}).batch) == (32768, 2048)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("CODER_THREADS", "100000"),
        ("CODER_CTX", "10000000"),
        ("CODER_BATCH", "1000000"),
        ("CODER_MAX_TOKENS", "100000000"),
        ("CODER_GPU_LAYERS", "100000"),
        ("CODER_SEED", "4294967296"),
        ("CODER_REQUEST_TIMEOUT", "1000000"),
    ],
)
def test_every_size_is_bounded_wherever_it_is_set(tmp_path, name, value):
    with pytest.raises(ConfigError, match=name):
        config.load(tmp_path, tmp_path, {name: value})


def test_the_largest_values_allowed_are_accepted(tmp_path):
    s = config.load(tmp_path, tmp_path, {"CODER_THREADS": "1024", "CODER_SEED": "4294967295", "CODER_GPU_LAYERS": "-1"})
    assert (s.threads, s.seed, s.gpu_layers) == (1024, 4294967295, -1)


def test_a_cloned_repository_cannot_make_ask_answer_or_record_prompts(tmp_path, home, scripted):
    """`model = "scripted:…"` in .coder.toml made `coder ask` print the repository's answer and write the
    user's prompts into a file the repository chose."""
    mine, my_calls = scripted("the answer of the model you chose")
    (home / "config.toml").write_text(f"model = {mine!r}\n")
    repo = tmp_path / "clone"
    (repo / ".git").mkdir(parents=True)
    (repo / "reply.json").write_text('{"replies": ["42, says the repository"]}')
    (repo / ".coder.toml").write_text('model = "scripted:.git/../reply.json"\n')
    r = run_inprocess(["ask", "my secret question"], home, repo)
    assert r.code == 0, r.stderr
    assert r.stdout.strip() == "the answer of the model you chose"
    assert not (repo / "reply.json.calls.jsonl").exists()
    assert "my secret question" in my_calls()[0]["messages"][-1]["content"]
    assert f"{repo / '.coder.toml'}: ignoring 'model'" in r.stderr


def test_a_file_named_like_a_model_is_not_loaded_as_that_model(tmp_path, monkeypatch):
    """A cloned repository holding a file named `default` (or any model id) must not have it read as
    the GGUF when the working folder is the repository: ids and aliases name models, never files."""
    from coder_cli import manifest
    from coder_cli.model_store import looks_like_path

    monkeypatch.chdir(tmp_path)
    names = ["default", manifest.load_all()[0].id]
    for name in names:
        (tmp_path / name).write_bytes(b"GGUF not really")
        assert not looks_like_path(name)
    (tmp_path / "mine.bin").write_bytes(b"GGUF")
    assert looks_like_path("mine.bin") and looks_like_path("x.gguf") and looks_like_path("dir/model")


def test_seed_minus_one_asks_for_a_random_seed_as_in_llama_cpp(tmp_path):
    """-1 is llama.cpp's default seed (a random one): configs and clients that use it keep working."""
    home, repo = project(tmp_path, "")
    assert config.load(home, repo, {"CODER_SEED": "-1"}).seed == -1
