from django.apps import AppConfig


class ControlConfig(AppConfig):
    name = "usm.control"
    label = "control"
    verbose_name = "Process control"
