"""The permission matrix: who gets what, for every URL the project serves.

The expectations live in one table, ``permissions.txt`` beside this module. The test
``gongzhi/core/tests/test_permissions.py`` lists every URL pattern from Django's resolver (pages,
each operation of the ninja API with its methods, the admin), fails when one has no line in the
table, then requests every line as each of the fixed actors and compares what comes back.
``docs/permissions.md`` is generated from the same table::

    python -m gongzhi.core.permmatrix --write     # regenerate docs/permissions.md
    python -m gongzhi.core.permmatrix --check     # exit 1 when it is out of date
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

TABLE = Path(__file__).with_name("permissions.txt")
DOC = Path(__file__).resolve().parents[2] / "docs" / "permissions.md"

ACTORS = ("anonymous", "resident", "worker", "dispatcher", "handler", "outsider", "admin")
ACTOR_LABELS = {
    "anonymous": "anonymous 未登录", "resident": "resident 居民", "worker": "grid worker 网格员",
    "dispatcher": "dispatcher 派遣员", "handler": "handler 部门处置人", "outsider": "outsider 外街道网格员",
    "admin": "admin 管理员",
}
OUTCOMES = {
    "ok": "2xx: the page or the data",
    "redirect": "3xx to somewhere other than the login page (e.g. back to the case after a form)",
    "login": "sent to the login page",
    "401": "not authenticated: the API without a session or token, a webhook without a valid signature",
    "400": "past the permission check, but the input was refused",
    "403": "refused: logged in, but this role may not",
    "404": "not found — also what you get for what is not yours (ARCHITECTURE pattern 2)",
    "405": "method not allowed",
    "409": "past the permission check, but the case's state does not allow it",
    "any": "not checked by the matrix (the admin's own per-model rules decide: read-only models refuse add and delete)",
}
SYMBOLS = {"ok": "✓", "redirect": "↪", "login": "login", "any": "·"}

#: The objects a line can name for its URL parameters (built by the test from the fixed actors).
OBJECTS = {
    "case_reported": "a report from the resident in grid 东一网格 (street A), not yet filed",
    "case_filed": "a filed case in street A, waiting for dispatch",
    "case_dispatched": "a case in street A dispatched to 东派出所, not yet accepted",
    "case_in_progress": "a case in street A accepted by 东派出所",
    "case_extension": "a case in progress at 东派出所 with an extension request waiting for a decision",
    "case_handled": "a case in street A handled by 东派出所, waiting for verification",
    "case_closed": "a closed case in street A, reported by the resident",
    "photo": "a photo of case_reported",
    "street_a": "东街道, the dispatcher's street",
    "grid_a1": "东一网格, the grid worker's grid",
    "police_a": "东派出所, the handler's department (serves street A)",
    "notification": "a message in the dispatcher's inbox",
    "token": "an API token of the dispatcher",
    "device": "a device source with a webhook secret",
    "visit": "a joint-inspection visit of a shop in grid 东一网格 by a team of 东一社区's station (the handler "
             "and a market officer); two items failed",
    "notice": "the visit's rectification notice of 东派出所 (the handler's department)",
    "hazard": "the visit's 东派出所 hazard (疏散通道)",
    "reinspection": "the first re-inspection of that notice (due)",
    "project": "an underway co-decision project of 东一社区 by the dispatcher (no decision), statements computed on "
               "a roll of 东一社区, one progress update with a photo",
    "project_photo": "the photo of that project's progress update",
    # the community portal (社区门户): gongzhi/portal/tests/fuzz_objects.py matrix_objects
    "board_notice": "a notice of 东一社区 for its residents (not public), published by the system",
    "disclosure": "a 公开栏 item (居民公约) of 东一社区 with one version",
    "schedule": "a daily garbage schedule of 东一社区",
    "schedule_exception": "that schedule's exception tomorrow (09:00 instead of 07:30)",
    "residency": "the resident's pending request to live in 东一网格 (unit 1-101)",
    # registries (人员台账): one object of every model in street A, every sealed field a canary value that the
    # matrix test looks for in every response (the leak test); the person is 金丝雀甲 of grid 东一网格
    "person": "金丝雀甲, a floating resident of 东一网格 with identity number, phone and address (sealed)",
    "household": "金丝雀甲's household in 东一网格",
    "stay": "金丝雀甲's floating-population registration (流动人口登记)",
    "keyperson": "金丝雀甲 on the key-person list, the grid worker responsible",
    "correction": "金丝雀甲 under community correction (缓刑) at 东司法所 (judicial, serves street A)",
    "team_member": "the first of that correction's five team members (the handler is its police member)",
    "correction_report": "a check-in report of that correction",
    "assessment": "a risk assessment of that correction",
    "service_hours": "public-service hours of that correction at placement_base",
    "placement_base": "东一公益基地, a correction base of 东一社区",
    "needcase": "the household's need case (困难帮扶), with an assistance plan and a help record",
    "assistance_plan": "that need case's plan",
    "help_record": "that need case's help record",
    "relief_batch": "a relief batch of 东一社区",
    "relief_recipient": "金丝雀甲's household listed in that batch",
    "legal_adviser": "东一社区's legal adviser",
    "consultation": "金丝雀甲's legal consultation in 东一社区",
    "mediation": "a neighbour-dispute mediation in 东一社区 (no mediator)",
    "mediation_party": "金丝雀甲 as the applicant of that mediation",
    "mediation_session": "a session of that mediation",
    "registry_visit": "the grid worker's key-person visit to 金丝雀甲",
    "access_log": "an access-log row: privacy_officer (a 领导 of street A who may reveal, export and approve) "
                  "viewed 金丝雀甲",
    "export_request": "privacy_officer's pending export of the residents of street A",
}


@dataclass(frozen=True)
class Route:
    """One URL pattern and method, as the resolver has it."""

    method: str
    path: str  # "/cases/{number}/" — parameters in braces
    kind: str  # "page", "api" or "admin"
    name: str = ""

    @property
    def params(self) -> list[str]:
        return re.findall(r"{(\w+)}", self.path)


@dataclass
class Row:
    """One line of the table: a method, a URL pattern, what each actor gets, the objects used."""

    method: str
    path: str
    outcomes: dict[str, str]
    objects: dict[str, str] = field(default_factory=dict)
    line: int = 0

    @property
    def is_glob(self) -> bool:
        return self.path.endswith("*")

    def matches(self, route: Route) -> bool:
        if self.method != route.method:
            return False
        if self.is_glob:
            return route.path.startswith(self.path[:-1])
        return self.path == route.path

    @property
    def shown_path(self) -> str:
        """The path with literal parameter values filled in (``/cases/{number}/dispatch/``)."""
        path = self.path
        for name, value in self.objects.items():
            if value not in OBJECTS:
                path = path.replace("{" + name + "}", value)
        return path


# --------------------------------------------------------------------------- the resolver


def _readable(pattern) -> str:
    """A URL pattern as a path with {parameters}: ``<int:pk>/`` and ``^(?P<pk>[0-9]+)/$`` alike."""
    from django.urls.resolvers import RegexPattern, RoutePattern

    if isinstance(pattern, RoutePattern):
        return re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", str(pattern))
    if isinstance(pattern, RegexPattern):
        text = pattern._regex
        text = re.sub(r"\(\?P<(\w+)>(?:[^()]|\([^()]*\))*\)", r"{\1}", text)
        text = text.lstrip("^").rstrip("$").replace("\\.", ".").replace("\\-", "-")
        return text
    return str(pattern)


def _path_view(callback):
    """The ninja PathView behind an API URL pattern's view (its operations know their methods)."""
    from ninja.operation import PathView

    for cell in getattr(callback, "__closure__", None) or ():
        if isinstance(cell.cell_contents, PathView):
            return cell.cell_contents
    return None


