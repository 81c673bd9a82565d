from django.db import models


class CustomerKind(models.TextChoices):
    INTERNAL = "internal", "Internal"
    EXTERNAL = "external", "External"


class TeamKind(models.TextChoices):
    # Internal solution teams are bound by OLAs, external suppliers by underpinning contracts.
    INTERNAL = "internal", "Internal solution team"
    SUPPLIER = "supplier", "External supplier"


class Responsibility(models.TextChoices):
    RESPONSIBLE = "R", "Responsible"
    ACCOUNTABLE = "A", "Accountable"
    CONSULTED = "C", "Consulted"
    INFORMED = "I", "Informed"
