"""The demo city (DOMAIN.md §5): 乌海市 with its area tree, departments and one login for every role.

``build_demo_city`` writes everything through the service functions (actor ``None`` → "system" in
the audit log) inside one transaction, and does nothing when the city (code 150300) is already
there, so ``make demo`` can run twice. ``reset_demo_city`` removes what the builder made.

Places follow the seeds; every person is invented (ARCHITECTURE: no real people in demo data).
The city and district codes are the real GB/T 2260 codes; street, community and grid codes are
made up on the 15-digit unit-grid scheme (6 district + 3 street + 3 community + 3 sequence).
Buildings, alleys and landmarks have no code. Polygons are nested rectangles near the real places,
subdivided procedurally with a small inset, so that each child lies strictly inside its parent.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import TextIO

from django.contrib.auth import password_validation
from django.contrib.auth.hashers import make_password
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.db.models import Q

from gongzhi.appraisal.demo import build_demo_appraisal
from gongzhi.areas import services as area_services
from gongzhi.areas.models import Area, AreaLevel
from gongzhi.core import audit
from gongzhi.core.scoping import jurisdiction
from gongzhi.deliberation.demo import reset_demo_deliberation
from gongzhi.inspections.demo import reset_demo_joint_inspections
from gongzhi.orgs import services as org_services
from gongzhi.orgs.models import Department, Membership, Role, Staff, User
from gongzhi.points.demo import reset_demo_points
from gongzhi.portal.demo import reset_demo_portal
from gongzhi.premises.demo import reset_demo_premises
from gongzhi.registries.demo import reset_demo_registries
from gongzhi.safety.demo import build_demo_safety, reset_demo_safety

DEMO_PASSWORD = "gongzhi-demo-2026"
DEMO_URL = "http://127.0.0.1:8000/"
CITY_CODE = "150300"

# ---------------------------------------------------------------------------------------------
# Geometry helpers: a box is (west, south, east, north) in WGS84 degrees.
# ---------------------------------------------------------------------------------------------

Box = tuple[float, float, float, float]


def rect(box: Box) -> dict:
    """A GeoJSON polygon for a box (counter-clockwise outer ring, closed)."""
    w, s, e, n = (round(v, 6) for v in box)
    return {"type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]}


def part(box: Box, x0: float, y0: float, x1: float, y1: float) -> Box:
    """The sub-box between fractions ``x0..x1`` (west → east) and ``y0..y1`` (south → north)."""
    w, s, e, n = box
    return (w + (e - w) * x0, s + (n - s) * y0, w + (e - w) * x1, s + (n - s) * y1)


def split(box: Box, cols: int, rows: int, inset: float = 0.05) -> list[Box]:
    """Cut a box into ``cols × rows`` cells in reading order (north-west first), each shrunk by
    ``inset`` (a fraction of the cell) on every side so that neighbours don't touch."""
    cells = []
    for row in range(rows):
        for col in range(cols):
            y_top = 1 - row / rows
            cells.append(part(box, (col + inset) / cols, y_top - (1 - inset) / rows,
                              (col + 1 - inset) / cols, y_top - inset / rows))
    return cells


# ---------------------------------------------------------------------------------------------
# The area tree.
# ---------------------------------------------------------------------------------------------

CITY_BOX: Box = (106.60, 39.40, 107.00, 39.85)
HAIBOWAN_BOX: Box = (106.76, 39.60, 106.92, 39.80)   # 海勃湾区, city centre ≈ 106.82E 39.67N
WUDA_BOX: Box = (106.64, 39.44, 106.78, 39.56)       # 乌达区 ≈ 106.72E 39.50N
FENGHUANGLING_BOX: Box = (106.79, 39.645, 106.85, 39.695)
XINCHENG_BOX: Box = (106.814, 39.664, 106.830, 39.674)
HAIBEI_BOX: Box = (106.79, 39.705, 106.87, 39.745)
BINHAI_BOX: Box = (106.69, 39.475, 106.76, 39.53)
TUANJIE_BOX: Box = (106.712, 39.492, 106.732, 39.504)

