from django.apps import AppConfig


class RegistryConfig(AppConfig):
    name = "sijill.registry"
    label = "registry"
    verbose_name = "Registry: households and persons"

    def ready(self) -> None:
        from sijill.registry import receivers  # noqa: F401  (connects the search-key receiver)
