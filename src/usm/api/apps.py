from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "usm.api"
    label = "api"
    verbose_name = "API access"