# 凤凰小巷 is an alley area of bungalows in 新城社区: three grids, each with two buildings and an
# alley at the building level. Listed east → west.
FENGHUANG_GRIDS = [
    ("凤凰小巷一网格", "凤凰小巷东巷", ("凤凰小巷1号楼", "凤凰小巷2号楼")),
    ("凤凰小巷二网格", "凤凰小巷中巷", ("凤凰小巷3号楼", "凤凰小巷4号楼")),
    ("凤凰小巷三网格", "凤凰小巷西巷", ("凤凰小巷5号楼", "凤凰小巷6号楼")),
]
FENGHUANG_GRID_NAMES = [grid for grid, _alley, _buildings in FENGHUANG_GRIDS]

# 海北街道's eight communities (invented names), two grids each; 钻石广场 is a landmark at the
# building level in one of the grids.
HAIBEI_COMMUNITIES = [
    ("滨河社区", "Binhe"), ("北苑社区", "Beiyuan"), ("林荫社区", "Linyin"), ("康乐社区", "Kangle"),
    ("金沙社区", "Jinsha"), ("馨园社区", "Xinyuan"), ("光明社区", "Guangming"), ("海韵社区", "Haiyun"),
]
DIAMOND_SQUARE_GRID = "金沙社区一网格"

# 团结北路社区: the choice made here is one grid per housing estate (团结小区网格, 医院小区网格,
# 邮政小区网格; an estate of a few hundred households is the usual size of a grid), with the
# estate's name kept in the grid's attributes and two of its buildings at the building level.
TUANJIE_ESTATES = ["团结小区", "医院小区", "邮政小区"]

CHINESE_NUMERALS = "一二三四五六七八九十"


@dataclass
class AreaSpec:
    """One area to create; ``parent`` names an area created before it."""

    name: str
    level: str
    parent: str | None
    code: str | None
    box: Box
    name_en: str = ""
    attributes: dict = field(default_factory=dict)


def area_specs() -> list[AreaSpec]:
    """The whole tree, parents before children. Names are unique across the demo."""
    specs: list[AreaSpec] = []

    def add(name: str, level: str, parent: str | None, code: str | None, box: Box, name_en: str = "",
            **attributes) -> None:
        specs.append(AreaSpec(name, level, parent, code, box, name_en, attributes))

    add("乌海市", "city", None, CITY_CODE, CITY_BOX, "Wuhai")
    add("海勃湾区", "district", "乌海市", "150302", HAIBOWAN_BOX, "Haibowan District")
    add("乌达区", "district", "乌海市", "150304", WUDA_BOX, "Wuda District")

    # 凤凰岭街道 → 新城社区 → the 凤凰小巷 grids.
    add("凤凰岭街道", "street", "海勃湾区", "150302001", FENGHUANGLING_BOX, "Fenghuangling Street")
    add("新城社区", "community", "凤凰岭街道", "150302001001", XINCHENG_BOX, "Xincheng Community")
    grid_boxes = list(reversed(split(XINCHENG_BOX, 3, 1, inset=0.04)))  # east → west
    for seq, (grid_box, (grid, alley, buildings)) in enumerate(
            zip(grid_boxes, FENGHUANG_GRIDS, strict=True), start=1):
        add(grid, "grid", "新城社区", f"150302001001{seq:03d}", grid_box, alley_area="凤凰小巷")
        add(buildings[0], "building", grid, None, part(grid_box, 0.2, 0.6, 0.42, 0.7),
            kind="building", households=24)
        add(buildings[1], "building", grid, None, part(grid_box, 0.58, 0.6, 0.8, 0.7),
            kind="building", households=18)
        add(alley, "building", grid, None, part(grid_box, 0.08, 0.3, 0.92, 0.33), kind="alley")

    # 海北街道: 8 communities in a 4 × 2 layout, 2 grids each (north and south half).
    add("海北街道", "street", "海勃湾区", "150302002", HAIBEI_BOX, "Haibei Street")
    community_boxes = split(HAIBEI_BOX, 4, 2)
    for c_seq, (c_box, (community, c_en)) in enumerate(
            zip(community_boxes, HAIBEI_COMMUNITIES, strict=True), start=1):
        c_code = f"150302002{c_seq:03d}"
        add(community, "community", "海北街道", c_code, c_box, f"{c_en} Community")
        for g_seq, g_box in enumerate(split(c_box, 1, 2, inset=0.04), start=1):
            grid = f"{community}{CHINESE_NUMERALS[g_seq - 1]}网格"
            add(grid, "grid", community, f"{c_code}{g_seq:03d}", g_box)
            if grid == DIAMOND_SQUARE_GRID:
                add("钻石广场", "building", grid, None, part(g_box, 0.4, 0.35, 0.6, 0.65),
                    kind="landmark", note="商住混合的管理区域：商铺与居民住户")

    # 乌达区 → 滨海街道 → 团结北路社区 → one grid per estate.
    add("滨海街道", "street", "乌达区", "150304001", BINHAI_BOX, "Binhai Street")
    add("团结北路社区", "community", "滨海街道", "150304001001", TUANJIE_BOX, "Tuanjie North Road Community")
    estate_boxes = split(TUANJIE_BOX, 3, 1, inset=0.04)
    for seq, (g_box, estate) in enumerate(zip(estate_boxes, TUANJIE_ESTATES, strict=True), start=1):
        grid = f"{estate}网格"
        add(grid, "grid", "团结北路社区", f"150304001001{seq:03d}", g_box, estate=estate)
        for b_seq, b_box in enumerate(split(part(g_box, 0.1, 0.2, 0.9, 0.8), 1, 2, inset=0.15), start=1):
            add(f"{estate}{b_seq}号楼", "building", grid, None, b_box, kind="building", households=36)
    return specs


