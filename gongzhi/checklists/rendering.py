"""Turning a checklist version into the rows of a phone form, and a posted form back into answers.

The next pages (an inspection visit) reuse both: ``form_rows`` feeds ``checklists/_form.html`` (include
it inside a ``<form data-checklist>`` and load ``checklists/form.js``), ``answers_from_post`` reads what
came back, ready for ``services.validate_answers``.
"""

from __future__ import annotations

import json
from typing import Any

from .xlsform import Form, pick_label

INPUT_PREFIX = "a-"


def input_name(name: str) -> str:
    return INPUT_PREFIX + name


def answers_from_post(version, data, files=None) -> dict[str, Any]:
    """The answers in a posted form (``request.POST``, ``request.FILES``). A photo question counts as
    answered when a file was sent (its reference is ``upload:<file name>``; the caller stores the file
    and replaces it) or when the form carries a reference from before."""
    form: Form = version if isinstance(version, Form) else version.form
    answers: dict[str, Any] = {}
    for name, question in form.questions.items():
        key = input_name(name)
        if question["type"] == "select_multiple":
            answers[name] = [v for v in data.getlist(key) if v]
        elif question["type"] == "photo":
            upload = files.get(key) if files is not None else None
            answers[name] = f"upload:{upload.name}" if upload is not None else data.get(key, "")
        elif question["type"] != "note":
            answers[name] = data.get(key, "")
    return answers


def _tree(tree) -> str:
    return json.dumps(tree, ensure_ascii=False, separators=(",", ":")) if tree else ""


def form_rows(version, answers: dict[str, Any] | None = None, errors: dict[str, str] | None = None,
              language: str | None = None) -> list[dict]:
    """One dict per row of the form, in order: ``kind`` is "open" / "close" (a group) or "question"."""
    form: Form = version if isinstance(version, Form) else version.form
    answers, errors = answers or {}, errors or {}
    rows: list[dict] = []

    def walk(nodes: list[dict]) -> None:
        for node in nodes:
            base = {"name": node["name"], "id": "q-" + node["name"], "input": input_name(node["name"]),
                    "label": pick_label(node.get("label"), language), "hint": pick_label(node.get("hint"), language),
                    "relevant": _tree(node.get("relevant"))}
            if node["type"] == "group":
                rows.append({**base, "kind": "open"})
                walk(node["children"])
                rows.append({"kind": "close"})
                continue
            value = answers.get(node["name"], "")
            selected = set(value if isinstance(value, list) else str(value or "").split())
            rows.append({
                **base, "kind": "question", "type": node["type"], "required": node.get("required", False),
                "constraint": _tree(node.get("constraint")),
                "constraint_message": pick_label(node.get("constraint_message"), language),
                "required_message": pick_label(node.get("required_message"), language),
                "multiline": "multiline" in (node.get("appearance") or ""),
                "value": "" if isinstance(value, list) else str(value or ""),
                "choices": [{"name": c["name"], "label": pick_label(c["label"], language),
                             "checked": c["name"] in selected, "id": f"q-{node['name']}-{i}"}
                            for i, c in enumerate(form.choice_list(node))],
                "error": errors.get(node["name"], ""), "department": node.get("department", ""),
            })

    walk(form.children)
    return rows
