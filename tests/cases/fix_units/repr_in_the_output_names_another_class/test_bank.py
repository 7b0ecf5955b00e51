from bank import Bank


def test_transfer_moves_money():
    bank = Bank()
    bank.open("ann").deposit(100)
    bank.open("bob")
    bank.transfer("ann", "bob", 30)
    assert bank.accounts["ann"].balance == 70
    assert bank.accounts["bob"].balance == 30
