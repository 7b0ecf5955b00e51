from isogram import is_isogram


def test_isograms():
    assert is_isogram("") is True
    assert is_isogram("lumberjacks") is True
    assert is_isogram("six-year-old") is True
    assert is_isogram("Emily Jung Schwartzkopf") is True


def test_not_isograms():
    assert is_isogram("eleven") is False
    assert is_isogram("Alphabet") is False
    assert is_isogram("accentor-a") is False
