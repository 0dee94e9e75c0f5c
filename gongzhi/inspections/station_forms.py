"""Forms of the station and team pages. The services check everything again (jurisdiction, one
member per department, staff of the department); the forms give the phone clear Chinese messages."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from gongzhi.areas.models import Area
from gongzhi.orgs.models import Department, User

NAME_ERRORS = {"required": _("名称不能为空"), "max_length": _("名称不能超过 100 个字符")}


def _person(user) -> str:
    return str(user)  # the display name, else the username


class PersonChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return _person(obj)


def serving_departments(community: Area):
    """Active departments serving the community or an area above it (as ``services._department_for``)."""
    ids = [community.pk, *community.ancestors().values_list("pk", flat=True)]
    return Department.objects.filter(is_active=True, areas__in=ids).distinct().order_by("kind", "name")


def staff_of(department: Department):
    return User.objects.filter(is_active=True, staff_posts__department=department).distinct().order_by("username")


class StationForm(forms.Form):
    """A station for a community of the user's jurisdiction that has none (``communities``)."""

    area = forms.ModelChoiceField(queryset=None, label=_("所在社区"),
                                  error_messages={"required": _("请选择社区"),
                                                  "invalid_choice": _("请选择您管辖范围内尚无工作站的社区")})
    name = forms.CharField(label=_("名称"), max_length=100, required=False, help_text=_("留空为“社区名称+星火工作站”"),
                           error_messages=NAME_ERRORS)

    def __init__(self, *args, communities, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["area"].queryset = communities


class TeamForm(forms.Form):
    """A team: its name and, for each department serving the community, optionally one of its staff."""

    name = forms.CharField(label=_("小组名称"), max_length=100, error_messages=NAME_ERRORS)

    def __init__(self, *args, departments, **kwargs):
        super().__init__(*args, **kwargs)
        self.departments = list(departments)
        for department in self.departments:
            self.fields[f"dept_{department.pk}"] = PersonChoiceField(
                queryset=staff_of(department), label=department.name, required=False, empty_label=_("（不参加）"),
                error_messages={"invalid_choice": _("请选择 %(department)s 的人员") % {"department": department.name}})

    def members(self) -> list[tuple[User, Department]]:
        return [(self.cleaned_data[f"dept_{d.pk}"], d) for d in self.departments
                if self.cleaned_data.get(f"dept_{d.pk}")]


class MemberForm(forms.Form):
    """Add a member to a team: a department serving the community and one of its staff."""

    department = forms.ModelChoiceField(queryset=None, label=_("部门"),
                                        error_messages={"required": _("请选择部门"),
                                                        "invalid_choice": _("请选择服务本社区的部门")})
    user = PersonChoiceField(queryset=None, label=_("人员"),
                             error_messages={"required": _("请选择人员"),
                                             "invalid_choice": _("请选择服务本社区的部门的人员")})

    def __init__(self, *args, departments, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["department"].queryset = departments
        self.fields["user"].queryset = (User.objects.filter(is_active=True,
                                                            staff_posts__department__in=departments)
                                        .distinct().order_by("username"))

    def clean(self):
        data = super().clean()
        user, department = data.get("user"), data.get("department")
        if user and department and not user.staff_posts.filter(department=department).exists():
            self.add_error("user", _("%(user)s 不是 %(department)s 的人员") % {
                "user": _person(user), "department": department.name})
        return data


class ActiveForm(forms.Form):
    active = forms.TypedChoiceField(choices=[("1", _("启用")), ("0", _("停用"))], coerce=lambda v: v == "1",
                                    error_messages={"required": _("请选择启用或停用"),
                                                    "invalid_choice": _("请选择启用或停用")})
