from app import mean, percent


def test_mean():
    assert mean([1, 2, 3]) == 2


def test_percent():
    assert percent(1, 4) == 25.0
