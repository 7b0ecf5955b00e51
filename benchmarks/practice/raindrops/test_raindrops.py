from raindrops import convert


def test_single_sounds():
    assert convert(3) == "Pling"
    assert convert(5) == "Plang"
    assert convert(7) == "Plong"


def test_combined_sounds():
    assert convert(15) == "PlingPlang"
    assert convert(105) == "PlingPlangPlong"
    assert convert(35) == "PlangPlong"


def test_no_factor():
    assert convert(1) == "1"
    assert convert(52) == "52"
