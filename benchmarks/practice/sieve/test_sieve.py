from sieve import primes


def test_small_limits():
    assert primes(1) == []
    assert primes(2) == [2]
    assert primes(10) == [2, 3, 5, 7]
    assert primes(13) == [2, 3, 5, 7, 11, 13]


def test_count_below_1000():
    found = primes(1000)
    assert len(found) == 168 and found[-1] == 997
