from prices import price_with_tax


def test_prices_include_tax():
    assert price_with_tax("bread") == 2.68
    assert price_with_tax("lamp") == 36.0
