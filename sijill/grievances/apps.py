from django.apps import AppConfig


class GrievancesConfig(AppConfig):
    name = "sijill.grievances"
    label = "grievances"