# ---------------------------------------------------------------------------------------------
# Departments (DOMAIN.md §2 S1/S3): the joint-enforcement four plus the judicial office per street,
# and a command center per city and district. Each serves its own area.
# ---------------------------------------------------------------------------------------------

STREET_DEPARTMENTS = [  # kind, name after the street's short name, code suffix
    ("street_office", "街道办事处", "office"),
    ("police", "派出所", "police"),
    ("market", "市场监管所", "market"),
    ("enforcement", "综合执法中队", "enforcement"),
    ("judicial", "司法所", "judicial"),
]
STREETS = [("凤凰岭街道", "凤凰岭", "fhl"), ("海北街道", "海北", "hb"), ("滨海街道", "滨海", "bh")]
CENTERS = [
    ("乌海市社会治理综合指挥中心", "wh-center", "乌海市"),
    ("海勃湾区社会治理综合指挥中心", "hbw-center", "海勃湾区"),
    ("乌达区社会治理综合指挥中心", "wd-center", "乌达区"),
]


@dataclass(frozen=True)
class DepartmentSpec:
    name: str
    code: str
    kind: str
    area: str


def department_specs() -> list[DepartmentSpec]:
    specs = [DepartmentSpec(name, code, "command_center", area) for name, code, area in CENTERS]
    for street, short, prefix in STREETS:
        for kind, suffix, code_suffix in STREET_DEPARTMENTS:
            name = f"{short}{suffix}"
            specs.append(DepartmentSpec(name, f"{prefix}-{code_suffix}", kind, street))
    return specs


# ---------------------------------------------------------------------------------------------
# People (all invented). Logins get phones 139 0000 00xx, the rest of the roster 139 0000 10xx.
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Person:
    """A demo person: roles as (role code, area name); ``staff`` as (department code, title)."""

    username: str
    name: str
    phone: str
    roles: tuple[tuple[str, str], ...] = ()
    staff: tuple[str, str] | None = None
    superuser: bool = False
    login: bool = True


G1, G2, G3 = FENGHUANG_GRID_NAMES

