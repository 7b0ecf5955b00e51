from geometry import midpoint


def test_midpoint():
    assert midpoint((0, 0), (4, 2)) == (2, 1)
