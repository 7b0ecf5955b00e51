import pytest
from hamming import distance


def test_distances():
    assert distance("", "") == 0
    assert distance("GGACTGA", "GGACTGA") == 0
    assert distance("GGACGGATTCTG", "AGGACGGATTCT") == 9


def test_unequal_lengths():
    with pytest.raises(ValueError) as err:
        distance("AATG", "AAA")
    assert str(err.value) == "Strands must be of equal length."
