"""The managed infrastructure register: everything the provider keeps under control.

Only Change's "Update MIR" step (and a logged administrator import) may write it. The models
refuse a save outside `usm.mir.services`, which opens the door for exactly those two routes.
"""

from django.conf import settings
from django.db import models
from django.db.models.signals import m2m_changed
from django.dispatch import receiver

from usm.mir.choices import ChangeRoute, ItemStatus, RelationKind
from usm.mir.guard import ensure_writable
from usm.mir.values import ReadableJsonEncoder
from usm.organisation.models import Team, TenantModel


class GuardedQuerySet(models.QuerySet):
    """Bulk writes skip `save()`; they pass the same door."""

    def update(self, **kwargs):
        ensure_writable(self.model.__name__)
        return super().update(**kwargs)

    def delete(self):
        ensure_writable(self.model.__name__)
        return super().delete()

    def bulk_create(self, objs, *args, **kwargs):
        ensure_writable(self.model.__name__)
        return super().bulk_create(objs, *args, **kwargs)

    def bulk_update(self, objs, *args, **kwargs):
        ensure_writable(self.model.__name__)
        return super().bulk_update(objs, *args, **kwargs)


class GuardedModel(models.Model):
    objects = GuardedQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        ensure_writable(self)
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        ensure_writable(self)
        return super().delete(*args, **kwargs)


class MirItem(TenantModel, GuardedModel):
    """A managed infrastructure component (MIC, a configuration item)."""

    identifier = models.SlugField(max_length=80, help_text="Unique name within the provider")
    name = models.CharField(max_length=200)
    type = models.CharField(max_length=60, help_text="e.g. server, application, contract, site")
    status = models.CharField(max_length=10, choices=ItemStatus.choices, default=ItemStatus.ACTIVE)
    owner = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.PROTECT, related_name="mir_items"
    )
    services = models.ManyToManyField("agreements.Service", blank=True, related_name="mir_items")
    attributes = models.JSONField(default=dict, blank=True, encoder=ReadableJsonEncoder)
    version = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["identifier"]
        verbose_name = "MIR item"
        # Add, change and delete stay unused: the administrator's one door is the logged import.
        permissions = [("import_miritems", "Can import MIR items from a file (logged)")]
        constraints = [
            models.UniqueConstraint(fields=["provider", "identifier"], name="mir_identifier_unique")
        ]
        indexes = [models.Index(fields=["provider", "type"])]

    def __str__(self):
        return self.identifier


@receiver(m2m_changed, sender=MirItem.services.through)
def _services_pass_the_door(sender, instance, action, **kwargs):
    # The through table is Django's own model, so `item.services.add()` (or `service.mir_items`)
    # would otherwise change what an item serves without Change or the import.
    if action in ("pre_add", "pre_remove", "pre_clear"):
        ensure_writable(instance)


class MirRelation(GuardedModel):
    provider_path = "source__provider"

    source = models.ForeignKey(MirItem, on_delete=models.CASCADE, related_name="relations_out")
    kind = models.CharField(max_length=12, choices=RelationKind.choices)
    target = models.ForeignKey(MirItem, on_delete=models.CASCADE, related_name="relations_in")

    class Meta:
        verbose_name = "MIR relation"
        constraints = [
            models.UniqueConstraint(fields=["source", "kind", "target"], name="mir_relation_once"),
            models.CheckConstraint(
                condition=~models.Q(source=models.F("target")), name="mir_relation_not_to_itself"
            ),
        ]

    def __str__(self):
        return f"{self.source} {self.get_kind_display()} {self.target}"


class MirChange(TenantModel):
    """The history of the MIR: one row per item changed, append-only, naming the route taken."""

    item = models.ForeignKey(MirItem, null=True, on_delete=models.SET_NULL, related_name="history")
    identifier = models.CharField(max_length=80, help_text="Kept when the item is removed")
    route = models.CharField(max_length=20, choices=ChangeRoute.choices)
    reference = models.CharField(
        max_length=80, blank=True, help_text="The change call (e.g. CHM-000042) or import batch"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    changed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-changed_at", "-id"]
        verbose_name = "MIR change"

    def __str__(self):
        return f"{self.identifier} via {self.route} {self.reference}".strip()
