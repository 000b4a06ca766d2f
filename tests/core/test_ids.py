"""Registry identifiers: check digits catch typing errors; ids are random and distinct."""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from sijill.core import checkdigits, ids


def test_new_ids_are_distinct_have_a_valid_check_digit_and_are_not_sequential():
    got = ids.random_ids(20_000, ids.PERSON_ID_WIDTH)
    assert len(set(got)) == 20_000
    assert all(len(i) == 12 and checkdigits.verhoeff_valid(i) for i in got)
    assert sum(int(b) - int(a) == 1 for a, b in itertools.pairwise(got)) == 0


@given(st.text(alphabet="0123456789", min_size=5, max_size=15), st.data())
def test_any_single_digit_error_or_adjacent_swap_is_detected(payload, data):
    number = payload + checkdigits.verhoeff_digit(payload)
    assert checkdigits.verhoeff_valid(number)
    i = data.draw(st.integers(0, len(number) - 1))
    d = data.draw(st.sampled_from([c for c in "0123456789" if c != number[i]]))
    assert not checkdigits.verhoeff_valid(number[:i] + d + number[i + 1 :])
    j = data.draw(st.integers(0, len(number) - 2))
    if number[j] != number[j + 1]:
        swapped = number[:j] + number[j + 1] + number[j] + number[j + 2 :]
        assert not checkdigits.verhoeff_valid(swapped)


def test_allocation_avoids_ids_already_in_use():
    # The same seed draws the same candidates again: every first draw collides.
    first = ids.random_ids(1000, ids.HOUSEHOLD_ID_WIDTH, np.random.default_rng(7))
    in_use = set(first)
    more = ids.allocate_ids(500, ids.HOUSEHOLD_ID_WIDTH, lambda c: in_use & set(c), np.random.default_rng(7))
    assert len(set(more)) == 500
    assert not set(more) & set(first)
    assert all(checkdigits.verhoeff_valid(i) for i in more)
