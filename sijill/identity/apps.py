from django.apps import AppConfig


class IdentityConfig(AppConfig):
    name = "sijill.identity"
    label = "identity"
    verbose_name = "Identity: deduplication, review and merges"
