"""The MIR in the admin: to look things up, never to edit. Items change through Change's Update MIR
step; the one administrator door is the logged import on this admin's Import page."""

import json

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.text import slugify

from usm.mir.files import export_register, import_file
from usm.mir.formats import FORMATS, format_of
from usm.mir.models import MirChange, MirItem, MirRelation
from usm.organisation.models import Provider

RECENT_HISTORY = 10


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class DependsOnInline(ReadOnlyInline):
    model = MirRelation
    fk_name = "source"
    fields = ["kind", "target"]
    verbose_name = "relation of this item"
    verbose_name_plural = "this item depends on / is part of"


class RequiredByInline(ReadOnlyInline):
    model = MirRelation
    fk_name = "target"
    fields = ["source", "kind"]
    verbose_name = "relation to this item"
    verbose_name_plural = "items that depend on / are part of this item"


class ImportForm(forms.Form):
    provider = forms.ModelChoiceField(queryset=Provider.objects.all())
    file = forms.FileField(help_text="CSV or JSON with the columns described in docs/mir.md")
    dry_run = forms.BooleanField(
        required=False,
        initial=True,
        label="Check only",
        help_text="Report what the file would change without writing anything",
    )


class ExportForm(forms.Form):
    provider = forms.ModelChoiceField(queryset=Provider.objects.all())
    file_format = forms.ChoiceField(choices=[(f, f.upper()) for f in FORMATS], label="Format")


@admin.register(MirItem)
class MirItemAdmin(ReadOnlyAdmin):
    list_display = ["identifier", "name", "type", "status", "owner", "provider", "version"]
    list_filter = ["type", "status", ("owner", admin.RelatedOnlyFieldListFilter), "provider"]
    search_fields = ["identifier", "name", "attributes"]
    list_select_related = ["owner", "provider"]
    fields = [
        "provider",
        "identifier",
        "name",
        "type",
        "status",
        "owner",
        "services",
        "attributes",
        "version",
        "updated_at",
        "recent_history",
    ]
    readonly_fields = fields
    inlines = [DependsOnInline, RequiredByInline]
    change_list_template = "admin/mir/miritem/change_list.html"

    @admin.display(description="recent history")
    def recent_history(self, item):
        changes = item.history.select_related("actor")[:RECENT_HISTORY]
        rows = format_html_join(
            "",
            "<li>{} · {} {} {}</li>",
            (
                (
                    f"{change.changed_at:%Y-%m-%d %H:%M}",
                    change.get_route_display(),
                    change.reference,
                    f"by {change.actor}" if change.actor_id else "",
                )
                for change in changes
            ),
        )
        link = reverse("admin:mir_mirchange_changelist") + f"?item__id__exact={item.pk}"
        return format_html('<ul>{}</ul><a href="{}">All changes of this item</a>', rows, link)

    def get_urls(self):
        return [
            path(
                "import/",
                self.admin_site.admin_view(self.import_view),
                name="mir_miritem_import",
            ),
            *super().get_urls(),
        ]

    def import_view(self, request):
        """The logged administrator import, and the export it round-trips with."""
        if not request.user.has_perm("mir.import_miritems"):
            raise PermissionDenied
        report = None
        import_form = ImportForm(prefix="import")
        export_form = ExportForm(prefix="export")
        if request.method == "POST" and "export-provider" in request.POST:
            export_form = ExportForm(request.POST, prefix="export")
            if export_form.is_valid():
                return self._download(export_form.cleaned_data)
        elif request.method == "POST":
            import_form = ImportForm(request.POST, request.FILES, prefix="import")
            if import_form.is_valid():
                upload = import_form.cleaned_data["file"]
                content = upload.read()
                report = import_file(
                    import_form.cleaned_data["provider"],
                    content,
                    file_format=format_of(upload.name, content),
                    actor=request.user,
                    batch=f"admin {upload.name}",
                    dry_run=import_form.cleaned_data["dry_run"],
                )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Import MIR items",
            "import_form": import_form,
            "export_form": export_form,
            "report": report,
        }
        return TemplateResponse(request, "admin/mir/miritem/import.html", context)

    def _download(self, choice) -> HttpResponse:
        provider, file_format = choice["provider"], choice["file_format"]
        content_type = "text/csv" if file_format == "csv" else "application/json"
        response = HttpResponse(
            export_register(provider, file_format), content_type=f"{content_type}; charset=utf-8"
        )
        name = f"mir-{slugify(provider.slug)}.{file_format}"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response


@admin.register(MirRelation)
class MirRelationAdmin(ReadOnlyAdmin):
    list_display = ["source", "kind", "target"]
    list_filter = ["kind", "source__provider"]
    search_fields = ["source__identifier", "target__identifier"]
    list_select_related = ["source", "target"]


@admin.register(MirChange)
class MirChangeAdmin(ReadOnlyAdmin):
    list_display = ["changed_at", "identifier", "route", "reference", "actor", "provider"]
    list_filter = ["route", "provider"]
    search_fields = ["identifier", "reference"]
    list_select_related = ["actor", "provider"]
    date_hierarchy = "changed_at"
    fields = [
        "provider",
        "identifier",
        "item",
        "route",
        "reference",
        "actor",
        "changed_at",
        "state_before",
        "state_after",
    ]
    readonly_fields = fields

    @admin.display(description="before")
    def state_before(self, change):
        return _pretty(change.before)

    @admin.display(description="after")
    def state_after(self, change):
        return _pretty(change.after)


def _pretty(state):
    if state is None:
        return "—"
    return format_html("<pre>{}</pre>", json.dumps(state, indent=2, ensure_ascii=False))
