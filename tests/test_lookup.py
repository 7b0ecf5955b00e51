"""Prompt-lookup drafts (engine/lookup.py): which tokens are proposed, and how long a draft is checked."""

import pytest

from coder_cli.engine import lookup
from coder_cli.engine.lookup import BatchCosts, Drafter, Pacer


def test_the_tokens_after_the_latest_occurrence_of_the_longest_ngram_are_proposed():
    # "a b c d X Y Z ... a b c d" -> X Y Z; a shorter n-gram seen later does not win over it.
    d = Drafter([1, 2, 3, 4, 10, 11, 12, 13, 3, 4, 20, 21, 1, 2, 3, 4])
    assert d.draft(3) == [10, 11, 12]
    assert d.draft(1) == [10]  # the room left caps it
    assert d.draft(0) == []


def test_the_latest_occurrence_wins_and_the_current_one_is_never_its_own_match():
    d = Drafter([7, 8, 1, 7, 8, 2, 7, 8])
    assert d.draft(1) == [2]
    assert Drafter([5, 6, 7, 8]).draft(4) == []  # an n-gram seen once (just now) has no follower


def test_no_match_no_draft_and_a_draft_never_runs_past_the_text():
    d = Drafter([1, 2, 3])
    assert d.draft(8) == []
    d = Drafter([9, 9, 9, 9, 9])
    assert d.draft(8) == [9]  # the match overlaps the end: only what is known
    d.add(9)
    assert d.draft(8) == [9]


def timed(per_token: float, fixed: float = 0.0) -> BatchCosts:
    """Costs of a machine where a batch of n takes FIXED + PER_TOKEN * n (single decode = 1.0)."""
    costs = BatchCosts()
    for n in range(1, lookup.MAX_K + 2):
        costs.observe(n, (fixed + per_token * n) / 100)
    return costs


def started(costs: BatchCosts) -> Pacer:
    pacer = Pacer(costs)
    assert pacer.choose(10) == 0  # a generation's first step is a single decode, to time it
    return pacer


def test_where_a_batch_costs_about_as_much_as_one_token_the_longest_draft_is_checked():
    # A GPU or a memory-bound CPU: 16 tokens for little more than 1.
    pacer = started(timed(per_token=0.01, fixed=1.0))
    for _ in range(10):
        pacer.record(8, 8)
    assert pacer.choose(20) == lookup.MAX_K
    assert pacer.choose(3) == 3  # never more than was proposed


def test_where_a_batch_costs_n_decodes_nothing_is_drafted():
    # Arithmetic-bound: a batch of n costs n single decodes, so no draft can pay.
    pacer = started(timed(per_token=1.0))
    for _ in range(50):
        pacer.record(4, 4)  # even with every draft accepted
    assert pacer.choose(10) == 0


def test_on_a_2_core_cpu_drafts_pay_only_while_they_are_accepted():
    # The 0.5B on 2 AMD EPYC cores (benchmarks/speculate.py): a batch of n costs ~0.45 n + 0.55.
    pacer = started(timed(per_token=0.45, fixed=0.55))
    for _ in range(20):
        pacer.record(8, 8)
    long_run = pacer.choose(15)
    assert long_run >= 7
    for _ in range(6):
        pacer.record(long_run, 0)
    assert pacer.choose(15) == 0  # a run of rejections: plain decoding
    assert pacer.p < 0.4


def test_while_drafting_does_not_pay_the_acceptance_estimate_drifts_back_so_it_is_tried_again():
    pacer = started(timed(per_token=0.45, fixed=0.55))
    pacer.p = 0.1
    tries = 0
    while pacer.choose(15) == 0:
        tries += 1
        assert tries < 500
    assert tries > 20  # not at once
    assert pacer.p > 0.5


def test_batch_costs_are_relative_to_the_latest_single_decode_and_guessed_until_timed():
    costs = BatchCosts()
    assert costs.relative(5) == pytest.approx(1 + lookup.PRIOR_SLOPE * 4)  # nothing timed yet
    costs.observe(9, 0.5)  # no single decode to compare with: ignored
    assert costs.relative(9) == pytest.approx(1 + lookup.PRIOR_SLOPE * 8)
    costs.observe(1, 0.02)
    costs.observe(9, 0.1)
    assert costs.relative(9) == pytest.approx(5.0)
    assert costs.relative(3) == pytest.approx(1 + lookup.PRIOR_SLOPE * 2)  # still a guess
    costs.observe(1, 0.04)  # deeper in a context: everything costs more, the ratio holds
    costs.observe(9, 0.04 * 5 * 2)
    assert costs.relative(9) == pytest.approx(5 + lookup.COST_EMA * (0.4 / costs.one - 5))


def test_totals_count_every_draft():
    pacer = Pacer(BatchCosts())
    pacer.record(6, 6)
    pacer.record(8, 3)
    pacer.record(0, 0)  # no draft: not counted
    assert (pacer.drafts, pacer.drafted, pacer.accepted) == (2, 14, 9)


def test_a_new_generation_starts_no_surer_than_the_prior():
    pacer = started(timed(per_token=0.45, fixed=0.55))
    for _ in range(30):
        pacer.record(15, 15)
    assert pacer.p > 0.97
    pacer.begin()
    assert pacer.p == lookup.P0
    pacer.p = 0.2
    pacer.begin()
    assert pacer.p == 0.2  # a reply that copied nothing is not forgotten either
