"""The two OpenFisca entities every country shares: a person and the household they live in.

Roles in the household, in this order (the order of ``Household.flattened_roles``, which is
what a caller passes as integer roles to ``SimulationBuilder.join_with_persons``):

====  ========  =========  ==========================================================
index key       plural     registry relationships
====  ========  =========  ==========================================================
0     head      (none)     HEAD (at most one per household)
1     spouse    spouses    SPOUSE
2     child     children   CHILD, STEPCHILD, GRANDCHILD
3     other     others     every other relationship (PARENT, SIBLING, OTHER_RELATIVE...)
====  ========  =========  ==========================================================

In an OpenFisca YAML test a household is written
``{head: p1, spouses: [p2], children: [p3, p4], others: [p5]}``.
"""

from __future__ import annotations

from openfisca_core.entities import build_entity

from sijill.core.enums import RELATIONSHIP

Household = build_entity(
    key="household",
    plural="households",
    label="Household",
    doc="""
    A household in the registry's sense (HCP definition): people, related or not, who usually
    live in the same dwelling and share expenses. One person alone is a household.
    Only the members at the date of the computation are in a simulation.
    """,
    roles=[
        {"key": "head", "label": "Head of household", "max": 1, "doc": "The head of household."},
        {"key": "spouse", "plural": "spouses", "label": "Spouses", "doc": "Spouse(s) of the head."},
        {
            "key": "child",
            "plural": "children",
            "label": "Children",
            "doc": "Children, stepchildren and grandchildren of the head (any age).",
        },
        {"key": "other", "plural": "others", "label": "Other members", "doc": "Every other member."},
    ],
)

Person = build_entity(
    key="person",
    plural="persons",
    label="Person",
    doc="A member of a household.",
    is_person=True,
)

ENTITIES = [Household, Person]

#: Household role key of each registry relationship code.
ROLE_OF_RELATIONSHIP: dict[str, str] = {
    code: {
        "HEAD": "head",
        "SPOUSE": "spouse",
        "CHILD": "child",
        "STEPCHILD": "child",
        "GRANDCHILD": "child",
    }.get(code, "other")
    for code in RELATIONSHIP
}

#: Role keys in the order of ``Household.flattened_roles`` (the integer role of each key is its index).
ROLE_KEYS: tuple[str, ...] = tuple(role.key for role in Household.flattened_roles)

#: Integer role (index into ``Household.flattened_roles``) of each registry relationship code.
ROLE_INDEX_OF_RELATIONSHIP: dict[str, int] = {
    code: ROLE_KEYS.index(key) for code, key in ROLE_OF_RELATIONSHIP.items()
}

#: Integer role of a relationship that is not in the core list.
OTHER_ROLE_INDEX: int = ROLE_KEYS.index("other")


def role_index(relationship: str | None) -> int:
    """Integer role of a relationship code (``other`` for unknown or blank codes)."""
    return ROLE_INDEX_OF_RELATIONSHIP.get(relationship or "", OTHER_ROLE_INDEX)
