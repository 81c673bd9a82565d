from django.urls import path
from django.views.generic import RedirectView

from usm.web import framework_views, model_views

app_name = "web"

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="web:model", permanent=False)),
    path("model/", model_views.overview, name="model"),
    path("model/validation/", model_views.validation, name="validation"),
    path("model/frameworks/", framework_views.matrix, name="frameworks"),
    path("model/workflows/<int:number>/", model_views.workflow, name="workflow"),
    path("model/export/model.<str:fmt>", model_views.export_model, name="export-model"),
    path(
        "model/export/<int:number>.<str:fmt>", model_views.export_workflow, name="export-workflow"
    ),
]
