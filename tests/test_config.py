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
