from armstrong import is_armstrong_number


def test_numbers():
    assert is_armstrong_number(0) is True
    assert is_armstrong_number(5) is True
    assert is_armstrong_number(10) is False
    assert is_armstrong_number(153) is True
    assert is_armstrong_number(100) is False
    assert is_armstrong_number(9474) is True
    assert is_armstrong_number(9475) is False
