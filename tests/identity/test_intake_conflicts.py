"""Exact checks at intake: an identifier already held goes to review, never overwrites.

One external identifier (type and value) belongs to one person; one person is active in
one household. A file or a registration that breaks either rule is not allowed to change
the record that holds the identifier.
"""

from __future__ import annotations

import copy
import datetime as dt

import polars as pl
import pytest

from sijill.identity import selectors
from sijill.identity.models import MatchCandidate
from sijill.registry import services
from sijill.registry.intake.job import run_import
from sijill.registry.models import ExternalIdentifier, Household, ImportJob, Membership, Person
from tests.conftest import household_row, person_row, write_tables

pytestmark = pytest.mark.django_db(transaction=True)


def _newcomers(ma):
    """Household H9: its head carries the CNIE of P1 (typed as on the card) and an IDCS of his own."""
    from sijill.core.checkdigits import verhoeff_digit

    idcs = "987654321" + verhoeff_digit("987654321")
    hh = [household_row(ma, "H9")]
    pp = [
        person_row("P9", "H9", "HEAD", given_name_lat="Hamid", id_type="CNIE", id_value="bk 123456",
                   id2_type="IDCS", id2_value=idcs),
        person_row("P9B", "H9", "SPOUSE", given_name_lat="Naima", sex="F", birth_date="1985-01-01"),
    ]  # fmt: skip
    return hh, pp, idcs


@pytest.mark.parametrize("mode", ["incremental", "bulk"])
def test_identifier_already_held_loads_the_household_and_sends_the_pair_to_review(tmp_path, family, ma, mode):
    hh, pp = copy.deepcopy(family)
    run_import(write_tables(tmp_path / "a", hh, pp), rejects_dir=tmp_path / "a" / "rejects")
    owner = Person.objects.get(external_ref="P1")
    owner_home = Household.objects.get(external_ref="H1")
    new_h, new_p, idcs = _newcomers(ma)

    s = run_import(
        write_tables(tmp_path / "b", new_h, new_p), rejects_dir=tmp_path / "b" / "rejects", mode=mode
    )

    assert (s.mode, s.read, s.loaded, s.rejected, s.persons_loaded, s.held_for_review) == (
        mode,
        1,
        1,
        0,
        2,
        1,
    )
    assert ImportJob.objects.get(pk=s.job_id).held_for_review == 1
    # The household and its head are in the registry; the head without the CNIE, with his IDCS.
    hamid = Person.objects.get(external_ref="P9")
    assert Membership.live.get(person=hamid).household.external_ref == "H9"
    assert [(i.id_type, i.value) for i in hamid.identifiers.all()] == [("IDCS", idcs)]
    # Nothing was overwritten: the CNIE is still P1's, and only P1's.
    assert [(i.person_id, i.value) for i in ExternalIdentifier.objects.filter(id_type="CNIE")] == [
        (owner.pk, "BK123456")
    ]
    # The pair waits for review, with a reason naming the identifier, its holder and his household.
    c = MatchCandidate.objects.get()
    assert (c.kind, c.status, c.run_id, c.person_a_id, c.person_b_id) == (
        "ID_CONFLICT",
        "PENDING",
        None,
        owner.pk,
        hamid.pk,
    )
    reason = (
        f"CNIE BK123456 is already held by person {owner.registry_id} in household {owner_home.registry_id}"
    )
    assert c.details["reason"] == reason
    assert (c.details["id_type"], c.details["value"], c.details["person_ref"]) == ("CNIE", "BK123456", "P9")
    assert c.details["source"].startswith(f"import job {s.job_id}")
    assert c.created_changeset == hamid.created_changeset
    assert list(selectors.review_queue(kind="ID_CONFLICT")) == [c]
    # The report says what happened, row by row.
    held = pl.read_csv(tmp_path / "b" / "rejects" / "held_for_review.csv", infer_schema=False)
    assert held.select("row", "person_ref", "column", "value", "reason").rows() == [
        ("2", "P9", "id_value", "BK123456", reason)
    ]
    # Running the same file again loads nothing and opens nothing new.
    again = run_import(
        write_tables(tmp_path / "b", new_h, new_p), rejects_dir=tmp_path / "c", mode="incremental"
    )
    assert (again.already_present, again.held_for_review) == (1, 0)
    assert MatchCandidate.objects.count() == 1


