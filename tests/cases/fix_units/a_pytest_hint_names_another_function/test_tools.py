from tools import frequencies, get, merge


def test_get():
    assert get(1, "abc") == "b"
    assert get(5, "abc") is None


def test_merge():
    assert merge({"a": 1}, {"a": 2, "b": 3}) == {"a": 2, "b": 3}


def test_frequencies():
    assert frequencies(["cat", "pig", "cat", "eel", "pig", "dog", "dog", "dog"]) == {"cat": 2, "eel": 1, "pig": 2, "dog": 3}
