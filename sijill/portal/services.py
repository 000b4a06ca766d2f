"""The citizen portal's rules: which identifiers open a household, one-time codes, throttling.

See docs/portal.md for the security choices. In short:

- the answer to a code request never says whether the identifier is registered: every
  accepted request writes a :class:`Challenge`, empty when nothing matched, and the page
  says "if this number is registered, a code was sent to the phone on record" without any
  digit of that phone;
- a code is 6 digits, stored as an HMAC keyed with the secret key, valid
  ``SIJILL_PORTAL_CODE_MINUTES`` (10), dead after ``SIJILL_PORTAL_MAX_ATTEMPTS`` (5) wrong
  entries, and used once;
- requests are throttled per identifier and per client address in the database.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import hmac
import logging
import re
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from sijill.core import ids
from sijill.core.checkdigits import verhoeff_valid
from sijill.countries import CountryProfile, IdType, get_profile
from sijill.portal.models import Challenge, CodeRequest
from sijill.portal.sms import get_sender
from sijill.registry.models import ExternalIdentifier, Household, Membership

log = logging.getLogger("sijill.portal")

HOUSEHOLD = "HOUSEHOLD"  # the kind of a household registry number


def profile() -> CountryProfile:
    return get_profile(settings.SIJILL_COUNTRY)


def portal_id_types(p: CountryProfile | None = None) -> list[IdType]:
    """The national identifiers a citizen may type (the profile's ``portal.id_types``)."""
    p = p or profile()
    codes = (p.raw.get("portal") or {}).get("id_types") or []
    return [p.id_types[c] for c in codes if c in p.id_types]


@dataclass(frozen=True)
class Identifier:
    kind: str  # HOUSEHOLD or an id type code (CNIE, IDCS, NINA...)
    value: str


def parse_identifier(text: str, p: CountryProfile | None = None) -> Identifier | None:
    """A household registry number (11 digits with a Verhoeff check digit) or one of the
    country's national identifiers, checked for format and check digit; None if neither."""
    raw = re.sub(r"[\s\-.]", "", text or "").upper()
    if not raw or len(raw) > 40:
        return None
    if raw.isdigit() and len(raw) == ids.HOUSEHOLD_ID_WIDTH:
        return Identifier(HOUSEHOLD, raw) if verhoeff_valid(raw) else None
    for t in portal_id_types(p):
        value = t.normalise(raw)
        if t.validate(value) is None:
            return Identifier(t.code, value)
    return None


def _hmac(purpose: str, value: str) -> str:
    key = hashlib.sha256(f"sijill.portal.{purpose}:{settings.SECRET_KEY}".encode()).digest()
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


def subject_of(identifier: Identifier) -> str:
    """What the throttle and the challenge keep of an identifier: a keyed hash, not the number."""
    return _hmac("subject", f"{identifier.kind}:{identifier.value}")


def code_hash(challenge_salt: str, code: str) -> str:
    return _hmac("code", f"{challenge_salt}:{code}")


def find_household(identifier: Identifier) -> Household | None:
    """The live household the identifier opens: by registry number, or the household in which
    the holder of a national identifier is an active member."""
    if identifier.kind == HOUSEHOLD:
        # registry_id__isnull=False: SQLite uses the partial unique index only when the query states it.
        return Household.live.filter(registry_id=identifier.value, registry_id__isnull=False).first()
    holder = (
        ExternalIdentifier.live.filter(
            country=profile().code, id_type=identifier.kind, value=identifier.value, person__is_deleted=False
        )
        .values_list("person_id", flat=True)
        .first()
    )
    if holder is None:
        return None
    m = (
        Membership.live.filter(person_id=holder, end_date__isnull=True, household__is_deleted=False)
        .select_related("household")
        .first()
    )
    return m.household if m is not None else None


def phone_on_record(household: Household) -> str:
    """The household's phone, else its head's; empty if neither is known."""
    if household.phone:
        return household.phone
    if household.head_id is not None and household.head is not None and household.head.phone:
        return household.head.phone
    head = (
        Membership.live.filter(household=household, relationship="HEAD", end_date__isnull=True)
        .select_related("person")
        .first()
    )
    return head.person.phone if head is not None and head.person.phone else ""


def normalise_phone(text: str, p: CountryProfile | None = None) -> str | None:
    """A phone number in E.164 with the country's prefix (a leading 0 becomes the prefix), or
    None if it does not match the country's phone format (the import's rule)."""
    p = p or profile()
    v = re.sub(r"[\s\-.()]", "", text or "")
    if v.startswith("00"):
        v = "+" + v[2:]
    elif v.startswith("0"):
        v = p.phone_prefix + v[1:]
    elif not v.startswith("+"):
        v = p.phone_prefix + v
    return v if p.phone_regex.fullmatch(v) else None


# --- Code requests ---------------------------------------------------------------------------


def _window() -> dt.timedelta:
    return dt.timedelta(minutes=settings.SIJILL_PORTAL_REQUEST_WINDOW_MINUTES)


def request_throttled(subject: str, ip: str, now: dt.datetime | None = None) -> bool:
    """Too many code requests for this identifier, or from this address, within the window."""
    now = now or timezone.now()
    since = now - _window()
    recent = CodeRequest.objects.filter(at__gt=since)
    return (
        recent.filter(subject=subject).count() >= settings.SIJILL_PORTAL_REQUESTS_PER_ID
        or recent.filter(ip=ip).count() >= settings.SIJILL_PORTAL_REQUESTS_PER_IP
    )


class Throttled(Exception):
    """Too many code requests: try again later."""


def sms_text(code: str) -> str:
    return _(
        "sijill: your code is %(code)s. It is valid for %(minutes)d minutes. Never give it to anyone, "
        "not even to staff of the registry."
    ) % {"code": code, "minutes": settings.SIJILL_PORTAL_CODE_MINUTES}


def request_code(identifier: Identifier, ip: str) -> Challenge:
    """Accept a code request and return its challenge (to keep in the session).

    The same work is done whether or not the identifier opens a household, except sending
    the text message. Raises :class:`Throttled` when over a limit.
    """
    now = timezone.now()
    subject = subject_of(identifier)
    with transaction.atomic():
        if request_throttled(subject, ip, now):
            raise Throttled
        # Forget what the throttle and the codes no longer need.
        CodeRequest.objects.filter(at__lt=now - max(_window(), dt.timedelta(days=1))).delete()
        Challenge.objects.filter(created_at__lt=now - dt.timedelta(days=1)).delete()
        CodeRequest.objects.create(subject=subject, ip=ip, at=now)
        household = find_household(identifier)
        phone = phone_on_record(household) if household is not None else ""
        if household is not None and not phone:
            log.warning("portal: household %s has no phone on record; no code sent", household.registry_id)
            household = None
        code = f"{secrets.randbelow(10**6):06d}"
        salt = secrets.token_hex(8)
        challenge = Challenge.objects.create(
            household=household, subject=subject, salt=salt, code_hash=code_hash(salt, code),
            created_at=now, expires_at=now + dt.timedelta(minutes=settings.SIJILL_PORTAL_CODE_MINUTES),
        )  # fmt: skip
    if household is not None:
        try:
            get_sender().send(phone, sms_text(code))
        except Exception:
            log.exception("portal: the text message to household %s failed", household.registry_id)
    return challenge


# --- Verifying a code ------------------------------------------------------------------------


class Outcome(enum.Enum):
    OK = "ok"
    WRONG = "wrong"
    LOCKED = "locked"  # too many wrong codes
    EXPIRED = "expired"  # too old, or already used


@dataclass(frozen=True)
class Verification:
    outcome: Outcome
    household: Household | None = None
    remaining: int = 0


@transaction.atomic
def verify_code(challenge_id: int, code: str, now: dt.datetime | None = None) -> Verification:
    """Check ``code`` against the challenge. A wrong code counts; the last allowed one locks it."""
    now = now or timezone.now()
    ch = Challenge.objects.select_for_update().filter(pk=challenge_id).first()
    if ch is None or ch.used_at is not None or now >= ch.expires_at:
        return Verification(Outcome.EXPIRED)
    limit = settings.SIJILL_PORTAL_MAX_ATTEMPTS
    if ch.attempts >= limit:
        return Verification(Outcome.LOCKED)
    right = hmac.compare_digest(ch.code_hash, code_hash(ch.salt, code.strip()))
    if right and ch.household_id is not None:
        household = Household.live.filter(pk=ch.household_id).first()
        if household is not None:
            ch.used_at = now
            ch.save(update_fields=["used_at"])
            return Verification(Outcome.OK, household)
    ch.attempts += 1
    ch.save(update_fields=["attempts"])
    if ch.attempts >= limit:
        return Verification(Outcome.LOCKED)
    return Verification(Outcome.WRONG, remaining=limit - ch.attempts)
