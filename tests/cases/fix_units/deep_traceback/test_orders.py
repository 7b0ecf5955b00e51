from orders import report


def test_report_of_two_orders():
    text = "ann, 2, 10.0, no\nbob, 1, 5.0, yes\n"
    assert report(text) == "revenue: 10.00\nrefund_rate: 0.50\naverage_basket: 2.00\ntop: ann"


def test_report_of_no_orders():
    assert report("") == "revenue: 0.00\nrefund_rate: 0.00\naverage_basket: 0.00"
