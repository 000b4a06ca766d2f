"""Country profile of Morocco (MA): geography, identifiers, code lists and the RSU questionnaire."""