def routes() -> list[Route]:
    """Every (method, URL pattern) the project serves. Pages are requested with GET (their POSTs are
    lines of the table of their own); API operations with each method they declare."""
    from django.urls import URLPattern, URLResolver, get_resolver

    found: dict[tuple[str, str], Route] = {}

    def walk(patterns, prefix: str, namespace: str | None):
        for p in patterns:
            if isinstance(p, URLResolver):
                ns = ":".join(filter(None, [namespace, p.namespace]))
                walk(p.url_patterns, prefix + _readable(p.pattern), ns or None)
                continue
            assert isinstance(p, URLPattern)
            path = "/" + prefix + _readable(p.pattern)
            name = ":".join(filter(None, [namespace, p.name or ""]))
            kind = "admin" if path.startswith("/admin/") else "page"
            methods = ["GET"]
            view = _path_view(p.callback)
            if view is not None:
                kind = "api"
                methods = sorted({m.upper() for op in view.operations for m in op.methods
                                  if (getattr(op, "url_name", None) or op.view_func.__name__) == p.name} or ["GET"])
            for method in methods:
                found.setdefault((method, path), Route(method, path, kind, name))  # the first one wins

    walk(get_resolver().url_patterns, "", None)
    return list(found.values())


# --------------------------------------------------------------------------- the table


