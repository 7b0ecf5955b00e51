from acronym import abbreviate


def test_basic():
    assert abbreviate("Portable Network Graphics") == "PNG"
    assert abbreviate("ruby on rails") == "ROR"


def test_hyphens_and_punctuation():
    assert abbreviate("Complementary metal-oxide semiconductor") == "CMOS"
    assert abbreviate("The Road _Not_ Taken") == "TRNT"
    assert abbreviate("Something - I made up from thin air") == "SIMUFTA"