def test_an_identifier_given_twice_in_the_file_still_rejects_both_households(tmp_path, family):
    hh, pp = copy.deepcopy(family)
    run_import(write_tables(tmp_path / "a", hh[:1], pp[:4]), rejects_dir=tmp_path / "a" / "r")
    hh2 = [dict(hh[1], household_ref="H7"), dict(hh[1], household_ref="H8")]
    pp2 = [
        dict(pp[4], person_ref="P7", household_ref="H7", id_type="CNIE", id_value="AB111111"),
        dict(pp[4], person_ref="P8", household_ref="H8", id_type="CNIE", id_value="AB111111"),
    ]
    s = run_import(write_tables(tmp_path / "b", hh2, pp2), rejects_dir=tmp_path / "b" / "r")
    assert (s.loaded, s.rejected, s.held_for_review) == (0, 2, 0)
    assert not MatchCandidate.objects.exists()


def test_two_held_identifiers_of_one_person_make_one_review_case(tmp_path, family, ma):
    from sijill.core.checkdigits import verhoeff_digit

    idcs = "123123123" + verhoeff_digit("123123123")
    hh, pp = copy.deepcopy(family)
    pp[0].update(id2_type="IDCS", id2_value=idcs)
    run_import(write_tables(tmp_path / "a", hh, pp), rejects_dir=tmp_path / "a" / "r")
    new_h = [household_row(ma, "H9")]
    new_p = [
        person_row("P9", "H9", "HEAD", id_type="CNIE", id_value="BK123456", id2_type="IDCS", id2_value=idcs)
    ]
    s = run_import(write_tables(tmp_path / "b", new_h, new_p), rejects_dir=tmp_path / "b" / "r")
    assert (s.loaded, s.held_for_review) == (1, 2)
    c = MatchCandidate.objects.get()
    assert c.details["reason"].count("is already held by person") == 2
    assert {(i["id_type"], i["column"]) for i in c.details["identifiers"]} == {
        ("CNIE", "id_value"),
        ("IDCS", "id2_value"),
    }
    assert not Person.objects.get(external_ref="P9").identifiers.exists()


def test_a_centre_agent_is_told_who_holds_the_identifier_and_nothing_is_saved(family, ma):
    hh, pp = family
    h1 = services.register_household(hh[0], pp[:4])
    owner = Person.objects.get(external_ref="P1")
    visitor_h = household_row(ma, "H9")
    visitor = [person_row("P9", "H9", "HEAD", given_name_lat="Hamid", id_type="CNIE", id_value="BK123456")]
    with pytest.raises(services.RegistryValidationError) as e:
        services.register_household(visitor_h, visitor)
    message = e.value.errors["person 1.id_value"]
    assert message.startswith(
        f"CNIE BK123456 is already held by person {owner.registry_id} in household {h1.registry_id}"
    )
    assert "nothing was saved" in message
    assert not Household.objects.filter(external_ref="H9").exists() and not MatchCandidate.objects.exists()

    # The agent has checked the card: the household is registered, the case goes to review.
    h9 = services.register_household(visitor_h, visitor, on_id_conflict="review")
    hamid = Person.objects.get(external_ref="P9")
    assert Membership.live.get(person=hamid).household == h9
    assert not hamid.identifiers.exists() and owner.identifiers.get().value == "BK123456"
    c = MatchCandidate.objects.get()
    assert (c.kind, c.person_a_id, c.person_b_id) == ("ID_CONFLICT", owner.pk, hamid.pk)
    assert c.details["source"] == "register_household"


def test_joining_a_household_while_active_in_another_is_refused_with_its_name(family):
    hh, pp = family
    h1 = services.register_household(hh[0], pp[:4])
    h2 = services.register_household(hh[1], pp[4:])
    son = Person.objects.get(external_ref="P3")
    with pytest.raises(services.RegistryValidationError) as e:
        services.join_household(
            son.pk, h2.pk, expected_version=h2.version, relationship="GRANDCHILD",
            start_date=dt.date(2025, 3, 1), channel="CENTRE", reason="moved in with his grandmother",
        )  # fmt: skip
    assert f"already an active member of household {h1.registry_id}" in e.value.errors["person"]
    assert Membership.live.filter(person=son, end_date__isnull=True).get().household == h1
    assert Household.objects.get(pk=h2.pk).version == h2.version