def load(text: str | None = None) -> list[Row]:
    """Parse the table: ``METHOD PATH outcome×7 [name=object …]``; ``#`` starts a comment."""
    text = TABLE.read_text(encoding="utf-8") if text is None else text
    rows = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip() if not raw.lstrip().startswith("#") else ""
        if not line:
            continue
        parts = line.split()
        if len(parts) < 2 + len(ACTORS):
            raise ValueError(f"{TABLE.name}:{number}: expected METHOD PATH and {len(ACTORS)} outcomes: {raw!r}")
        method, path, *rest = parts
        outcomes = dict(zip(ACTORS, rest[:len(ACTORS)], strict=True))
        bad = [o for o in outcomes.values() if o not in OUTCOMES]
        if bad:
            raise ValueError(f"{TABLE.name}:{number}: unknown outcome {bad[0]!r} (one of {', '.join(OUTCOMES)})")
        objects = {}
        for item in rest[len(ACTORS):]:
            name, sep, value = item.partition("=")
            if not sep:
                raise ValueError(f"{TABLE.name}:{number}: expected name=object after the outcomes, got {item!r}")
            objects[name] = value
        rows.append(Row(method.upper(), path, outcomes, objects, number))
    return rows


def rows_for(route: Route, rows: list[Row]) -> list[Row]:
    """The lines that set what this route answers: its own lines, else the longest matching glob."""
    exact = [r for r in rows if not r.is_glob and r.matches(route)]
    if exact:
        return exact
    globs = sorted((r for r in rows if r.is_glob and r.matches(route)), key=lambda r: -len(r.path))
    return globs[:1]


def suggestion(route: Route, outcomes: dict[str, str] | None = None) -> str:
    cells = " ".join(f"{(outcomes or {}).get(a, '?'):<10}" for a in ACTORS)
    objects = " ".join(f"{p}=?" for p in route.params)
    return f"{route.method:<7}{route.path:<52}{cells}{objects}".rstrip()


# --------------------------------------------------------------------------- outcomes


def classify(response) -> str:
    from django.conf import settings
    from django.shortcuts import resolve_url

    status = response.status_code
    if 200 <= status < 300:
        return "ok"
    if 300 <= status < 400:
        location = response.get("Location", "")
        login = resolve_url(settings.LOGIN_URL)
        target = location.split("?", 1)[0]
        return "login" if target.endswith(login) or target.endswith("/admin/login/") else "redirect"
    return str(status)


def agrees(expected: str, got: str) -> bool:
    return expected == "any" or expected == got


# --------------------------------------------------------------------------- the document


NOTES = [
    "A department's staff see the cases inside the areas their department serves (not only those "
    "dispatched to it): 东派出所 serves 东街道, so its handler sees `case_reported` too, but may not act on it.",
    "A grid worker sees their own grid and below: 东街道 itself (`/areas/{pk}/` with `street_a`) is a 404 for "
    "them, as for the outsider.",
    "The original photo (`kind=image`) is for the command center only: the page answers 404, the API 403.",
    "A page form that is allowed answers ↪ (back to the case, with a success or an error message); "
    "the API lines send valid bodies, so ✓ there means the action was carried out.",
    "`POST /api/v1/cases/{number}/locate` names a grid the resident can't see, so the resident gets 404 "
    "for the grid before the 403 for the action.",
    "Bulk dispatch reports each case's refusal in a message on the queue page (↪) rather than a status code.",
]

