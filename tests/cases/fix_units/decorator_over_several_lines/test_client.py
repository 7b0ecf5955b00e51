from client import Client, Response, flaky


def test_a_dropped_connection_is_retried():
    client = Client(flaky([ConnectionError("reset"), Response(200, "hello")]), "http://x")
    assert client.get("/greeting") == "hello"
