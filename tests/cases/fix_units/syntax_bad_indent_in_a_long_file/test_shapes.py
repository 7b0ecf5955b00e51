import math

from shapes import FORMULAS, area_of_sector


def test_a_half_turn_is_half_a_disc():
    assert area_of_sector(2, math.pi) == FORMULAS["semicircle"](2)
