from scrabble_score import score


def test_scores():
    assert score("") == 0
    assert score("a") == 1
    assert score("cabbage") == 14
    assert score("OxyphenButazone") == 41
    assert score("quirky") == 22