SECTIONS = [
    ("Pages", lambda r: not r.path.startswith(("/accounts/", "/api/", "/admin/"))),
    ("Accounts", lambda r: r.path.startswith("/accounts/")),
    ("API (/api/v1)", lambda r: r.path.startswith("/api/")),
    ("Admin", lambda r: r.path.startswith("/admin/")),
]


def _anchor(title: str) -> str:
    return re.sub(r"[^a-z0-9 -]", "", title.lower()).replace(" ", "-")


def render(rows: list[Row]) -> str:
    out = [
        "# Permission matrix: who gets what",
        "",
        "<!-- Generated from gongzhi/core/permissions.txt by `python -m gongzhi.core.permmatrix --write`;",
        "     edit the table, not this file. gongzhi/core/tests/test_permissions.py checks both. -->",
        "",
        "Every URL the project serves, requested as each of the fixed test actors (`gongzhi/conftest.py`):",
        "a resident with no role, the grid worker of 东一网格, the dispatcher (command center) of 东街道, a",
        "handler on the staff of 东派出所 (which serves 东街道), a grid worker of 西街道 (the outsider), and",
        "a superuser. Every object used lies in 东街道, so the outsider must get nothing.",
        "",
        "The test enumerates the URL patterns from Django's resolver — pages, every method of every API",
        "operation, the admin — and fails when a pattern has no line in the table, naming the line to add.",
        "Pages are requested with GET; their forms are lines of their own (POST). Each request runs in a",
        "savepoint that is rolled back, so one actor's successful POST does not change what the next one sees.",
        "The API is called with the web session (the same rules apply to tokens; a read-only token is",
        "refused every write with 403 — see docs/security.md). CSRF is not part of this table.",
        "",
        "| outcome | meaning |",
        "| --- | --- |",
    ]
    out += [f"| {SYMBOLS.get(k, k)} | {v} |" for k, v in OUTCOMES.items()]
    out += ["", "Objects named in the URLs:", ""]
    out += [f"- `{name}`: {text}" for name, text in OBJECTS.items()]
    out += ["", "Reading the table:", ""]
    out += [f"- {note}" for note in NOTES]
    out += [""]
    out += ["Tables: " + ", ".join(f"[{title}](#{_anchor(title)})" for title, _w in SECTIONS)]
    header = "| method | URL | " + " | ".join(ACTOR_LABELS[a] for a in ACTORS) + " |"
    rule = "| --- | --- | " + " | ".join("---" for _ in ACTORS) + " |"
    for title, wanted in SECTIONS:
        section = [r for r in rows if wanted(r)]
        if not section:
            continue
        out += ["", f"## {title}", "", header, rule]
        for row in section:
            objects = ", ".join(f"{k}={v}" for k, v in row.objects.items() if v in OBJECTS)
            url = f"`{row.shown_path}`" + (f" ({objects})" if objects else "")
            if row.is_glob:
                url = f"`{row.path}` (every other admin page)"
            cells = " | ".join(SYMBOLS.get(row.outcomes[a], row.outcomes[a]) for a in ACTORS)
            out.append(f"| {row.method} | {url} | {cells} |")
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", action="store_true", help="write docs/permissions.md")
    parser.add_argument("--check", action="store_true", help="exit 1 when docs/permissions.md is out of date")
    args = parser.parse_args(argv)
    text = render(load())
    if args.write:
        DOC.write_text(text, encoding="utf-8")
        print(f"wrote {DOC}")
        return 0
    if args.check:
        current = DOC.read_text(encoding="utf-8") if DOC.exists() else ""
        if current != text:
            print(f"{DOC} is out of date: run python -m gongzhi.core.permmatrix --write", file=sys.stderr)
            return 1
        return 0
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
