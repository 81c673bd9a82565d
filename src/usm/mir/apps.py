from django.apps import AppConfig


class MirConfig(AppConfig):
    name = "usm.mir"
    label = "mir"
    verbose_name = "Managed infrastructure register"
