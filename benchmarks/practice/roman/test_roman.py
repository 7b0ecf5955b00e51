from roman import roman


def test_numerals():
    assert roman(1) == "I"
    assert roman(4) == "IV"
    assert roman(9) == "IX"
    assert roman(27) == "XXVII"
    assert roman(48) == "XLVIII"
    assert roman(402) == "CDII"
    assert roman(1990) == "MCMXC"
    assert roman(3999) == "MMMCMXCIX"
