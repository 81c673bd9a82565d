from django.apps import AppConfig


class OrganisationConfig(AppConfig):
    name = "usm.organisation"
    label = "organisation"
    verbose_name = "Organisation"
