"""The organisation in Django's admin, for the installation's administrators.

Forms validate with the same rules the services apply, and every save goes through `services`:
a procedure saved here becomes a new version (the one before stays as history), memberships and
holders are set through the functions that check them, and a RACI with zero or two Accountable
profiles for a step is a form error naming the step.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.forms.models import BaseInlineFormSet

from usm.model import reference_model
from usm.organisation import services
from usm.organisation.models import (
    Customer,
    OrganisationUnit,
    Person,
    Procedure,
    Profile,
    Provider,
    Requester,
    StepResponsibility,
    Team,
    WorkInstruction,
)


def _step_choices() -> list:
    model = reference_model()
    return [("", "---------")] + [
        (
            f"{process.code} {process.verb}",
            [(step.id, f"{step.id} {step.name}") for step in process.steps],
        )
        for process in model.processes.values()
    ]


def _workflow_choices() -> list:
    return [("", "---------")] + [(w.number, w.label) for w in reference_model().workflows]


class ServiceWrites:
    """Saves the admin's rows through `services.store`, which checks what the services check,
    and deletes them through the service that knows what goes with them."""

    remove = None

    def save_model(self, request, obj, form, change):
        services.store(obj)

    def delete_model(self, request, obj):
        type(self).remove(obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            type(self).remove(obj)


def _kept(formset, field_name: str) -> list:
    """The rows a membership inline holds after the edit."""
    return [
        form.cleaned_data[field_name]
        for form in formset.forms
        if form.cleaned_data
        and not form.cleaned_data.get("DELETE")
        and form.cleaned_data.get(field_name)
    ]


class SameProviderFormSet(BaseInlineFormSet):
    """A membership inline may only list people of the parent's provider."""

    member_field = "person"

    def clean(self):
        super().clean()
        provider_id = self.instance.provider_id
        if any(self.errors) or provider_id is None:
            return
        foreign = [
            str(row) for row in _kept(self, self.member_field) if row.provider_id != provider_id
        ]
        if foreign:
            raise ValidationError(f"belong to another provider: {', '.join(foreign)}")


# -- providers and units -----------------------------------------------------------------------------
@admin.register(Provider)
class ProviderAdmin(ServiceWrites, admin.ModelAdmin):
    list_display = ["name", "slug", "created_at"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ("name",)}

    def has_delete_permission(self, request, obj=None):
        # Every row of a tenant points at it (PROTECT); removing one is not an admin click.
        return False


@admin.register(OrganisationUnit)
class OrganisationUnitAdmin(ServiceWrites, admin.ModelAdmin):
    list_display = ["name", "parent", "provider"]
    list_filter = ["provider"]
    search_fields = ["name", "parent__name"]
    autocomplete_fields = ["parent"]
    list_select_related = ["parent", "provider"]
    remove = services.delete_unit


# -- customers and requesters ------------------------------------------------------------------------
class RequesterInlineFormSet(BaseInlineFormSet):
    def clean(self):
        super().clean()
        provider_id = self.instance.provider_id
        if any(self.errors) or provider_id is None:
            return
        for form in self.forms:
            data = form.cleaned_data
            if not data or data.get("DELETE"):
                continue
            person = data.get("person")
            if person is not None and person.provider_id != provider_id:
                form.add_error("person", "belongs to another provider")
            foreign = [str(s) for s in data.get("services", ()) if s.provider_id != provider_id]
            if foreign:
                form.add_error("services", f"belong to another provider: {', '.join(foreign)}")


class RequesterInline(admin.TabularInline):
    model = Requester
    formset = RequesterInlineFormSet
    fields = ["person", "services", "active"]
    autocomplete_fields = ["person"]
    extra = 1


@admin.register(Customer)
class CustomerAdmin(ServiceWrites, admin.ModelAdmin):
    list_display = ["name", "code", "kind", "active", "provider"]
    list_filter = ["provider", "kind", "active"]
    search_fields = ["name", "code"]
    inlines = [RequesterInline]
    remove = services.delete_customer

    def save_formset(self, request, form, formset, change):
        customer = form.instance
        rows = formset.save(commit=False)
        for requester in formset.deleted_objects:
            services.delete_requester(requester)
        for requester in rows:
            requester.provider_id = customer.provider_id
            services.store(requester)
        for row in formset.forms:
            data = row.cleaned_data
            if data and not data.get("DELETE") and row.instance.pk:
                services.update_requester(row.instance, services=data.get("services", ()))


