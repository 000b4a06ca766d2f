from django.apps import AppConfig


class ImportsConfig(AppConfig):
    name = "sijill.imports"
    label = "imports"
    verbose_name = "Imports from the web"
