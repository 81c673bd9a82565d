from django.apps import AppConfig


class AgreementsConfig(AppConfig):
    name = "usm.agreements"
    label = "agreements"
    verbose_name = "Services and agreements"
