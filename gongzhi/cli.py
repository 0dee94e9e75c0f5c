"""The ``gongzhi`` command for operators.

    gongzhi serve [--bind 127.0.0.1:8000] [--workers N]   web server (gunicorn + whitenoise)
    gongzhi worker [--queue-name '*']                     background tasks and the deadline sweeper
    gongzhi migrate                                        create or upgrade the database
    gongzhi demo [--reset]                                 load the demo city (乌海市) and its logins
    gongzhi createadmin                                    create an administrator
    gongzhi import-areas FILE [--commit]                   GeoJSON or xlsx; dry run unless --commit
    gongzhi export-areas FILE [--under CODE]               GeoJSON or xlsx by the file's extension
    gongzhi backup [FILE] [--no-media]                     database + media in one archive (docs/operations.md)
    gongzhi restore FILE [--commit] [--force]              dry run unless --commit; verifies every table
    gongzhi audit_verify | audit_purge | audit_export      the audit log's hash chain, retention, export
    gongzhi <any Django management command>                e.g. gongzhi check --deploy
"""

from __future__ import annotations

import os
import sys

ALIASES = {
    "worker": ["run_worker"],
    "createadmin": ["createsuperuser"],
    "import-areas": ["import_areas"],
    "export-areas": ["export_areas"],
    "demo": ["load_demo"],
}


def serve(argv: list[str]) -> None:
    """Collect static files, then run gunicorn with our WSGI app (replaces this process)."""
    import argparse

    parser = argparse.ArgumentParser(prog="gongzhi serve")
    parser.add_argument("--bind", default=os.environ.get("GONGZHI_BIND", "127.0.0.1:8000"))
    parser.add_argument("--workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", "2")))
    args = parser.parse_args(argv)
    import django
    from django.core.management import call_command

    django.setup()
    call_command("collectstatic", interactive=False, verbosity=0)
    os.execvp(sys.executable, [
        sys.executable, "-m", "gunicorn", "gongzhi.wsgi:application", "--bind", args.bind,
        "--workers", str(args.workers), "--access-logfile", "-", "--forwarded-allow-ips",
        os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1"),
    ])


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gongzhi.settings")
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(__doc__)
        return
    command, rest = argv[0], argv[1:]
    from django.core.exceptions import ImproperlyConfigured

    try:
        from django.conf import settings

        settings.INSTALLED_APPS  # noqa: B018  (loads the settings: a configuration error stops here, plainly)
    except ImproperlyConfigured as exc:
        sys.exit(f"gongzhi: configuration error: {exc}")
    if command == "serve":
        serve(rest)
        return
    from django.core.management import execute_from_command_line

    execute_from_command_line(["gongzhi", *ALIASES.get(command, [command]), *rest])


if __name__ == "__main__":
    main()
