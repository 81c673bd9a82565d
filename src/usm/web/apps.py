from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "usm.web"
    label = "web"
