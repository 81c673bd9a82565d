"""Escalation policies are set in Django's admin (through `services`); the notifications the
sweep sent can be looked at there, not changed."""

from __future__ import annotations

from django.contrib import admin

from usm.control import services
from usm.control.models import EscalationPolicy, Notification


@admin.register(EscalationPolicy)
class EscalationPolicyAdmin(admin.ModelAdmin):
    list_display = ("__str__", "provider", "warning_fraction", "manager_delay", "manager_profile")
    list_filter = ("provider",)

    def get_readonly_fields(self, request, obj=None):
        # Which policy a row is stays fixed; another agreement gets a policy of its own.
        return ("provider", "agreement") if obj is not None else ()

    def save_model(self, request, obj, form, change):
        saved = services.set_escalation_policy(
            obj.provider,
            agreement=obj.agreement,
            warning_fraction=obj.warning_fraction,
            manager_delay=obj.manager_delay,
            manager_profile=obj.manager_profile,
        )
        obj.pk = saved.pk


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ("call", "kind", "deadline", "recipient", "due", "created_at", "sent_at")
    list_filter = ("kind", "deadline", "provider")
    list_select_related = ("call", "recipient")
    ordering = ("-created_at",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
