"""Code lists that are the same in every country.

Country-specific lists (occupation, health coverage...) live in each country's
``profile.yaml`` under ``enums``; the labels of these generic codes may be
overridden there too.
"""

from __future__ import annotations

SEX = ("M", "F")

# Relationship to the head of household.
RELATIONSHIP = (
    "HEAD",
    "SPOUSE",
    "CHILD",
    "STEPCHILD",
    "GRANDCHILD",
    "PARENT",
    "SIBLING",
    "OTHER_RELATIVE",
    "NON_RELATIVE",
)

VITAL_STATUS = ("ALIVE", "DECEASED")

# Washington Group / ICF functioning domains.
DISABILITY_TYPE = (
    "NONE",
    "SEEING",
    "HEARING",
    "MOBILITY",
    "COGNITION",
    "SELF_CARE",
    "COMMUNICATION",
    "MULTIPLE",
)
# ICF qualifier scale (0 none .. 4 complete).
DISABILITY_SEVERITY = ("NONE", "MILD", "MODERATE", "SEVERE", "COMPLETE")

SCHOOL_SECTOR = ("PUBLIC", "PRIVATE")
# ISCED 2011 levels, simplified.
SCHOOL_LEVEL = ("PRESCHOOL", "PRIMARY", "LOWER_SECONDARY", "UPPER_SECONDARY", "POST_SECONDARY", "HIGHER")
EDUCATION_LEVEL = ("NONE", "PRIMARY", "LOWER_SECONDARY", "UPPER_SECONDARY", "POST_SECONDARY", "HIGHER")

MILIEU = ("U", "R")

# How a change reached the registry.
CHANNEL = ("ONLINE", "CENTRE", "BULK_IMPORT", "ADMIN_DATA", "API", "SYSTEM")
