"""The household registry: persons, households, memberships, identifiers.

Models hold data and invariants; writes go through :mod:`sijill.registry.services`
(which records history) and reads through :mod:`sijill.registry.selectors`.
Nothing is ever hard-deleted: records carry ``is_deleted``.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q

from sijill.core import enums


def _choices(values: tuple[str, ...]) -> list[tuple[str, str]]:
    return [(v, v.replace("_", " ").capitalize()) for v in values]


class LiveManager(models.Manager["Any"]):
    """Excludes soft-deleted rows."""

    def get_queryset(self) -> models.QuerySet[Any]:
        return super().get_queryset().filter(is_deleted=False)


class AdminArea(models.Model):
    """An administrative area (region, province, commune...) from a country profile."""

    country = models.CharField(max_length=2)
    code = models.CharField(max_length=32, unique=True)
    level = models.CharField(max_length=20)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    name_fr = models.CharField(max_length=120)
    name_ar = models.CharField(max_length=120, blank=True)
    milieu = models.CharField(max_length=1, blank=True, choices=_choices(enums.MILIEU))
    path = models.CharField(
        max_length=200, db_index=True, help_text="Codes from the top level down, '/'-separated"
    )
    valid_from = models.DateField(null=True, blank=True)
    valid_to = models.DateField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["country", "level"])]

    def __str__(self) -> str:
        return f"{self.name_fr} ({self.code})"


class Household(models.Model):
    registry_id = models.CharField(max_length=16, help_text="Opaque registry id with a check digit")
    country = models.CharField(max_length=2)
    # NULL, not "", for records that came from no file: uniqueness applies among non-null refs.
    external_ref = models.CharField(  # noqa: DJ001
        max_length=64,
        null=True,
        blank=True,
        help_text="Reference in the file it was imported from",
    )
    # Filters by area use area_path (prefix); no separate index on area_id.
    area = models.ForeignKey(AdminArea, on_delete=models.PROTECT, related_name="households", db_index=False)
    area_path = models.CharField(max_length=200, db_index=True)
    milieu = models.CharField(max_length=1, choices=_choices(enums.MILIEU))
    address = models.CharField(max_length=255, blank=True)
    phone = models.CharField(max_length=20, blank=True)
    # Persons are never deleted, so these need no index for PROTECT checks.
    head = models.ForeignKey(
        "Person", null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    declarant = models.ForeignKey(
        "Person", null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    questionnaire_version = models.CharField(max_length=32)
    socio = models.JSONField(default=dict, help_text="Answers to the country's socio-economic questionnaire")
    registered_on = models.DateField()
    version = models.PositiveIntegerField(default=1, help_text="Optimistic-locking counter")
    is_deleted = models.BooleanField(default=False)
    deleted_at = models.DateTimeField(null=True, blank=True)
    created_changeset = models.ForeignKey(
        "core.ChangeSet", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    objects = models.Manager()
    live = LiveManager()

    class Meta:
        # Unique indexes are declared as constraints (CREATE UNIQUE INDEX, not inline UNIQUE) so that
        # a bulk load can rebuild them in one sorted pass (see registry/intake/sqlite_writer.py).
        constraints = [
            models.UniqueConstraint(
                fields=["registry_id"],
                condition=Q(registry_id__isnull=False),
                name="household_registry_id_unique",
            ),
            models.UniqueConstraint(
                fields=["external_ref"],
                condition=Q(external_ref__isnull=False),
                name="household_external_ref_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"Household {self.registry_id}"


class Person(models.Model):
    PRECISION_DAY, PRECISION_YEAR = "D", "Y"

    registry_id = models.CharField(max_length=16, help_text="Opaque registry id with a check digit")
    external_ref = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001 (see Household)
    given_name_lat = models.CharField(max_length=100, blank=True)
    family_name_lat = models.CharField(max_length=100, blank=True)
    given_name_ar = models.CharField(max_length=100, blank=True)
    family_name_ar = models.CharField(max_length=100, blank=True)
    # The parents' given names, as the identity card ("fils de ... et de ...") or the birth
    # certificate gives them. They tell two namesakes apart (docs/identity.md).
    father_name_lat = models.CharField(max_length=100, blank=True, default="")
    father_name_ar = models.CharField(max_length=100, blank=True, default="")
    mother_name_lat = models.CharField(max_length=100, blank=True, default="")
    mother_name_ar = models.CharField(max_length=100, blank=True, default="")
    sex = models.CharField(max_length=1, choices=_choices(enums.SEX))
    birth_date = models.DateField(help_text="For a year-only date, 1 July of that year")
    birth_date_precision = models.CharField(
        max_length=1, default=PRECISION_DAY, choices=[(PRECISION_DAY, "day"), (PRECISION_YEAR, "year only")]
    )
    birth_date_approx = models.BooleanField(default=False)
    vital_status = models.CharField(max_length=10, default="ALIVE", choices=_choices(enums.VITAL_STATUS))
    death_date = models.DateField(null=True, blank=True)
    disability_type = models.CharField(max_length=16, default="NONE", choices=_choices(enums.DISABILITY_TYPE))
    disability_severity = models.CharField(
        max_length=10, default="NONE", choices=_choices(enums.DISABILITY_SEVERITY)
    )
    in_school = models.BooleanField(null=True, blank=True)
    school_sector = models.CharField(max_length=10, blank=True, choices=_choices(enums.SCHOOL_SECTOR))
    school_level = models.CharField(max_length=20, blank=True, choices=_choices(enums.SCHOOL_LEVEL))
    education_level = models.CharField(max_length=20, blank=True, choices=_choices(enums.EDUCATION_LEVEL))
    literate = models.BooleanField(null=True, blank=True)
    father_deceased = models.BooleanField(
        null=True, blank=True, help_text="Paternal orphan: the father is deceased (civil status)"
    )
    occupation = models.CharField(
        max_length=32, blank=True, help_text="Code from the country's occupation list"
    )
    health_coverage = models.CharField(max_length=32, blank=True, help_text="Code from the country's list")
    phone = models.CharField(max_length=20, blank=True)
    version = models.PositiveIntegerField(default=1)
    is_deleted = models.BooleanField(default=False)
    deleted_at = models.DateTimeField(null=True, blank=True)
    # A duplicate record merged into another (sijill.identity): it is also is_deleted, and its
    # registry id leads to the survivor (selectors.resolve_person). Followed forward only: no index.
    merged_into = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="merged_from",
        db_index=False,
        help_text="The record this duplicate was merged into",
    )
    created_changeset = models.ForeignKey(
        "core.ChangeSet", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    objects = models.Manager()
    live = LiveManager()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(merged_into__isnull=True) | (Q(is_deleted=True) & ~Q(merged_into=models.F("id"))),
                name="person_merged_is_deleted",
            ),
            models.CheckConstraint(
                condition=Q(vital_status="ALIVE", death_date__isnull=True)
                | Q(vital_status="DECEASED", death_date__isnull=False),
                name="person_death_date_iff_deceased",
            ),
            models.UniqueConstraint(
                fields=["registry_id"],
                condition=Q(registry_id__isnull=False),
                name="person_registry_id_unique",
            ),
            models.UniqueConstraint(
                fields=["external_ref"],
                condition=Q(external_ref__isnull=False),
                name="person_external_ref_unique",
            ),
        ]

    def __str__(self) -> str:
        name = (
            f"{self.given_name_lat} {self.family_name_lat}".strip()
            or f"{self.given_name_ar} {self.family_name_ar}"
        )
        return f"{name} ({self.registry_id})"


class ExternalIdentifier(models.Model):
    """A typed identifier from another system (CNIE, NINA, birth certificate...)."""

    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="identifiers")
    country = models.CharField(max_length=2)
    id_type = models.CharField(max_length=20)
    value = models.CharField(max_length=40)
    is_deleted = models.BooleanField(default=False)
    created_changeset = models.ForeignKey(
        "core.ChangeSet", on_delete=models.PROTECT, related_name="+", db_index=False
    )

    objects = models.Manager()
    live = LiveManager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["country", "id_type", "value"],
                condition=Q(is_deleted=False),
                name="one_person_per_external_id",
            )
        ]

    def __str__(self) -> str:
        return f"{self.id_type} {self.value}"


class Membership(models.Model):
    """A person's membership of a household, with effective dates.

    A membership is *active* while ``end_date`` is empty. The database enforces that a
    person has at most one active, non-deleted membership.
    """

    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="memberships")
    # Covered by the (household, end_date) index.
    household = models.ForeignKey(
        Household, on_delete=models.PROTECT, related_name="memberships", db_index=False
    )
    relationship = models.CharField(max_length=20, choices=_choices(enums.RELATIONSHIP))
    start_date = models.DateField()
    end_date = models.DateField(null=True, blank=True)
    end_reason = models.CharField(max_length=200, blank=True)
    is_deleted = models.BooleanField(default=False)
    created_changeset = models.ForeignKey(
        "core.ChangeSet", on_delete=models.PROTECT, related_name="+", db_index=False
    )

    objects = models.Manager()
    live = LiveManager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["person"],
                condition=Q(end_date__isnull=True, is_deleted=False),
                name="one_active_household_per_person",
            ),
            models.CheckConstraint(
                condition=Q(end_date__isnull=True) | Q(end_date__gte=models.F("start_date")),
                name="membership_dates_ordered",
            ),
        ]
        indexes = [models.Index(fields=["household", "end_date"])]

    def __str__(self) -> str:
        return f"{self.person_id} in {self.household_id} as {self.relationship}"


class ImportJob(models.Model):
    """A bulk import run: its files, progress and counts. Re-runs create new jobs."""

    STATUS = [("running", "running"), ("done", "done"), ("failed", "failed")]

    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=STATUS, default="running")
    files = models.JSONField(default=list)
    country = models.CharField(max_length=2)
    actor_name = models.CharField(max_length=150)
    read = models.PositiveIntegerField(default=0)
    loaded = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    already_present = models.PositiveIntegerField(default=0)
    persons_loaded = models.PositiveIntegerField(default=0)
    held_for_review = models.PositiveIntegerField(
        default=0,
        help_text="Identifiers already held by another person: loaded without them, sent to identity review",
    )
    rejects_dir = models.CharField(max_length=500, blank=True)
    error = models.TextField(blank=True)

    def __str__(self) -> str:
        return f"Import #{self.pk} ({self.status})"


# --- Change requests (citizen portal, issue 5) ---------------------------------------------


class ChangeRequest(models.Model):
    """A change a household declared (on the citizen portal) that staff must approve.

    Nothing in the registry changes when it is filed: ``services.approve_change_request``
    applies it through the registry's write services (history, version, rescoring), and
    ``reject_change_request`` closes it with a reason (maker-checker). ``payload`` holds the
    declared values in the import format's column names (docs/import-format.md).
    """

    KIND_BIRTH, KIND_ADDRESS, KIND_SCHOOLING = "BIRTH", "ADDRESS", "SCHOOLING"
    # Sensitive edits made by staff on the web (maker-checker, sijill/registry/changes.py).
    KIND_PERSON, KIND_AREA = "PERSON", "AREA"
    KIND_ADD_MEMBER, KIND_REMOVE_MEMBER, KIND_HEAD = "ADD_MEMBER", "REMOVE_MEMBER", "HEAD"
    KINDS = [
        (KIND_BIRTH, "new birth"),
        (KIND_ADDRESS, "new address"),
        (KIND_SCHOOLING, "child's schooling"),
        (KIND_PERSON, "a member's identity"),
        (KIND_AREA, "the household's area"),
        (KIND_ADD_MEMBER, "a new member"),
        (KIND_REMOVE_MEMBER, "a member leaves"),
        (KIND_HEAD, "a new head of household"),
    ]
    CHANNEL_PORTAL, CHANNEL_CENTRE = "PORTAL", "CENTRE"
    CHANNELS = [(CHANNEL_PORTAL, "citizen portal"), (CHANNEL_CENTRE, "at a centre")]
    PENDING, APPROVED, REJECTED = "PENDING", "APPROVED", "REJECTED"
    STATUSES = [(PENDING, "pending"), (APPROVED, "approved"), (REJECTED, "rejected")]

    household = models.ForeignKey(
        Household, on_delete=models.PROTECT, related_name="change_requests", db_index=False
    )
    kind = models.CharField(max_length=16, choices=KINDS)
    payload = models.JSONField(default=dict)
    channel = models.CharField(max_length=16, choices=CHANNELS, default=CHANNEL_PORTAL)
    status = models.CharField(max_length=10, choices=STATUSES, default=PENDING)
    created_at = models.DateTimeField()
    # The maker: the staff account that asked for the change (empty when a citizen declared it
    # on the portal). The checker (decided_by) must be another account.
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    request_reason = models.TextField(blank=True, help_text="Why the maker asks for the change")
    before = models.JSONField(
        default=dict, blank=True, help_text="The values the change replaces, when asked"
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    reason = models.TextField(blank=True, help_text="Why it was rejected (or a note on the approval)")
    applied_changeset = models.ForeignKey(
        "core.ChangeSet", null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )

    class Meta:
        indexes = [
            models.Index(fields=["household", "created_at"], name="change_request_household"),
            models.Index(fields=["status", "created_at"], name="change_request_status"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status="PENDING", decided_at__isnull=True)
                | (~Q(status="PENDING") & Q(decided_at__isnull=False)),
                name="change_request_decided_iff_not_pending",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} for {self.household_id} ({self.status})"


# --- Search keys (staff household search, issue 5) -----------------------------------------


class SearchKey(models.Model):
    """One way to find a household: a normalised name key, identifier or phone of a member
    (or of the household itself), with the household's area for scoped lookups.

    A derived table, rebuilt from the registry at any time (``sijill search rebuild``) and
    kept current by :mod:`sijill.registry.searchkeys` (the import writes it set-based, the
    write services refresh a household's keys through ``household_changed``). It holds only
    live households and their active members. Hence no foreign-key constraints: it never
    blocks a write to the registry, and a bulk rebuild appends without row-by-row checks.
    See docs/web.md, "Search".
    """

    NAME, GIVEN, FAMILY, IDENTIFIER, PHONE = "N", "G", "F", "I", "P"
    KINDS = [
        (NAME, "given and family name key"),
        (GIVEN, "given name key"),
        (FAMILY, "family name key"),
        (IDENTIFIER, "identifier value"),
        (PHONE, "phone digits"),
    ]

    household = models.ForeignKey(
        Household, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+", db_index=False
    )
    person = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+",
        db_index=False,
    )  # fmt: skip
    kind = models.CharField(max_length=1, choices=KINDS)
    key = models.CharField(max_length=100)
    area_path = models.CharField(max_length=200)

    class Meta:
        indexes = [
            # Every lookup is kind + exact key, then the area filter on the same index entries.
            models.Index(fields=["kind", "key", "area_path"], name="search_key_lookup"),
            models.Index(fields=["household"], name="search_key_household"),
        ]

    def __str__(self) -> str:
        return f"{self.kind}:{self.key} → {self.household_id}"
