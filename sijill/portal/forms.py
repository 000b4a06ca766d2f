"""The citizen portal's forms. Labels and messages are in plain language, in the active
language; code lists (sex, school level and sector) take the country profile's labels."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, cast

from django import forms
from django.conf import settings
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from sijill.core import enums
from sijill.grievances.models import Category
from sijill.grievances.services import DESCRIPTION_MAX
from sijill.portal import services

ARABIC = re.compile(r"[\u0600-\u06FF]")


def _lang() -> str:
    return (get_language() or settings.LANGUAGE_CODE).split("-")[0]


def _labels(enum: str, codes: tuple[str, ...]) -> list[tuple[str, str]]:
    labels = services.profile().enum_labels.get(enum, {})
    return [(c, labels.get(c, {}).get(_lang()) or labels.get(c, {}).get("fr") or c) for c in codes]


class AccessibleForm(forms.Form):
    """Ties each field's help and errors to it (``aria-describedby``, ``aria-invalid``)."""

    def full_clean(self) -> None:
        super().full_clean()
        for name, field in self.fields.items():
            bf = self[name]
            ids = [f"{bf.auto_id}_help"] if field.help_text else []
            if bf.errors:
                ids.append(f"{bf.auto_id}_errors")
                field.widget.attrs["aria-invalid"] = "true"
            if self.non_field_errors():
                ids.append("form-errors")
            if ids:
                field.widget.attrs["aria-describedby"] = " ".join(ids)

    def _choice(self, name: str) -> forms.ChoiceField:
        return cast(forms.ChoiceField, self.fields[name])

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            if field.help_text:
                field.widget.attrs.setdefault("aria-describedby", f"id_{name}_help")


class IdentifierForm(AccessibleForm):
    identifier = forms.CharField(
        label=_("Household registry number or identity card number"),
        max_length=40,
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "spellcheck": "false", "autocapitalize": "characters"}
        ),
    )

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        names = ", ".join(
            str(t.label.get(_lang()) or t.label.get("fr") or t.code) for t in services.portal_id_types()
        )
        self.fields["identifier"].help_text = _(
            "The 11-digit number on your registration receipt, or your identity number (%(ids)s)."
        ) % {"ids": names}
        self.fields["identifier"].widget.attrs["aria-describedby"] = "id_identifier_help"

    def clean_identifier(self) -> services.Identifier:
        parsed = services.parse_identifier(self.cleaned_data["identifier"])
        if parsed is None:
            raise forms.ValidationError(
                _(
                    "This is not a valid household registry number or identity number. Check it and try again."
                ),
                code="invalid",
            )
        return parsed


class CodeForm(AccessibleForm):
    code = forms.CharField(
        label=_("Code received by text message"),
        max_length=12,
        help_text=_("6 digits"),
        widget=forms.TextInput(
            attrs={
                "inputmode": "numeric",
                "autocomplete": "one-time-code",
                "pattern": "[0-9 ]*",
                "dir": "ltr",
            }
        ),
    )

    def clean_code(self) -> str:
        code = re.sub(r"\s", "", self.cleaned_data["code"])
        if not re.fullmatch(r"[0-9]{6}", code):
            raise forms.ValidationError(_("The code has 6 digits."), code="format")
        return code


def _names_by_script(given: str, family: str) -> dict[str, str] | None:
    scripts = {bool(ARABIC.search(given)), bool(ARABIC.search(family))}
    if len(scripts) != 1:
        return None
    suffix = "ar" if scripts.pop() else "lat"
    return {f"given_name_{suffix}": given, f"family_name_{suffix}": family}


class BirthForm(AccessibleForm):
    given_name = forms.CharField(label=_("Child's first name"), max_length=100)
    family_name = forms.CharField(label=_("Family name"), max_length=100)
    sex = forms.ChoiceField(label=_("Sex"), widget=forms.RadioSelect)
    birth_date = forms.DateField(
        label=_("Date of birth"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        input_formats=["%Y-%m-%d"],
    )

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._choice("sex").choices = _labels("sex", enums.SEX)

    def clean_birth_date(self) -> dt.date:
        d: dt.date = self.cleaned_data["birth_date"]
        today = timezone.localdate()
        if d > today:
            raise forms.ValidationError(_("The date of birth cannot be in the future."), code="future")
        if d < today.replace(year=today.year - 18):
            raise forms.ValidationError(
                _("For a person aged 18 or more, please go to a registration centre."), code="adult"
            )
        return d

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if data.get("given_name") and data.get("family_name"):
            names = _names_by_script(data["given_name"].strip(), data["family_name"].strip())
            if names is None:
                raise forms.ValidationError(_("Write both names in the same script, Latin or Arabic."))
            data["names"] = names
        return data

    def payload(self) -> dict[str, Any]:
        d = self.cleaned_data
        return {**d["names"], "sex": d["sex"], "birth_date": d["birth_date"].isoformat()}


class AddressForm(AccessibleForm):
    address = forms.CharField(
        label=_("New address"),
        max_length=255,
        help_text=_("Street, number, district, as written on your letters."),
        widget=forms.Textarea(attrs={"rows": 3, "autocomplete": "street-address"}),
    )

    def payload(self) -> dict[str, Any]:
        return {"address": self.cleaned_data["address"].strip()}


YES_NO = [("1", _("Yes")), ("0", _("No"))]


class SchoolingForm(AccessibleForm):
    person = forms.ChoiceField(label=_("Child"))
    in_school = forms.ChoiceField(
        label=_("Does the child go to school?"), choices=YES_NO, widget=forms.RadioSelect
    )
    school_level = forms.ChoiceField(label=_("School level"), required=False)
    school_sector = forms.ChoiceField(
        label=_("Public or private school"), required=False, widget=forms.RadioSelect
    )

    def __init__(self, *args: Any, children: list[tuple[str, str]], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._choice("person").choices = children
        self._choice("school_level").choices = [("", "—"), *_labels("school_level", enums.SCHOOL_LEVEL)]
        self._choice("school_sector").choices = _labels("school_sector", enums.SCHOOL_SECTOR)

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if data.get("in_school") == "1":
            if not data.get("school_level"):
                self.add_error("school_level", _("Choose the school level."))
            if not data.get("school_sector"):
                self.add_error("school_sector", _("Choose public or private."))
        return data

    def payload(self) -> dict[str, Any]:
        d = self.cleaned_data
        yes = d["in_school"] == "1"
        return {
            "person": d["person"],
            "in_school": yes,
            "school_level": d.get("school_level") if yes else None,
            "school_sector": d.get("school_sector") if yes else None,
        }


class ComplaintForm(AccessibleForm):
    category = forms.ChoiceField(
        label=_("What is it about?"), choices=Category.choices, widget=forms.RadioSelect
    )
    description = forms.CharField(
        label=_("Describe the problem"),
        max_length=DESCRIPTION_MAX,
        widget=forms.Textarea(attrs={"rows": 5}),
    )
    contact_phone = forms.CharField(
        label=_("Phone number to call you back (optional)"),
        required=False,
        max_length=20,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel", "dir": "ltr"}),
    )

    def clean_contact_phone(self) -> str:
        text = self.cleaned_data.get("contact_phone", "").strip()
        if not text:
            return ""
        phone = services.normalise_phone(text)
        if phone is None:
            raise forms.ValidationError(_("This is not a valid phone number."), code="phone")
        return phone
