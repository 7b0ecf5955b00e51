from run_length import decode, encode


def test_encode():
    assert encode("") == ""
    assert encode("XYZ") == "XYZ"
    assert encode("WWWWWWWWWWWWBWWWWWWWWWWWWBBBWWWWWWWWWWWWWWWWWWWWWWWWB") == "12WB12W3B24WB"
    assert encode("  hsqq qww  ") == "2 hs2q q2w2 "


def test_decode():
    assert decode("") == ""
    assert decode("12WB12W3B24WB") == "WWWWWWWWWWWWBWWWWWWWWWWWWBBBWWWWWWWWWWWWWWWWWWWWWWWWB"
    assert decode("2 hs2q q2w2 ") == "  hsqq qww  "


def test_round_trip():
    assert decode(encode("zzz ZZ  zZ")) == "zzz ZZ  zZ"
