from units import compass


def test_compass_points():
    assert compass(0) == "N"
    assert compass(350) == "N"