class RequesterForm(forms.ModelForm):
    class Meta:
        model = Requester
        fields = ["customer", "person", "services", "active"]

    def clean(self):
        data = super().clean()
        customer = data.get("customer")
        if customer is not None:
            # A requester belongs to its customer's provider; nobody picks it separately.
            self.instance.provider_id = customer.provider_id
            foreign = [
                str(s) for s in data.get("services", ()) if s.provider_id != customer.provider_id
            ]
            if foreign:
                self.add_error("services", f"belong to another provider: {', '.join(foreign)}")
        return data


@admin.register(Requester)
class RequesterAdmin(ServiceWrites, admin.ModelAdmin):
    form = RequesterForm
    list_display = ["person", "customer", "active", "provider"]
    list_filter = ["provider", "active", "customer"]
    search_fields = ["person__name", "person__email", "customer__name", "customer__code"]
    autocomplete_fields = ["person", "customer"]
    filter_horizontal = ["services"]
    list_select_related = ["person", "customer", "provider"]
    remove = services.delete_requester

    def save_related(self, request, form, formsets, change):
        services.update_requester(form.instance, services=form.cleaned_data.get("services", ()))
        for formset in formsets:
            self.save_formset(request, form, formset, change)


# -- people ------------------------------------------------------------------------------------------
@admin.register(Person)
class PersonAdmin(ServiceWrites, admin.ModelAdmin):
    list_display = ["name", "email", "unit", "user", "active", "provider"]
    list_filter = ["provider", "active", "unit"]
    search_fields = ["name", "email", "phone", "user__username"]
    autocomplete_fields = ["unit", "user"]
    list_select_related = ["unit", "user", "provider"]
    remove = services.delete_person


# -- teams and profiles ------------------------------------------------------------------------------
class MemberInline(admin.TabularInline):
    model = Team.members.through
    formset = SameProviderFormSet
    autocomplete_fields = ["person"]
    extra = 1
    verbose_name = "member"
    verbose_name_plural = "members"


@admin.register(Team)
class TeamAdmin(ServiceWrites, admin.ModelAdmin):
    list_display = ["name", "kind", "unit", "email", "active", "provider"]
    list_filter = ["provider", "kind", "active"]
    search_fields = ["name", "email", "members__name"]
    exclude = ["members"]
    autocomplete_fields = ["unit"]
    inlines = [MemberInline]
    remove = services.delete_team

    def save_formset(self, request, form, formset, change):
        formset.save(commit=False)  # the admin's change message reads what it collects
        services.set_team_members(form.instance, _kept(formset, "person"))


class HolderInline(admin.TabularInline):
    model = Profile.holders.through
    formset = SameProviderFormSet
    autocomplete_fields = ["person"]
    extra = 1
    verbose_name = "holder"
    verbose_name_plural = "holders (reassigning them is reorganising; procedures stay as they are)"


@admin.register(Profile)
class ProfileAdmin(ServiceWrites, admin.ModelAdmin):
    list_display = ["name", "unit", "team", "holder_count", "provider"]
    list_filter = ["provider", "unit", "team"]
    search_fields = ["name", "description", "holders__name"]
    exclude = ["holders"]
    autocomplete_fields = ["unit", "team"]
    inlines = [HolderInline]
    remove = services.delete_profile

    @admin.display(description="holders")
    def holder_count(self, profile):
        return profile.holders.count()

    def save_formset(self, request, form, formset, change):
        formset.save(commit=False)  # the admin's change message reads what it collects
        services.assign_holders(form.instance, _kept(formset, "person"))


# -- procedures --------------------------------------------------------------------------------------
class ResponsibilityForm(forms.ModelForm):
    step = forms.ChoiceField(choices=_step_choices)

    class Meta:
        model = StepResponsibility
        fields = ["step", "profile", "role"]


class ResponsibilityFormSet(BaseInlineFormSet):
    """Checks the whole RACI at once, as `set_procedure` will: each step of the workflow's path
    has exactly one Accountable, and the errors name the steps."""

    def clean(self):
        super().clean()
        self.raci = {}
        if any(self.errors):
            return
        for form in self.forms:
            data = form.cleaned_data
            if not data or data.get("DELETE"):
                continue
            given = self.raci.setdefault(data["step"], {})
            given.setdefault(data["profile"], []).append(data["role"])
        procedure = self.instance
        if procedure.provider_id is None or procedure.workflow is None:
            return  # the procedure's own fields are in error; they are reported there
        try:
            services.resolve_raci(procedure.provider, procedure.workflow, self.raci)
        except ValidationError as exc:
            raise ValidationError(exc.message_dict.get("raci") or exc.messages) from None


