"""``gongzhi router``: smart dispatch from the command line.

    gongzhi router train [--target category|department|all] [--activate]
    gongzhi router status
    gongzhi router evaluate --data FILE --text COLS --label COL [--min-class-size N] [--folds K]
                            [--seed S] [--baseline] [--json] [--directory FILE]

Subcommands are argparse subparsers: each has an ``add_<name>`` (its arguments) and a
``handle_<name>`` method.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "智能分派 / Smart dispatch: train, status."

    SUBCOMMANDS = {
        "train": "训练新版本（历史案件不足时按分类目录冷启动）/ train a new version (cold start from the directory "
                 "when the history is too small)",
        "status": "各预测对象当前使用的模型及其评估指标 / the active model per target and its figures",
        "evaluate": "用CSV或xlsx文件做分层k折交叉验证 / stratified k-fold cross-validation on a CSV or xlsx file",
    }

    def add_arguments(self, parser) -> None:
        sub = parser.add_subparsers(dest="subcommand", metavar="{" + ",".join(self.SUBCOMMANDS) + "}")
        sub.required = True
        for name, text in self.SUBCOMMANDS.items():
            child = sub.add_parser(name, help=text, description=text)
            getattr(self, f"add_{name}")(child)

    def handle(self, *args, **options):
        return getattr(self, f"handle_{options['subcommand']}")(**options)

    # ------------------------------------------------------------------ train

    def add_train(self, parser) -> None:
        parser.add_argument("--target", choices=["category", "department", "all"], default="all")
        parser.add_argument("--activate", action="store_true",
                            help="训练后启用新版本 / make the new version the one in use")

    def handle_train(self, *, target: str, activate: bool, **options) -> None:
        from gongzhi.router import services

        targets = services.TARGETS if target == "all" else (target,)
        for name in targets:
            try:
                result = services.train(name, activate=activate)
            except ImportError as exc:
                raise CommandError(f"the router's model needs scikit-learn and jieba: {exc}") from exc
            if result.model is None:
                self.stdout.write(f"{name}: {result.message}")
                continue
            m = result.model
            figures = ", ".join(f"{k}={m.metrics[k]}" for k in ("accuracy", "macro_f1", "top3", "held_out")
                                if k in m.metrics) or "—"
            self.stdout.write(f"{m} [{m.source}] {m.examples} examples ({m.corrections} corrections), "
                              f"{m.labels} labels, {m.train_seconds:.1f} s; {figures}"
                              + ("; activated" if result.activated else "; not activated (use --activate)"))

    # ------------------------------------------------------------------ status

    def add_status(self, parser) -> None:
        pass

    def handle_status(self, **options) -> None:
        from gongzhi.router import services
        from gongzhi.router.models import RouterSettings

        row = RouterSettings.load()
        self.stdout.write(f"suggestions: {'on' if row.suggestions_enabled else 'off'}; auto-dispatch: "
                          f"{'on' if row.auto_dispatch_enabled else 'off'} (default threshold {row.default_threshold}); "
                          f"retrain every {row.retrain_hours} h, next {row.next_train_at or 'at the next worker pass'}")
        for item in services.status_rows():
            m = item["model"]
            if m is None:
                self.stdout.write(f"{item['target']}: no active model ({item['versions']} versions)")
                continue
            figures = ", ".join(f"{k}={m.metrics[k]}" for k in ("accuracy", "macro_f1", "top3", "held_out") if k in m.metrics)
            self.stdout.write(f"{item['target']}: {m} [{m.source}] since {m.activated_at:%Y-%m-%d %H:%M}, "
                              f"{m.examples} examples; {figures or 'no held-out figures'} "
                              f"({item['versions']} versions)")

    # ------------------------------------------------------------------ evaluate

    def add_evaluate(self, parser) -> None:
        parser.add_argument("--data", required=True, metavar="FILE", help="CSV (UTF-8) or xlsx")
        parser.add_argument("--text", required=True, metavar="COLS",
                            help="text column(s), comma-separated, joined with a space (e.g. title,text)")
        parser.add_argument("--label", required=True, metavar="COL", help="the column to predict")
        parser.add_argument("--min-class-size", type=int, default=1, metavar="N",
                            help="leave out classes with fewer than N examples (default 1)")
        parser.add_argument("--folds", type=int, default=5, metavar="K", help="default 5")
        parser.add_argument("--seed", type=int, default=0, metavar="S", help="shuffles the folds (default 0)")
        parser.add_argument("--baseline", action="store_true",
                            help="also the plain baseline (TF-IDF words + char 1-3-grams, LinearSVC C=0.5), "
                                 "same folds")
        parser.add_argument("--json", action="store_true", help="print every figure as JSON")
        parser.add_argument("--directory", metavar="FILE",
                            help="the category directory (CSV or xlsx: label, then its phrases — subcategory "
                                 "names, synonyms, keywords), as a deployment's categories carry them")

    def handle_evaluate(self, *, data: str, text: str, label: str, min_class_size: int, folds: int, seed: int,
                        baseline: bool, json: bool, directory: str | None = None, **options) -> None:
        import json as json_module

        from gongzhi.router.evaluation import (
            EvaluationError,
            evaluate,
            format_report,
            read_directory,
            read_table,
        )

        try:
            texts, labels = read_table(data, [c.strip() for c in text.split(",")], label.strip())
            phrases = read_directory(directory) if directory else None
            result = evaluate(texts, labels, folds=folds, seed=seed, min_class_size=min_class_size,
                              baseline=baseline, directory=phrases)
        except EvaluationError as exc:
            raise CommandError(str(exc)) from exc
        result["data"] = {"file": data, "text": text, "label": label}
        if json:
            self.stdout.write(json_module.dumps(result, ensure_ascii=False, indent=1))
        else:
            self.stdout.write(format_report(result))
