"""Services, calendars, agreements and the matrices in Django's admin.

Forms check what the services check (the same functions), so a mistake is shown on the form,
and every save goes through `services`: a calendar's opening hours, holidays and exceptions are
checked together as one set of service hours, an agreement's version guards against two people
editing it at once, and a matrix cell is changed only when the matrix stays usable.
"""

from __future__ import annotations

from zoneinfo import available_timezones

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.forms.models import BaseInlineFormSet

from usm.agreements import matrices, queries, services
from usm.agreements.models import (
    Agreement,
    Calendar,
    CalendarException,
    Holiday,
    MatrixCell,
    Norm,
    OpeningHours,
    Service,
)


class CheckedForm(forms.ModelForm):
    """A model form that, once Django's own checks pass, runs the service's check too and shows
    its errors on the fields they name."""

    def check(self) -> None:
        raise NotImplementedError

    def _post_clean(self):
        super()._post_clean()
        if self.errors:
            return
        try:
            self.check()
        except ValidationError as exc:
            self._update_errors(exc)


def _kept_rows(formset, fields: tuple[str, ...]) -> list[dict]:
    """The rows an inline holds after the edit, as the services take them."""
    return [
        {name: form.cleaned_data[name] for name in fields}
        for form in formset.forms
        if form.cleaned_data and not form.cleaned_data.get("DELETE")
    ]


# -- services ----------------------------------------------------------------------------------------
class ServiceForm(CheckedForm):
    class Meta:
        model = Service
        fields = "__all__"

    def check(self):
        services.check_service(self.instance)


@admin.register(Service)
class ServiceAdmin(admin.ModelAdmin):
    form = ServiceForm
    list_display = ["code", "name", "status", "in_catalogue", "provider"]
    list_filter = ["provider", "status", "in_catalogue"]
    search_fields = ["code", "name", "facility", "functionality"]
    list_select_related = ["provider"]

    def save_model(self, request, obj, form, change):
        services.save_service(obj)

    def has_delete_permission(self, request, obj=None):
        # A service an agreement covers is retired, not deleted: its agreements still name it.
        allowed = super().has_delete_permission(request, obj)
        return allowed and (obj is None or not obj.agreements.exists())

    def delete_queryset(self, request, queryset):
        for service in queryset:
            if service.agreements.exists():
                self.message_user(
                    request,
                    f"{service}: covered by an agreement, retire it instead",
                    messages.ERROR,
                )
            else:
                services.delete_service(service)


# -- calendars ---------------------------------------------------------------------------------------
class CalendarRowsFormSet(BaseInlineFormSet):
    """The three inlines of a calendar share one `group` per request. The last one to be
    cleaned checks them together, as the service hours they make: a date cannot be both a
    holiday and an exception, and only the three together say whether the week has hours."""

    part = ""
    fields_of_part: tuple[str, ...] = ()
    group: list | None = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.group is None:
            self.group = []
        self.group.append(self)

    def rows(self) -> list[dict]:
        return _kept_rows(self, self.fields_of_part)

    def clean(self):
        super().clean()
        if self is not self.group[-1] or any(self.errors):
            return
        if any(f.total_error_count() for f in self.group if f is not self):
            return
        rows = {formset.part: formset.rows() for formset in self.group}
        try:
            services.check_calendar_rows(self.instance, **rows)
        except ValidationError as exc:
            # A bad time zone is the calendar form's error, shown there already.
            shown = [
                f"{field_name.replace('_', ' ')}: {message}"
                for field_name, field_messages in exc.message_dict.items()
                if field_name != "time_zone"
                for message in field_messages
            ]
            if shown:
                raise ValidationError(shown) from None


class OpeningHoursFormSet(CalendarRowsFormSet):
    part, fields_of_part = "opening_hours", services.OPENING_FIELDS


class HolidayFormSet(CalendarRowsFormSet):
    part, fields_of_part = "holidays", services.HOLIDAY_FIELDS


class ExceptionFormSet(CalendarRowsFormSet):
    part, fields_of_part = "exceptions", services.EXCEPTION_FIELDS


class OpeningHoursInline(admin.TabularInline):
    model = OpeningHours
    formset = OpeningHoursFormSet
    extra = 1
    verbose_name_plural = "weekly opening hours (a closing time of 00:00 is midnight)"


class HolidayInline(admin.TabularInline):
    model = Holiday
    formset = HolidayFormSet
    extra = 1


class ExceptionInline(admin.TabularInline):
    model = CalendarException
    formset = ExceptionFormSet
    extra = 0
    verbose_name_plural = "exceptions (hours that replace the week's on one date)"


def _zone_choices() -> list[tuple[str, str]]:
    return [(name, name) for name in sorted(available_timezones())]


class CalendarForm(CheckedForm):
    time_zone = forms.ChoiceField(choices=_zone_choices, initial="UTC")

    class Meta:
        model = Calendar
        fields = "__all__"

    def check(self):
        services.check_calendar(self.instance)


