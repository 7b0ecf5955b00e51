from matrix import Matrix


def test_rows():
    m = Matrix("1 2\n10 20")
    assert m.row(1) == [1, 2]
    assert m.row(2) == [10, 20]


def test_columns():
    m = Matrix("1 2 3\n4 5 6\n7 8 9\n8 7 6")
    assert m.column(1) == [1, 4, 7, 8]
    assert m.column(3) == [3, 6, 9, 6]
