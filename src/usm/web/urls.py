from django.urls import path

from usm.web import call_views, desk_views, framework_views, model_views, portal_views

app_name = "web"

urlpatterns = [
    path("", desk_views.home, name="home"),
    path("model/", model_views.overview, name="model"),
    path("model/validation/", model_views.validation, name="validation"),
    path("model/frameworks/", framework_views.matrix, name="frameworks"),
    path("model/workflows/<int:number>/", model_views.workflow, name="workflow"),
    path("model/export/model.<str:fmt>", model_views.export_model, name="export-model"),
    path(
        "model/export/<int:number>.<str:fmt>", model_views.export_workflow, name="export-workflow"
    ),
    # The desk: staff only.
    path("desk/", desk_views.desk, name="desk"),
    path("desk/new/", desk_views.register, name="register"),
    path("desk/new/propose/", desk_views.propose, name="register-propose"),
    path("desk/new/parties/", desk_views.parties, name="register-parties"),
    path("calls/<str:number>/", call_views.call_detail, name="call"),
    path("calls/<str:number>/attachments/<int:pk>/", call_views.attachment, name="attachment"),
    path("calls/<str:number>/<slug:action>/", call_views.act, name="call-act"),
    # The portal: customers' users.
    path("portal/", portal_views.portal, name="portal"),
    path("portal/new/", portal_views.new_call, name="portal-new"),
    path("portal/calls/<str:number>/", portal_views.portal_call, name="portal-call"),
    path("portal/calls/<str:number>/note/", portal_views.portal_note, name="portal-note"),
    path("portal/calls/<str:number>/reply/", portal_views.portal_reply, name="portal-reply"),
]
