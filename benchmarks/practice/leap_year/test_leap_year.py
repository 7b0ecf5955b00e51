from leap_year import is_leap


def test_ordinary_years():
    assert is_leap(2024) is True
    assert is_leap(2023) is False


def test_centuries():
    assert is_leap(1900) is False
    assert is_leap(2000) is True
    assert is_leap(2100) is False
    assert is_leap(2400) is True
