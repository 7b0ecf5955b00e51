import pytest
from series import slices


def test_slices():
    assert slices("1", 1) == ["1"]
    assert slices("35", 2) == ["35"]
    assert slices("49142", 3) == ["491", "914", "142"]
    assert slices("777777", 3) == ["777", "777", "777", "777"]


@pytest.mark.parametrize(
    "series, length, message",
    [
        ("12345", 0, "slice length cannot be zero"),
        ("123", -1, "slice length cannot be negative"),
        ("", 1, "series cannot be empty"),
        ("12345", 6, "slice length cannot be greater than series length"),
    ],
)
def test_errors(series, length, message):
    with pytest.raises(ValueError) as err:
        slices(series, length)
    assert str(err.value) == message
