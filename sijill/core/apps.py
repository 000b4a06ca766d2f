from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "sijill.core"
    label = "core"
    verbose_name = "Core: history and audit"
