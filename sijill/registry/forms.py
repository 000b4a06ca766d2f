"""Staff forms of the registry: register a household, edit it, ask for a sensitive change.

The forms only carry what was typed, in the import's column names: every value is checked
by the registry's own rules (the bulk import's, through the write services), whose reasons
:func:`add_service_errors` puts back on the fields in the user's language. So a form and an
import file can never disagree. The only checks here are the choice lists (areas limited to
the account's, codes from the country profile).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

from django import forms
from django.conf import settings
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from sijill.core import enums
from sijill.countries import CountryProfile, get_profile
from sijill.registry.models import AdminArea
from sijill.registry.reasons import reason_text


def _lang() -> str:
    return (get_language() or settings.LANGUAGE_CODE).split("-")[0]


def profile() -> CountryProfile:
    return get_profile(settings.SIJILL_COUNTRY)


def code_choices(enum: str, codes: Iterable[str], blank: bool = True) -> list[tuple[str, str]]:
    labels = profile().enum_labels.get(enum, {})
    out = [(c, str(labels.get(c, {}).get(_lang()) or labels.get(c, {}).get("fr") or c)) for c in codes]
    return [("", "—"), *out] if blank else out


def _local(labels: Any) -> str:
    return str(labels.get(_lang()) or labels.get("fr") or next(iter(labels.values()), ""))


YES_NO = [("1", _("Yes")), ("0", _("No"))]
YES_NO_BLANK = [("", "—"), *YES_NO]
MILIEU = [("U", _("Urban")), ("R", _("Rural"))]


class StaffForm(forms.Form):
    """Ties each field's help and errors to it (``aria-describedby``, ``aria-invalid``)."""

    required_marks: set[str] = set()

    def full_clean(self) -> None:
        super().full_clean()
        self.mark_errors()

    def mark_errors(self) -> None:
        if not hasattr(self, "_errors") or self._errors is None:
            return
        for name, field in self.fields.items():
            bf = self[name]
            ids = [f"{bf.auto_id}_help"] if field.help_text else []
            if bf.errors:
                ids.append(f"{bf.auto_id}_errors")
                field.widget.attrs["aria-invalid"] = "true"
            if ids:
                field.widget.attrs["aria-describedby"] = " ".join(ids)

    def _choice(self, name: str) -> forms.ChoiceField:
        return cast(forms.ChoiceField, self.fields[name])

    def values(self) -> dict[str, Any]:
        """What was typed, stripped; empty values left out."""
        out: dict[str, Any] = {}
        for k, v in self.cleaned_data.items():
            if isinstance(v, str):
                v = v.strip()
            if v not in (None, ""):
                out[k] = v
        return out


def _text(label: Any, **attrs: str) -> forms.CharField:
    return forms.CharField(label=label, required=False, widget=forms.TextInput(attrs=attrs))


def questionnaire_fields(form: forms.Form) -> None:
    """One field per question of the country's questionnaire (all optional here: the rules say
    which are required, and the label marks them)."""
    lang = _lang()
    for q in profile().questionnaire.questions:
        label = _local(q.label)
        help_text = _local(q.help) if q.help else ""
        if q.milieu:
            only = _("Rural households only.") if q.milieu == "R" else _("Urban households only.")
            help_text = f"{help_text} {only}".strip()
        if q.type == "enum":
            choices = [("", "—")] + [
                (c, str(q.choice_labels.get(c, {}).get(lang) or q.choice_labels.get(c, {}).get("fr") or c))
                for c in q.choices
            ]
            field: forms.Field = forms.ChoiceField(label=label, required=False, choices=choices)
        elif q.type == "bool":
            field = forms.ChoiceField(label=label, required=False, choices=YES_NO, widget=forms.RadioSelect)
        elif q.type in ("int", "decimal"):
            attrs = {"inputmode": "numeric" if q.type == "int" else "decimal", "dir": "ltr", "class": "short"}
            field = forms.CharField(label=label, required=False, widget=forms.TextInput(attrs=attrs))
        else:
            field = forms.CharField(label=label, required=False)
        field.help_text = help_text
        field.question_group = q.group  # type: ignore[attr-defined]
        field.question_required = q.required  # type: ignore[attr-defined]
        form.fields[q.name] = field


