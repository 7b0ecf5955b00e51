from table import render_table


def test_numbers_are_right_aligned():
    out = render_table(["name", "qty"], [["apple", 3], ["kiwi", 12]])
    assert out.splitlines()[2] == " apple |   3 "
    assert out.splitlines()[3] == " kiwi  |  12 "
