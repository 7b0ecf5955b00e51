from luhn import valid


def test_valid_numbers():
    assert valid("059") is True
    assert valid("4539 3195 0343 6467") is True
    assert valid("095 245 88") is True


def test_invalid_numbers():
    assert valid("8273 1232 7352 0569") is False
    assert valid("0") is False
    assert valid("055-444-285") is False
    assert valid("059a") is False
