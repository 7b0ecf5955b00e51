from atbash import decode, encode


def test_encode():
    assert encode("yes") == "bvh"
    assert encode("OMG") == "lnt"
    assert encode("Testing, 1 2 3, testing.") == "gvhgr mt123 gvhgr mt"
    assert encode("The quick brown fox jumps over the lazy dog.") == "gsvjf rxpyi ldmul cqfnk hlevi gsvoz abwlt"


def test_decode():
    assert decode("vcvix rhn") == "exercism"
    assert decode("zmlyh gzxov rhlug vmzhg vkkrm thglm v") == "anobstacleisoftenasteppingstone"
    assert decode("vc vix    r hn") == "exercism"