@admin.register(Calendar)
class CalendarAdmin(admin.ModelAdmin):
    form = CalendarForm
    list_display = ["name", "time_zone", "always_open", "provider"]
    list_filter = ["provider", "always_open", "time_zone"]
    search_fields = ["name", "time_zone"]
    inlines = [OpeningHoursInline, HolidayInline, ExceptionInline]

    def get_formsets_with_inlines(self, request, obj=None):
        group: list = []
        for formset, inline in super().get_formsets_with_inlines(request, obj):
            yield type(formset.__name__, (formset,), {"group": group}), inline

    def save_model(self, request, obj, form, change):
        """Nothing is written yet: `save_related` saves the calendar with its rows, once they
        are known, in one go."""

    def save_related(self, request, form, formsets, change):
        rows = {}
        for formset in formsets:
            formset.save(commit=False)  # the admin's change message reads what it collects
            rows[formset.part] = formset.rows()
        services.save_calendar(form.instance, **rows)


# -- agreements --------------------------------------------------------------------------------------
class NormForm(CheckedForm):
    class Meta:
        model = Norm
        fields = list(services.NORM_FIELDS)

    def check(self):
        services.check_norm(self.instance)


class NormInline(admin.TabularInline):
    model = Norm
    form = NormForm
    extra = 1


class AgreementForm(CheckedForm):
    class Meta:
        model = Agreement
        fields = [
            "provider",
            "kind",
            "code",
            "name",
            "customer",
            "team",
            "calendar",
            "services",
            "valid_from",
            "valid_until",
            "status",
            "version",
        ]
        # The version the editor read travels with the form, so a save over someone else's
        # change is refused instead of silently undoing it.
        widgets = {"version": forms.HiddenInput}

    def check(self):
        agreement = self.instance
        if agreement.pk is not None:
            current = Agreement.objects.filter(pk=agreement.pk).values_list("version", flat=True)
            if current.first() != self.cleaned_data["version"]:
                raise ValidationError(
                    f"{agreement} was changed by someone else since you opened it; reload the "
                    "page to see the current version"
                )
        services.check_agreement(agreement, self.cleaned_data.get("services"))


@admin.register(Agreement)
class AgreementAdmin(admin.ModelAdmin):
    form = AgreementForm
    list_display = ["code", "name", "kind", "party", "status", "valid_from", "valid_until"]
    list_filter = ["provider", "kind", "status", "customer", "team", "calendar"]
    search_fields = ["code", "name", "customer__name", "team__name", "services__name"]
    autocomplete_fields = ["customer", "team", "calendar"]
    filter_horizontal = ["services"]
    date_hierarchy = "valid_from"
    list_select_related = ["customer", "team"]
    inlines = [NormInline]

    @admin.display(description="with")
    def party(self, agreement):
        return agreement.customer or agreement.team

    def save_model(self, request, obj, form, change):
        """Nothing is written yet: `save_related` saves the agreement with its services and
        norms, once the norms are known, as one new version."""

    def save_related(self, request, form, formsets, change):
        norms = []
        for formset in formsets:
            formset.save(commit=False)  # the admin's change message reads what it collects
            norms.extend(_kept_rows(formset, services.NORM_FIELDS))
        services.save_agreement(
            form.instance,
            form.cleaned_data["version"] if change else None,
            services=form.cleaned_data["services"],
            norms=norms,
        )


# -- matrices ----------------------------------------------------------------------------------------
class MatrixCellForm(forms.ModelForm):
    class Meta:
        model = MatrixCell
        fields = ["result"]

    def clean(self):
        data = super().clean()
        cell = self.instance
        if "result" in data:
            cells, _ = queries.matrix(cell.provider_id, cell.matrix)
            cells[cell.row, cell.column] = data["result"]
            try:
                matrices.checked_cells(matrices.matrix_kind(cell.matrix), cells)
            except ValidationError as exc:
                self.add_error("result", exc.message_dict["cells"])
        return data


@admin.register(MatrixCell)
class MatrixCellAdmin(admin.ModelAdmin):
    """Cells are changed one result at a time, and only so that the matrix stays complete and
    consistent; a provider's matrix is created whole, with the action or through the API."""

    form = MatrixCellForm
    list_display = ["matrix", "row", "column", "result", "provider"]
    list_filter = ["provider", "matrix"]
    readonly_fields = ["provider", "matrix", "row", "column"]
    fields = ["provider", "matrix", "row", "column", "result"]
    actions = ["restore_default"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        services.set_matrix_cell(obj.provider, obj.matrix, obj.row, obj.column, obj.result)

    @admin.action(description="Restore the default of the selected cells' matrices")
    def restore_default(self, request, queryset):
        chosen = {(cell.provider, cell.matrix) for cell in queryset.select_related("provider")}
        for provider, kind in chosen:
            services.set_matrix(provider, kind, matrices.default_cells(kind))
        self.message_user(request, f"{len(chosen)} matrix(es) restored to the default")
