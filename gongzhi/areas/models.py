"""The area tree: city → district → street → community → grid → building (levels are data).

The tree is stored as a materialised path (``/1/5/23/``): "everything under this street" is one
indexed ``path LIKE '/1/5/%'`` query, with no recursion and no Python walk. Paths are built from
primary keys, so renaming or re-coding an area never touches its descendants; only a move does
(``services.move_area`` rewrites the subtree's paths in one UPDATE).
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class AreaLevel(models.Model):
    """A level of the tree as one deployment names it. ``rank`` orders levels from the top (0)."""

    rank = models.PositiveSmallIntegerField(_("层级序号"), unique=True)
    slug = models.SlugField(_("标识"), max_length=32, unique=True)
    name = models.CharField(_("名称"), max_length=32)
    name_en = models.CharField(_("英文名称"), max_length=32, blank=True)
    code_length = models.PositiveSmallIntegerField(
        _("编码位数"), null=True, blank=True,
        help_text=_("该层级区域编码的位数，如区县 6 位、街道 9 位、社区 12 位、网格 15 位；留空表示不校验"),
    )

    class Meta:
        verbose_name = _("区划层级")
        verbose_name_plural = _("区划层级")
        ordering = ["rank"]

    def __str__(self) -> str:
        return str(self.name)


class AreaQuerySet(models.QuerySet):
    def under(self, area: Area, *, include_self: bool = True) -> AreaQuerySet:
        """The subtree of ``area`` in one indexed prefix query."""
        qs = self.filter(path__startswith=area.path)
        return qs if include_self else qs.exclude(pk=area.pk)

    def under_paths(self, paths) -> AreaQuerySet:
        """Areas inside any of the given subtrees (the jurisdiction filter)."""
        paths = list(paths)
        if not paths:
            return self.none()
        q = Q()
        for path in paths:
            q |= Q(path__startswith=path)
        return self.filter(q)

    def visible_to(self, user) -> AreaQuerySet:
        """The one read door for areas: the subtrees of the user's jurisdiction."""
        from gongzhi.core.scoping import jurisdiction

        scope = jurisdiction(user)
        return self.all() if scope.everything else self.under_paths(scope.paths)


class Area(models.Model):
    """One node of the tree, with an optional polygon (GeoJSON geometry, WGS84)."""

    level = models.ForeignKey(AreaLevel, verbose_name=_("层级"), on_delete=models.PROTECT, related_name="areas")
    parent = models.ForeignKey(
        "self", verbose_name=_("上级"), null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    name = models.CharField(_("名称"), max_length=100)
    name_en = models.CharField(_("英文名称"), max_length=100, blank=True)
    code = models.CharField(_("编码"), max_length=32, unique=True, null=True, blank=True)
    # Indexed by `area_path_prefix` below only: a plain b-tree as well would make PostgreSQL walk
    # the whole table in path order for the first page of a late subtree (docs/benchmarks.md).
    path = models.CharField(max_length=255, editable=False, default="")
    depth = models.PositiveSmallIntegerField(default=0, editable=False)
    geometry = models.JSONField(_("边界"), null=True, blank=True, help_text=_("GeoJSON 几何（WGS84）"))
    label_lon = models.FloatField(null=True, blank=True, editable=False)
    label_lat = models.FloatField(null=True, blank=True, editable=False)
    attributes = models.JSONField(_("属性"), default=dict, blank=True)
    area_class = models.CharField(
        _("区域类别"), max_length=1, blank=True, choices=[("A", "A"), ("B", "B"), ("C", "C")],
        help_text=_("案件时限按 A/B/C 类区域计算；留空则沿用上级区域的类别，都未设置时按 B 类"),
    )
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    objects = AreaQuerySet.as_manager()

    class Meta:
        verbose_name = _("区域")
        verbose_name_plural = _("区域")
        ordering = ["path"]
        indexes = [
            # `path LIKE 'prefix%'` uses this on PostgreSQL whatever the database collation.
            models.Index(fields=["path"], name="area_path_prefix", opclasses=["varchar_pattern_ops"]),
            models.Index(fields=["parent", "name"], name="area_parent_name"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["parent", "name"], name="area_unique_name_in_parent"),
        ]

    def __str__(self) -> str:
        return self.name

    def ancestor_ids(self) -> list[int]:
        return [int(p) for p in self.path.strip("/").split("/")[:-1] if p]

    def ancestors(self) -> models.QuerySet[Area]:
        return Area.objects.filter(pk__in=self.ancestor_ids()).order_by("depth")

    def effective_area_class(self) -> str:
        """This area's class, else the nearest ancestor's, else B."""
        if self.area_class:
            return self.area_class
        from gongzhi.core import refcache

        def load() -> str:
            classes = dict(Area.objects.filter(pk__in=self.ancestor_ids()).exclude(area_class="")
                           .values_list("depth", "area_class"))
            return classes[max(classes)] if classes else "B"
        return refcache.get(("inherited-area-class", self.path), load)

    def is_under(self, other: Area) -> bool:
        return self.path.startswith(other.path)


class AreaIndexStamp(models.Model):
    """A single row whose counter changes whenever any area's polygon or place in the tree does.

    Every process's in-memory point→area index compares its stamp with this one, so a change made
    by one web process or the importer is seen by all (ARCHITECTURE: no in-process state that
    matters for correctness).
    """

    version = models.PositiveBigIntegerField(default=0)

    class Meta:
        verbose_name = _("空间索引版本")
        verbose_name_plural = _("空间索引版本")

    def __str__(self) -> str:
        return f"v{self.version}"
