from bob import response


def test_answers():
    assert response("Tom-ay-to, tom-aaaah-to.") == "Whatever."
    assert response("WATCH OUT!") == "Whoa, chill out!"
    assert response("Does this cryogenic chamber make me look fat?") == "Sure."
    assert response("WHAT'S GOING ON?") == "Calm down, I know what I'm doing!"
    assert response("   \t  ") == "Fine. Be that way!"
    assert response("1, 2, 3 GO!") == "Whoa, chill out!"
    assert response("4?") == "Sure."
    assert response("Okay if like my  spacebar  quite a bit?   ") == "Sure."
    assert response("1, 2, 3") == "Whatever."
