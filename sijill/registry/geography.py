"""Loading a country's administrative geography into the registry."""

from __future__ import annotations

from django.db import transaction

from sijill.countries import CountryProfile
from sijill.registry.models import AdminArea


@transaction.atomic
def sync_geography(profile: CountryProfile) -> int:
    """Create or update the country's areas from its profile. Returns how many were added."""
    existing = {a.code: a for a in AdminArea.objects.filter(country=profile.code)}
    by_code = profile.area_by_code
    added = 0
    # Parents first: order areas by level depth.
    depth = {lv.code: i for i, lv in enumerate(profile.area_levels)}
    for area in sorted(profile.areas, key=lambda a: depth.get(a.level, 99)):
        path = "/".join(a.code for a in reversed(profile.ancestors(area.code)))
        parent = existing.get(area.parent_code) if area.parent_code else None
        if area.parent_code and area.parent_code not in by_code:
            raise ValueError(f"geography.csv: area {area.code} has unknown parent {area.parent_code}")
        fields = dict(
            country=profile.code,
            level=area.level,
            parent=parent,
            name_fr=area.name_fr,
            name_ar=area.name_ar,
            milieu=area.milieu or "",
            path=path,
        )
        obj = existing.get(area.code)
        if obj is None:
            obj = AdminArea.objects.create(code=area.code, **fields)
            added += 1
        else:
            changed = [k for k, v in fields.items() if getattr(obj, k) != v]
            if changed:
                for k in changed:
                    setattr(obj, k, fields[k])
                obj.save(update_fields=changed)
        existing[area.code] = obj
    return added


def ensure_geography(profile: CountryProfile) -> None:
    """Load the country's geography if this database has none of it yet."""
    if not AdminArea.objects.filter(country=profile.code).exists():
        sync_geography(profile)