class HouseholdForm(StaffForm):
    """The household's own fields and its questionnaire answers (registration)."""

    area_code = forms.ChoiceField(label=_("Commune"))
    milieu = forms.ChoiceField(
        label=_("Setting"),
        required=False,
        widget=forms.RadioSelect,
        help_text=_("Leave it to the commune's setting unless this place differs."),
    )
    address = _text(_("Address"), autocomplete="street-address", dir="auto")
    phone = _text(_("Phone number"), type="tel", dir="ltr", autocomplete="tel")

    def __init__(self, *args: Any, areas: list[AdminArea], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._choice("area_code").choices = [("", "—"), *area_labels(areas)]
        self._choice("milieu").choices = [("", _("As the commune")), *MILIEU]
        questionnaire_fields(self)

    def groups(self) -> list[tuple[str, list[Any]]]:
        return question_groups(self)


def area_labels(areas: list[AdminArea]) -> list[tuple[str, str]]:
    lang = _lang()
    parents = {a.pk: a for a in AdminArea.objects.filter(pk__in={a.parent_id for a in areas if a.parent_id})}

    def name(a: AdminArea | None) -> str:
        if a is None:
            return ""
        return (a.name_ar if lang == "ar" and a.name_ar else a.name_fr) or a.code

    return [(a.code, f"{name(a)} — {name(parents.get(a.parent_id or 0))}") for a in areas]


GROUP_LABELS = {
    "dwelling": _("Dwelling"),
    "household": _("Household"),
    "property": _("Property"),
    "assets": _("Goods owned"),
    "finance": _("Loans"),
    "expenses": _("Expenses"),
    "agriculture": _("Farming and livestock"),
    "amenities": _("Water, energy and sanitation"),
    "food": _("Food"),
    "land": _("Land"),
    "livestock": _("Livestock"),
}


def question_groups(form: forms.Form) -> list[tuple[str, list[Any]]]:
    groups: dict[str, list[Any]] = {}
    for name, field in form.fields.items():
        g = getattr(field, "question_group", None)
        if g is not None:
            groups.setdefault(g, []).append(form[name])
    return [
        (str(GROUP_LABELS.get(g, g.replace("_", " ").capitalize())), fields) for g, fields in groups.items()
    ]


def _id_type_choices() -> list[tuple[str, str]]:
    return [("", "—")] + [(code, _local(t.label)) for code, t in profile().id_types.items()]


class PersonFieldsMixin:
    """Identity fields of a member, as the import names them."""

    fields: dict[str, forms.Field]

    def person_fields(self, *, relationship_blank: bool = True) -> None:
        self.fields["relationship"] = forms.ChoiceField(
            label=_("Relationship to the head"),
            required=False,
            choices=code_choices("relationship", enums.RELATIONSHIP, blank=relationship_blank),
        )
        self.fields["given_name_lat"] = _text(_("Given name (Latin script)"), lang="fr", dir="ltr")
        self.fields["family_name_lat"] = _text(_("Family name (Latin script)"), lang="fr", dir="ltr")
        self.fields["given_name_ar"] = _text(_("Given name (Arabic script)"), lang="ar", dir="rtl")
        self.fields["family_name_ar"] = _text(_("Family name (Arabic script)"), lang="ar", dir="rtl")
        self.fields["father_name_lat"] = _text(_("Father's given name (Latin script)"), lang="fr", dir="ltr")
        self.fields["father_name_ar"] = _text(_("Father's given name (Arabic script)"), lang="ar", dir="rtl")
        self.fields["mother_name_lat"] = _text(_("Mother's given name (Latin script)"), lang="fr", dir="ltr")
        self.fields["mother_name_ar"] = _text(_("Mother's given name (Arabic script)"), lang="ar", dir="rtl")
        self.fields["sex"] = forms.ChoiceField(
            label=_("Sex"),
            required=False,
            choices=code_choices("sex", enums.SEX, blank=False),
            widget=forms.RadioSelect,
        )
        self.fields["birth_date"] = forms.CharField(
            label=_("Date of birth"),
            required=False,
            help_text=_("YYYY-MM-DD, or only the year YYYY when the day is not known."),
            widget=forms.TextInput(
                attrs={"dir": "ltr", "inputmode": "numeric", "placeholder": "1980-05-17", "class": "short"}
            ),
        )
        self.fields["id_type"] = forms.ChoiceField(
            label=_("Identity document"), required=False, choices=_id_type_choices()
        )
        self.fields["id_value"] = _text(
            _("Document number"), dir="ltr", autocapitalize="characters", spellcheck="false"
        )


class MemberForm(PersonFieldsMixin, StaffForm):
    """One member of a household being registered (prefix ``m-<token>``)."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.person_fields()
        detail_fields(self)


def detail_fields(form: forms.Form) -> None:
    """A member's situation, as the import names it: the person-level inputs of the score and
    of the programmes (education, work, health coverage, school, disability)."""
    form.fields["education_level"] = forms.ChoiceField(
        label=_("Education level"),
        required=False,
        choices=code_choices("education_level", enums.EDUCATION_LEVEL),
    )
    p = profile()
    form.fields["occupation"] = forms.ChoiceField(
        label=_("Occupation"),
        required=False,
        choices=code_choices("occupation", p.enums.get("occupation", ())),
    )
    form.fields["health_coverage"] = forms.ChoiceField(
        label=_("Health coverage"),
        required=False,
        choices=code_choices("health_coverage", p.enums.get("health_coverage", ())),
    )
    form.fields["in_school"] = forms.ChoiceField(
        label=_("Goes to school"), required=False, choices=YES_NO_BLANK
    )
    form.fields["school_level"] = forms.ChoiceField(
        label=_("School level"), required=False, choices=code_choices("school_level", enums.SCHOOL_LEVEL)
    )
    form.fields["school_sector"] = forms.ChoiceField(
        label=_("Public or private school"),
        required=False,
        choices=code_choices("school_sector", enums.SCHOOL_SECTOR),
    )
    form.fields["disability_type"] = forms.ChoiceField(
        label=_("Disability"),
        required=False,
        choices=code_choices("disability_type", enums.DISABILITY_TYPE),
    )
    form.fields["disability_severity"] = forms.ChoiceField(
        label=_("Severity of the disability"),
        required=False,
        choices=code_choices("disability_severity", enums.DISABILITY_SEVERITY),
    )


class MemberSituationForm(StaffForm):
    """A member's situation, applied at once with history (not identity: no approval)."""

    version = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        detail_fields(self)

    def changes(self) -> dict[str, Any]:
        """Every situation field (an empty one clears the answer)."""
        return {k: (self.cleaned_data.get(k) or "").strip() or None for k in DETAIL_FIELDS}


IDENTITY_FIELDS = (
    "given_name_lat",
    "family_name_lat",
    "given_name_ar",
    "family_name_ar",
    "sex",
    "birth_date",
)
DETAIL_FIELDS = (
    "education_level",
    "occupation",
    "health_coverage",
    "in_school",
    "school_level",
    "school_sector",
    "disability_type",
    "disability_severity",
)


class EditHouseholdForm(StaffForm):
    """Non-sensitive fields, applied at once: address, phone, questionnaire answers."""

    version = forms.IntegerField(widget=forms.HiddenInput)
    address = _text(_("Address"), autocomplete="street-address", dir="auto")
    phone = _text(_("Phone number"), type="tel", dir="ltr", autocomplete="tel")

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        questionnaire_fields(self)

    def groups(self) -> list[tuple[str, list[Any]]]:
        return question_groups(self)

    def changes(self) -> dict[str, Any]:
        """Every field of the form (empty ones clear the answer), but the version."""
        return {
            k: (v.strip() if isinstance(v, str) else v) or None
            for k, v in self.cleaned_data.items()
            if k != "version"
        }


def request_reason_field() -> forms.CharField:
    return forms.CharField(
        label=_("Why is this change needed?"),
        help_text=_("The person who checks the change reads this; for instance the document seen."),
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
    )


class PersonChangeForm(PersonFieldsMixin, StaffForm):
    """A member's sensitive fields: the change waits for approval."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.person_fields(relationship_blank=False)
        self.fields["request_reason"] = request_reason_field()


class NewMemberForm(MemberForm):
    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["request_reason"] = request_reason_field()


class AreaChangeForm(StaffForm):
    area_code = forms.ChoiceField(label=_("New commune"))
    milieu = forms.ChoiceField(label=_("Setting"), required=False, widget=forms.RadioSelect)

    def __init__(self, *args: Any, areas: list[AdminArea], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._choice("area_code").choices = [("", "—"), *area_labels(areas)]
        self._choice("milieu").choices = [("", _("As the commune")), *MILIEU]
        self.fields["request_reason"] = request_reason_field()


class HeadChangeForm(StaffForm):
    """A new head, and each member's relationship to them (``rel_<registry id>``)."""

    person = forms.ChoiceField(label=_("New head of household"))

    def __init__(self, *args: Any, members: list[Any], **kwargs: Any):
        super().__init__(*args, **kwargs)
        rels = code_choices("relationship", enums.RELATIONSHIP, blank=False)
        label = dict(rels)
        self._choice("person").choices = [("", "—")] + [
            (m.person.registry_id, f"{m.person} · {label.get(m.relationship, m.relationship)}")
            for m in members
            if m.relationship != "HEAD"
        ]
        for m in members:
            name = f"{m.person.given_name_lat} {m.person.family_name_lat}".strip() or (
                f"{m.person.given_name_ar} {m.person.family_name_ar}"
            )
            self.fields[f"rel_{m.person.registry_id}"] = forms.ChoiceField(
                label=_("%(name)s: relationship to the new head") % {"name": name},
                choices=rels,
                initial=m.relationship,
                help_text=_("Ignored for the new head."),
            )
        self.fields["request_reason"] = request_reason_field()

    def payload(self) -> dict[str, Any]:
        d = self.cleaned_data
        rels = {k[4:]: v for k, v in d.items() if k.startswith("rel_") and k[4:] != d["person"]}
        return {"person": d["person"], "relationships": rels}


class RemovalForm(StaffForm):
    end_date = forms.CharField(
        label=_("Left the household on"),
        required=False,
        help_text=_("YYYY-MM-DD; today when empty."),
        widget=forms.TextInput(attrs={"dir": "ltr", "inputmode": "numeric", "class": "short"}),
    )
    end_reason = forms.ChoiceField(label=_("Why the person left"), required=False)

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._choice("end_reason").choices = [("", "—"), *END_REASONS]
        self.fields["request_reason"] = request_reason_field()


END_REASONS = [
    ("moved out", _("Moved out")),
    ("married", _("Married")),
    ("deceased", _("Deceased")),
    ("registered in error", _("Registered in error")),
]


class DecisionForm(StaffForm):
    decision = forms.ChoiceField(
        label=_("Decision"),
        choices=[("approve", _("Approve: apply the change")), ("reject", _("Reject: change nothing"))],
        widget=forms.RadioSelect,
    )
    reason = forms.CharField(
        label=_("Reason"),
        required=False,
        help_text=_("Required to reject; a note for an approval."),
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("decision") == "reject" and not (data.get("reason") or "").strip():
            self.add_error("reason", _("Say why the change is rejected."))
        return data


def add_service_errors(form: forms.Form, errors: dict[str, str], fallback: str | None = None) -> None:
    """Put the registry's reasons (field → English reason) on the form's fields, translated."""
    for key, reason in errors.items():
        name = key.split(".")[-1]
        if name.startswith("relationship "):  # a member of a new head's household
            name = "rel_" + name.split(" ", 1)[1]
        name = {"id2_type": "id_type", "id2_value": "id_value"}.get(name, name)
        target = name if name in form.fields else fallback if fallback in form.fields else None
        form.add_error(target, reason_text(reason))
    if isinstance(form, StaffForm):
        form.mark_errors()