LOGINS: tuple[Person, ...] = (
    Person("admin", "系统管理员", "13900000001", superuser=True),
    Person("center", "贺明远", "13900000002", (("dispatcher", "乌海市"),), ("wh-center", "派遣员")),
    Person("center-receptionist", "邵雨桐", "13900000003", (("receptionist", "乌海市"),), ("wh-center", "受理员")),
    Person("hbw-shiftlead", "覃立军", "13900000004", (("shift_lead", "海勃湾区"),), ("hbw-center", "值班长")),
    Person("leader", "郁正华", "13900000005", (("leader", "海勃湾区"),)),
    Person("fhl-dispatcher", "钱思源", "13900000006", (("dispatcher", "凤凰岭街道"),)),
    Person("fhl-supervisor", "甘晓峰", "13900000007", (("supervisor", "凤凰岭街道"),)),
    Person("xc-secretary", "卜秀兰", "13900000008", (("party_secretary", "新城社区"),)),
    Person("fh-gridhead", "温建平", "13900000009", (("grid_head", G1),)),
    Person("fh-areahead", "戚玉芬", "13900000010", (("area_head", G1),)),
    Person("fh-alleyhead", "柏德顺", "13900000011", (("alley_head", "凤凰小巷东巷"),)),
    Person("fh-buildinghead", "苗桂英", "13900000012", (("building_head", "凤凰小巷1号楼"),)),
    Person("fh-member", "车志强", "13900000013", (("grid_member", G1),)),
    Person("fh-gridworker", "祁佳怡", "13900000014", tuple(("grid_worker", g) for g in FENGHUANG_GRID_NAMES)),
    Person("fh-informant", "滕浩然", "13900000015", (("informant", G2),)),
    Person("fh-steward", "池美华", "13900000016", (("yard_steward", G3),)),
    Person("fhl-office", "仲文博", "13900000017", staff=("fhl-office", "街道干部")),
    Person("fhl-police", "凌子航", "13900000018", staff=("fhl-police", "社区民警")),
    Person("fhl-market", "冉静怡", "13900000019", staff=("fhl-market", "市场监管员")),
    Person("fhl-enforcement", "鞠海涛", "13900000020", staff=("fhl-enforcement", "执法队员")),
    Person("fhl-judicial", "宓慧敏", "13900000021", staff=("fhl-judicial", "司法助理员")),
    Person("hb-gridworker", "岳欣然", "13900000022", (("grid_worker", "滨河社区一网格"),)),
    Person("wd-gridworker", "蒲俊杰", "13900000023", (("grid_worker", "团结小区网格"),)),
    Person("resident", "闵春燕", "13900000024"),
)

# The other 12 of the 17 residents holding the "four heads" roster in 凤凰小巷 (S2): with the five
# fh-* logins above, each grid has a 网格长, a 片长, a 巷长 for its alley and a 栋长 per building,
# and grids 一 and 二 one plain 网格成员 each (3 × 5 heads + 2 members = 17).
ROSTER_ROLES: tuple[tuple[str, str, str], ...] = (
    ("褚凤英", "building_head", "凤凰小巷2号楼"),
    ("伍长林", "grid_head", G2),
    ("路淑珍", "area_head", G2),
    ("房国庆", "alley_head", "凤凰小巷中巷"),
    ("裴秀梅", "building_head", "凤凰小巷3号楼"),
    ("阮金山", "building_head", "凤凰小巷4号楼"),
    ("瞿丽华", "grid_member", G2),
    ("栾永福", "grid_head", G3),
    ("包德明", "area_head", G3),
    ("左玉兰", "alley_head", "凤凰小巷西巷"),
    ("崔长顺", "building_head", "凤凰小巷5号楼"),
    ("樊桂香", "building_head", "凤凰小巷6号楼"),
)
ROSTER: tuple[Person, ...] = tuple(
    Person(f"fh-m{n:02d}", name, f"139000010{n:02d}", ((role, area),), login=False)
    for n, (name, role, area) in enumerate(ROSTER_ROLES, start=1)
)
FOUR_HEADS_ROLES = ("grid_head", "area_head", "alley_head", "building_head", "grid_member")


def people() -> tuple[Person, ...]:
    return LOGINS + ROSTER


# ---------------------------------------------------------------------------------------------
# Summary.
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoLogin:
    """One row of the login table. ``password`` is empty for an account that existed before the
    demo was loaded (its password was left alone)."""

    username: str
    password: str
    phone: str
    name: str
    post: str
    sees: str


