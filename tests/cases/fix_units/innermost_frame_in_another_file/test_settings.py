from settings import load_settings


def test_defaults():
    s = load_settings("")
    assert (s.timeout, s.retry_after, s.workers) == (30, 60, 4)
