from routes import dispatch


def test_dispatch():
    assert dispatch("/users/7") == "user 7"
    assert dispatch("/nowhere") == "404"
