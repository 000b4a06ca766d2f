from __future__ import annotations

import re
from typing import Any

import pytest

from tests.conftest import household_row, person_row


@pytest.fixture
def outbox(tmp_path, settings) -> Any:
    settings.SIJILL_SMS_BACKEND = "sijill.portal.sms.FileSender"
    settings.SIJILL_SMS_OUTBOX = tmp_path / "sms" / "outbox.jsonl"
    return settings.SIJILL_SMS_OUTBOX


def last_code(outbox: Any) -> str:
    from sijill.portal.sms import read_outbox

    (msg,) = read_outbox(1, outbox)
    m = re.search(r"\b(\d{6})\b", msg["text"])
    assert m, msg
    return m.group(1)


def register(
    ma: Any, ref: str, phone: str = "0612345678", cnie: str = "BK123456", family: str = "El Alaoui", **hh: Any
) -> Any:
    """A household of a couple and a school child, registered with the import's rules (scored)."""
    from sijill.registry import services

    row = household_row(ma, ref, **hh)
    if phone:
        row["phone"] = phone
    pp = [
        person_row(f"{ref}-1", ref, "HEAD", id_type="CNIE", id_value=cnie),
        person_row(
            f"{ref}-2",
            ref,
            "SPOUSE",
            given_name_lat="Fatima Zahra",
            given_name_ar="فاطمة الزهراء",
            sex="F",
            birth_date="1984-02-01",
        ),
        person_row(
            f"{ref}-3",
            ref,
            "CHILD",
            given_name_lat="Youssef",
            given_name_ar="يوسف",
            birth_date="2012-09-30",
            in_school="1",
            school_sector="PUBLIC",
            school_level="LOWER_SECONDARY",
        ),
    ]
    for p in pp:
        p["family_name_lat"] = family
    return services.register_household(row, pp, channel="CENTRE", reason="test")


@pytest.fixture
def households(transactional_db, ma, outbox) -> tuple[Any, Any]:
    return register(ma, "H1"), register(ma, "H2", phone="0698765432", cnie="AB654321", family="Benali")
