from word_count import count_words


def test_simple():
    assert count_words("one fish two fish") == {"one": 1, "fish": 2, "two": 1}


def test_case_and_punctuation():
    assert count_words("Go, go, GO! stop.") == {"go": 3, "stop": 1}
    assert count_words("car: carpet as java: javascript!!&@$%^&") == {"car": 1, "carpet": 1, "as": 1, "java": 1, "javascript": 1}


def test_apostrophes_and_quotes():
    assert count_words("Joe can't tell between 'large' and large.") == {
        "joe": 1,
        "can't": 1,
        "tell": 1,
        "between": 1,
        "large": 2,
        "and": 1,
    }
