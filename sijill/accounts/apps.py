from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "sijill.accounts"
    label = "accounts"
    verbose_name = "Staff accounts"
