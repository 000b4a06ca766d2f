from django.apps import AppConfig


class TargetingConfig(AppConfig):
    name = "sijill.targeting"
    label = "targeting"
    verbose_name = "Targeting: socio-economic scores"

    def ready(self) -> None:
        from sijill.targeting import receivers  # noqa: F401  (connects the signal receivers)
