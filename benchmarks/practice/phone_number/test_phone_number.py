import pytest
from phone_number import PhoneNumber


def test_cleans():
    assert PhoneNumber("(223) 456-7890").number == "2234567890"
    assert PhoneNumber("223.456.7890").number == "2234567890"
    assert PhoneNumber("+1 (223) 456-7890").number == "2234567890"
    assert PhoneNumber("12234567890").area_code == "223"


@pytest.mark.parametrize("text", ["123456789", "22234567890", "123-abc-7890", "321234567890"])
def test_invalid(text):
    with pytest.raises(ValueError):
        PhoneNumber(text)
