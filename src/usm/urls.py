from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from usm.api.v1 import api

urlpatterns = [
    path("admin/", admin.site.urls),
    path("login/", auth_views.LoginView.as_view(template_name="web/login.html"), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("api/v1/", api.urls),
    path("control/", include("usm.control.urls")),
    path("", include("usm.web.urls")),
]