@dataclass
class DemoSummary:
    created: bool
    area_counts: list[tuple[str, int]]
    departments: int
    people: int
    logins: list[DemoLogin]
    url: str = DEMO_URL


def _post(person: Person, role_names: dict[str, str], department_names: dict[str, str]) -> str:
    """The post as the login table shows it: "role · area" and/or "department · title"."""
    if person.superuser:
        return "超级管理员 superuser"
    parts = []
    by_role: dict[str, list[str]] = defaultdict(list)
    for role, area in person.roles:
        by_role[role].append(area)
    for role, areas in by_role.items():
        parts.append(f"{role_names.get(role, role)} {role} · {'、'.join(areas)}")
    if person.staff:
        code, title = person.staff
        parts.append(f"{department_names.get(code, code)} · {title}")
    return "；".join(parts) or "居民（无角色）resident"


def _sees(user: User) -> str:
    """The user's jurisdiction in words: its top areas and how many areas it holds."""
    scope = jurisdiction(user)
    if scope.everything:
        return "全部 everything"
    if scope.empty:
        return "无辖区 none"
    tops = Area.objects.filter(path__in=scope.paths).order_by("depth", "pk").values_list("name", flat=True)
    count = Area.objects.visible_to(user).count()
    return f"{'、'.join(tops)}及下级（{count} 个区域）"


def summarize(*, created: bool) -> DemoSummary:
    """What the demo holds now, read from the database (so a second run prints the same table)."""
    city = Area.objects.filter(code=CITY_CODE).first()
    counts = []
    for level in AreaLevel.objects.order_by("rank"):
        n = Area.objects.under(city).filter(level=level).count() if city else 0
        counts.append((str(level.name), n))
    role_names = dict(Role.objects.values_list("code", "name"))
    dept_codes = [d.code for d in department_specs()]
    department_names = dict(Department.objects.filter(code__in=dept_codes).values_list("code", "name"))
    users = {u.username: u for u in User.objects.filter(username__in=[p.username for p in people()])}
    logins = []
    for person in LOGINS:
        user = users.get(person.username)
        if user is None:
            continue
        ours = user.phone == person.phone
        logins.append(DemoLogin(
            username=person.username, password=DEMO_PASSWORD if ours else "", phone=user.phone or "",
            name=user.display_name or person.name, post=_post(person, role_names, department_names),
            sees=_sees(user),
        ))
    return DemoSummary(created=created, area_counts=counts, departments=len(department_names),
                       people=len(users), logins=logins)


# ---------------------------------------------------------------------------------------------
# Building and resetting.
# ---------------------------------------------------------------------------------------------


def _say(stdout: TextIO | None, message: str) -> None:
    if stdout is not None:
        stdout.write(message + "\n")


def _ensure_user(person: Person, password_hash: str) -> User:
    """Create the person's account, or reuse an account that already has the username (e.g. an
    ``admin`` made with ``gongzhi createadmin``) without touching its password."""
    existing = User.objects.filter(username=person.username).first()
    if existing is not None:
        return existing
    phone = person.phone if not User.objects.filter(phone=person.phone).exists() else None
    user = org_services.create_user(
        actor=None, username=person.username, password=None, display_name=person.name, phone=phone,
        is_superuser=person.superuser, is_staff=person.superuser,
    )
    if person.login:
        # One hash shared by every demo login: hashing each account with the production hasher
        # (PBKDF2, ~0.3 s apiece) would make the demo slow to load. create_user has audited the
        # account already, and the audit log never records passwords.
        User.objects.filter(pk=user.pk).update(password=password_hash)
    return user


