from anagram import find_anagrams


def test_finds_anagrams_in_order():
    assert find_anagrams("listen", ["enlists", "google", "inlets", "banana", "Silent"]) == ["inlets", "Silent"]


def test_no_match():
    assert find_anagrams("diaper", ["hello", "world", "zombies", "pants"]) == []


def test_a_word_is_not_its_own_anagram():
    assert find_anagrams("BANANA", ["banana", "Banana", "nabana"]) == ["nabana"]
