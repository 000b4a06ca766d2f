"""Registry ids drawn all at once for a bulk load."""

from __future__ import annotations

import numpy as np
import pytest

from sijill.core import checkdigits, ids
from sijill.registry.intake.idpool import IdPool, draw_ids


def test_drawn_ids_are_distinct_valid_and_avoid_those_in_use():
    first = draw_ids(5000, ids.HOUSEHOLD_ID_WIDTH, np.empty(0, dtype=np.int64), np.random.default_rng(3))
    # The same seed draws the same candidates again: each would collide with an id in use.
    more = draw_ids(5000, ids.HOUSEHOLD_ID_WIDTH, first, np.random.default_rng(3))
    assert np.unique(more).size == 5000 and not np.isin(more, first).any()
    for batch in (first, more):
        assert all(len(str(i)) == 11 and checkdigits.verhoeff_valid(str(i)) for i in batch.tolist())


def test_pool_hands_out_each_id_once_then_refuses():
    pool = IdPool(draw_ids(100, ids.PERSON_ID_WIDTH, np.empty(0, dtype=np.int64)))
    got = pool.take(60).to_list() + pool.take(40).to_list()
    assert len(set(got)) == 100 and all(ids.is_valid_registry_id(i, 12) for i in got)
    with pytest.raises(RuntimeError, match="exhausted"):
        pool.take(1)
