from text import slugify


def test_slugify_joins_words_with_hyphens():
    assert slugify("The Art of Computer Programming") == "art-computer-programming"


def test_slugify_drops_accents():
    assert slugify("Crème brûlée") == "creme-brulee"
