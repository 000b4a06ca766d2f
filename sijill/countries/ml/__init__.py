"""Country profile of Mali (ML): geography, identifiers, code lists and the RSU questionnaire."""
