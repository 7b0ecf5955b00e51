from triangle import equilateral, isosceles, scalene


def test_equilateral():
    assert equilateral([2, 2, 2]) is True
    assert equilateral([2, 3, 2]) is False
    assert equilateral([0, 0, 0]) is False


def test_isosceles():
    assert isosceles([3, 4, 4]) is True
    assert isosceles([4, 4, 4]) is True
    assert isosceles([2, 3, 4]) is False
    assert isosceles([1, 1, 3]) is False


def test_scalene():
    assert scalene([5, 4, 6]) is True
    assert scalene([4, 4, 4]) is False
    assert scalene([7, 3, 2]) is False
