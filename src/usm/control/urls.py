from django.urls import path

from usm.control import views

app_name = "control"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("export/", views.export, name="export"),
    path("reports/<slug:customer>/<str:month>/", views.report, name="report"),
]
