#!/usr/bin/env python
import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gongzhi.settings")
    # manage.py is the developers' tool: it runs with the development key unless told otherwise.
    # Operators use the `gongzhi` command, which never assumes this (docs/deploy.md).
    os.environ.setdefault("GONGZHI_INSECURE_DEV", "1")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
