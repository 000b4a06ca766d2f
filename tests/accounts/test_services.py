from __future__ import annotations

import pytest

from sijill.accounts.models import StaffProfile
from sijill.accounts.services import StaffAccountError, create_staff_user, set_staff_role
from tests import staff

pytestmark = pytest.mark.django_db


def test_create_checks_role_areas_password_and_uniqueness(geo):
    with pytest.raises(StaffAccountError, match="unknown role"):
        create_staff_user("a", staff.PASSWORD, "BOSS", national=True)
    with pytest.raises(StaffAccountError, match="unknown area code"):
        create_staff_user("a", staff.PASSWORD, "ENUMERATOR", ["MA-NOPE"])
    with pytest.raises(StaffAccountError, match="at least one --area"):
        create_staff_user("a", staff.PASSWORD, "ENUMERATOR")
    with pytest.raises(StaffAccountError, match="national account takes no"):
        create_staff_user("a", staff.PASSWORD, "AUDITOR", ["MA-CAS"], national=True)
    with pytest.raises(StaffAccountError, match=r"court|short"):
        create_staff_user("a", "password", "AUDITOR", national=True)
    u = create_staff_user("a", staff.PASSWORD, "social-worker", ["MA-CAS", "MA-CAS"])
    assert u.staff_profile.role == "SOCIAL_WORKER" and [a.code for a in u.staff_profile.areas.all()] == [
        "MA-CAS"
    ]
    assert u.password.startswith("argon2$")
    with pytest.raises(StaffAccountError, match="already exists"):
        create_staff_user("a", staff.PASSWORD, "AUDITOR", national=True)


def test_only_the_admin_role_opens_the_django_admin(geo):
    admin = create_staff_user("boss", staff.PASSWORD, "ADMIN")
    assert admin.is_staff and admin.is_superuser and admin.staff_profile.is_national
    set_staff_role(admin, "AUDITOR", national=True)
    admin.refresh_from_db()
    assert not admin.is_staff and not admin.is_superuser
    assert StaffProfile.objects.get(user=admin).role == "AUDITOR"
