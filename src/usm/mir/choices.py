from django.db import models


class RelationKind(models.TextChoices):
    DEPENDS_ON = "depends_on", "depends on"
    PART_OF = "part_of", "is part of"


class ItemStatus(models.TextChoices):
    PLANNED = "planned", "Planned"
    ACTIVE = "active", "Active"
    RETIRED = "retired", "Retired"


class ChangeRoute(models.TextChoices):
    # The only two doors into the MIR.
    CHANGE = "change", "Change management (CHM Update MIR)"
    ADMIN_IMPORT = "admin_import", "Administrator import"
