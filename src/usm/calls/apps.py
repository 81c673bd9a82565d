from django.apps import AppConfig


class CallsConfig(AppConfig):
    name = "usm.calls"
    label = "calls"
    verbose_name = "Call register"
