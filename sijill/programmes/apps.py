from django.apps import AppConfig


class ProgrammesConfig(AppConfig):
    name = "sijill.programmes"
    label = "programmes"
    verbose_name = "Programmes: eligibility and entitlements"
