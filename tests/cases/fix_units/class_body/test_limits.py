from limits import Limits, paginate


def test_default_page():
    assert Limits.PAGE_SIZE == 50
    assert paginate(list(range(120)), 3) == list(range(100, 120))
