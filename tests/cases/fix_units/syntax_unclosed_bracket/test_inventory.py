from inventory import Item, move


def test_move_splits_the_stock():
    items = [Item("a1", "bolt", "north", 10)]
    moved = move(items, "a1", "north", "south", 4)
    assert [(i.warehouse, i.quantity) for i in moved] == [("north", 6), ("south", 4)]
