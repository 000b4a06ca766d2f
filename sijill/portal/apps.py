from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "sijill.portal"
    label = "portal"