class ResponsibilityInline(admin.TabularInline):
    model = StepResponsibility
    form = ResponsibilityForm
    formset = ResponsibilityFormSet
    autocomplete_fields = ["profile"]
    extra = 3

    # Rows of a version no longer in force are history: shown, never edited.
    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and (obj is None or obj.active)

    def has_add_permission(self, request, obj=None):
        return super().has_add_permission(request, obj) and (obj is None or obj.active)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and (obj is None or obj.active)


class ProcedureForm(forms.ModelForm):
    workflow = forms.TypedChoiceField(choices=_workflow_choices, coerce=int)

    class Meta:
        model = Procedure
        fields = ["provider", "workflow", "name"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk is None:
            # This instance is never saved: set_procedure numbers and activates the new version.
            # As an unnumbered draft it cannot clash with the versions already stored.
            self.instance.version, self.instance.active = 0, False


@admin.register(Procedure)
class ProcedureAdmin(admin.ModelAdmin):
    form = ProcedureForm
    list_display = ["workflow", "name", "version", "active", "provider", "updated_at"]
    list_filter = ["provider", "active", "workflow"]
    search_fields = ["name", "responsibilities__profile__name"]
    inlines = [ResponsibilityInline]
    actions = ["retire", "restore"]

    def get_readonly_fields(self, request, obj=None):
        # A saved procedure keeps its provider and workflow; editing makes a new version.
        fixed = ["provider", "workflow"] if obj is not None else []
        return [*fixed, "version", "active", "updated_at"]

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["provider", "workflow", "name"]
        return ["provider", "workflow", "name", "version", "active", "updated_at"]

    def has_change_permission(self, request, obj=None):
        # Old versions are history: they can be read and restored, never edited.
        allowed = super().has_change_permission(request, obj)
        return allowed and (obj is None or obj.active)

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        """Nothing is written yet: the new version is made in `save_related`, once the
        responsibilities from the inline are known."""

    def save_related(self, request, form, formsets, change):
        for formset in formsets:
            formset.save(commit=False)  # the admin's change message reads what it collects
        if change and not form.has_changed() and not any(f.has_changed() for f in formsets):
            return
        raci = next(f.raci for f in formsets if isinstance(f, ResponsibilityFormSet))
        procedure = form.instance
        saved = services.set_procedure(procedure.provider, procedure.workflow, procedure.name, raci)
        # The admin logs and redirects to the object it holds: make that the new version.
        procedure.pk, procedure.version, procedure.active = saved.pk, saved.version, saved.active
        procedure.updated_at = saved.updated_at
        procedure._state.adding = False

    @admin.action(description="Retire the selected procedures (no procedure in force)")
    def retire(self, request, queryset):
        for procedure in queryset.filter(active=True):
            services.retire_procedure(procedure)

    @admin.action(description="Put the selected versions back in force (as a new version)")
    def restore(self, request, queryset):
        for procedure in queryset:
            try:
                services.restore_procedure(procedure)
            except ValidationError as exc:
                # The model may have changed since that version was written.
                self.message_user(
                    request, f"{procedure}: {'; '.join(exc.messages)}", messages.ERROR
                )


# -- work instructions -------------------------------------------------------------------------------
class WorkInstructionForm(forms.ModelForm):
    step = forms.ChoiceField(choices=_step_choices)

    class Meta:
        model = WorkInstruction
        fields = ["service", "step", "title", "text", "links"]
        help_texts = {"links": 'A JSON list: ["https://…"] or [{"title": "…", "url": "https://…"}]'}

    def clean(self):
        data = super().clean()
        service = data.get("service")
        if service is not None:
            # An instruction belongs to its service's provider; nobody picks it separately.
            self.instance.provider_id = service.provider_id
        if "links" in data:
            try:
                data["links"] = services.clean_links(data["links"] or [])
            except ValidationError as exc:
                self.add_error("links", exc.messages)
        return data


@admin.register(WorkInstruction)
class WorkInstructionAdmin(ServiceWrites, admin.ModelAdmin):
    form = WorkInstructionForm
    list_display = ["service", "step", "title", "provider", "updated_at"]
    list_filter = ["provider", "step", "service"]
    search_fields = ["title", "text", "service__name", "step"]
    list_select_related = ["service", "provider"]
    remove = services.delete_work_instruction