def build_demo_city(*, stdout: TextIO | None = None) -> DemoSummary:
    """Load the demo city in one transaction; do nothing when 乌海市 (150300) already exists."""
    with transaction.atomic():
        if Area.objects.filter(code=CITY_CODE).exists():
            _say(stdout, "演示城市已存在，未作改动 / The demo city is already loaded; nothing changed.")
            # Parts added to the demo later reach a city loaded before them (each does nothing twice).
            build_demo_safety(stdout=stdout)
            build_demo_appraisal(stdout=stdout)
            return summarize(created=False)
        password_validation.validate_password(DEMO_PASSWORD)
        levels = {level.slug: level for level in AreaLevel.objects.all()}
        roles = {role.code: role for role in Role.objects.all()}
        missing = ({s.level for s in area_specs()} - set(levels)) | (
            {r for p in people() for r, _area in p.roles} - set(roles))
        if missing:
            raise ImproperlyConfigured(
                f"missing area levels or roles {sorted(missing)}: run `gongzhi migrate` first")

        _say(stdout, "区域 / areas …")
        areas: dict[str, Area] = {}
        for spec in area_specs():
            if spec.name in areas:
                raise ValueError(f"duplicate demo area name {spec.name}")
            areas[spec.name] = area_services.create_area(
                actor=None, level=levels[spec.level], parent=areas[spec.parent] if spec.parent else None,
                name=spec.name, name_en=spec.name_en, code=spec.code, geometry=rect(spec.box),
                attributes=spec.attributes,
            )

        _say(stdout, "部门 / departments …")
        departments: dict[str, Department] = {}
        for spec in department_specs():
            area = areas[spec.area]
            departments[spec.code] = org_services.create_department(
                actor=None, name=spec.name, code=spec.code, kind=spec.kind, areas=[area], home_area=area)

        _say(stdout, "人员 / people …")
        password_hash = make_password(DEMO_PASSWORD)
        for person in people():
            user = _ensure_user(person, password_hash)
            for role, area in person.roles:
                org_services.assign_role(actor=None, user=user, area=areas[area], role=roles[role])
            if person.staff:
                code, title = person.staff
                org_services.add_staff(actor=None, department=departments[code], user=user, title=title)
        build_demo_safety(stdout=stdout)  # police jurisdictions, two months of grades, measures (docs/safety.md)
        build_demo_appraisal(stdout=stdout)  # a scored project and a 最美家庭 selection (docs/appraisal.md)
        return summarize(created=True)


def _own_users() -> Q:
    """The demo's own accounts: demo username with the demo phone (so a pre-existing ``admin`` stays)."""
    q = Q(pk__in=[])
    for person in people():
        q |= Q(username=person.username, phone=person.phone)
    return q


def reset_demo_city(*, stdout: TextIO | None = None) -> bool:
    """Delete the demo city: its memberships, departments, the demo's own accounts, then its areas
    deepest first (``delete_area`` audits each). Returns False when there was nothing to delete.

    Raises ``django.db.models.ProtectedError`` (and rolls everything back) when other records, such
    as cases, still point at a demo area or department.
    """
    with transaction.atomic():
        city = Area.objects.filter(code=CITY_CODE).first()
        users = User.objects.filter(_own_users())
        if city is None and not users.exists():
            return False
        areas = Area.objects.under(city) if city else Area.objects.none()
        area_ids = list(areas.values_list("pk", flat=True))
        departments = Department.objects.filter(
            Q(code__in=[d.code for d in department_specs()]) | Q(home_area__in=area_ids))
        audit.record(None, "demo.reset", city, note="load_demo --reset")
        reset_demo_safety()  # the police jurisdictions live beside the area tree
        reset_demo_joint_inspections(area_ids)  # stations, teams, visits, notices of the demo's communities
        reset_demo_premises()
        reset_demo_points(area_ids)
        reset_demo_deliberation(area_ids)
        reset_demo_registries(area_ids)
        reset_demo_portal(area_ids)
        Membership.objects.filter(Q(user__in=users) | Q(area__in=area_ids)).delete()
        Staff.objects.filter(Q(user__in=users) | Q(department__in=departments)).delete()
        _say(stdout, f"删除部门 / deleting departments: {departments.count()}")
        departments.delete()
        _say(stdout, f"删除账号 / deleting accounts: {users.count()}")
        users.delete()
        _say(stdout, f"删除区域 / deleting areas: {len(area_ids)}")
        for area in Area.objects.filter(pk__in=area_ids).order_by("-depth", "-pk"):
            area_services.delete_area(area, actor=None)
        return True
