from __future__ import annotations

import pytest

from tests import staff


@pytest.fixture
def geo(db):
    staff.geography()


@pytest.fixture
def two_households(geo):
    """One household in Casablanca (with an ASD decision), one in Rabat."""
    return staff.household("MA-CAS", amount="1234.50"), staff.household("MA-RAB")


@pytest.fixture
def login(client):
    def _login(user):
        client.force_login(user)
        return client

    return _login
