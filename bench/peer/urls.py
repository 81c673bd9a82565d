"""Helpdesk's own URLs, so that its models' links (reverse) resolve as in a real install."""

from django.urls import include, path

urlpatterns = [path("helpdesk/", include("helpdesk.urls", namespace="helpdesk"))]
