"""Bulk intake: read, validate and load households and persons (docs/import-format.md)."""
