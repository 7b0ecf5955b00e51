import pytest
from collatz import steps


def test_steps():
    assert steps(1) == 0
    assert steps(16) == 4
    assert steps(12) == 9
    assert steps(1000000) == 152


def test_not_positive():
    for n in (0, -15):
        with pytest.raises(ValueError) as err:
            steps(n)
        assert str(err.value) == "Only positive integers are allowed"
