"""The router's machine-learning core (textmodel), its evaluation and ``gongzhi router evaluate``."""

from __future__ import annotations

import csv
import io
import json
import random
from collections import Counter

import pytest
from django.core.management import CommandError, call_command

from gongzhi.router import textmodel
from gongzhi.router.evaluation import EvaluationError, evaluate
from gongzhi.router.textmodel import MAX_CHARS, TextRouter, normalize

TOPICS = {
    "垃圾": ["垃圾", "垃圾桶", "垃圾堆", "臭味", "清运", "保洁"],
    "路灯": ["路灯", "灯不亮", "照明", "灯杆", "夜里很黑"],
    "噪音": ["噪音", "施工", "扰民", "广场舞", "声音很大"],
    "占道": ["占道经营", "摊贩", "人行道", "摆摊", "堵路"],
}
FILLER = ["小区", "门口", "楼下", "最近", "每天", "希望", "尽快", "处理", "居民", "反映", "这里", "街道"]


def synthetic(n_per_label: int = 25, seed: int = 1) -> tuple[list[str], list[str]]:
    rng = random.Random(seed)
    texts, labels = [], []
    for label, words in TOPICS.items():
        for _ in range(n_per_label):
            parts = rng.sample(words, 2) + rng.sample(FILLER, 4)
            rng.shuffle(parts)
            texts.append("".join(parts))
            labels.append(label)
    return texts, labels


@pytest.fixture(scope="module")
def router() -> TextRouter:
    return TextRouter().fit(*synthetic())


def test_fit_predict_explain(router):
    assert router.labels_ == sorted(TOPICS)
    best = router.predict(["楼下垃圾桶满了，臭味很大", "晚上路灯不亮", "工地施工噪音扰民"], k=3)
    assert [row[0][0] for row in best] == ["垃圾", "路灯", "噪音"]
    why = router.explain("楼下垃圾桶满了，臭味很大", "垃圾")
    assert why and len(why) <= 6
    assert any("垃圾" in w or "臭味" in w for w in why[:2])
    assert router.explain("楼下垃圾桶满了", "没有这个分类") == []


def test_probabilities_are_calibrated_ordered_and_sum_to_at_most_one(router):
    assert router.info["calibrated"] is True and router.temperature > 0
    for row in router.predict(["垃圾没人清运", "摆摊占道", "随便说点什么"], k=4):
        probs = [p for _, p in row]
        assert all(0.0 <= p <= 1.0 for p in probs)
        assert probs == sorted(probs, reverse=True)
        assert sum(probs) <= 1.0 + 1e-6
    top3 = router.predict(["垃圾没人清运"], k=3)[0]
    assert len(top3) == 3 and sum(p for _, p in top3) < 1.0 + 1e-6


def test_dumps_loads_round_trip_gives_identical_predictions(router):
    data = router.dumps()
    assert isinstance(data, bytes)
    again = TextRouter.loads(data)
    texts = ["楼下垃圾桶满了", "路灯坏了", "广场舞声音很大", ""]
    assert again.predict(texts, k=4) == router.predict(texts, k=4)
    assert again.explain(texts[0], "垃圾") == router.explain(texts[0], "垃圾")
    assert again.labels_ == router.labels_


def test_loads_refuses_other_data_and_other_versions(router, monkeypatch):
    for bad in (b"", b"not a model", b"PK\x03\x04garbage", json.dumps({"format": "x"}).encode()):
        with pytest.raises(ValueError):
            TextRouter.loads(bad)
    monkeypatch.setattr(textmodel, "VERSION", max(textmodel.READABLE_VERSIONS) + 1)
    data = router.dumps()  # a format from the future
    monkeypatch.undo()
    with pytest.raises(ValueError, match="version"):
        TextRouter.loads(data)


def _as_version_1(data: bytes) -> bytes:
    """The same model written as format version 1 wrote it (no tokenisation settings, no names)."""
    import zipfile

    src = zipfile.ZipFile(io.BytesIO(data))
    meta = json.loads(src.read("meta.json"))
    meta["version"] = 1
    for key in ("char_ngrams", "word_chars", "name_weight"):
        meta.pop(key)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("meta.json", json.dumps(meta))
        for name in src.namelist():
            if name != "meta.json" and not name.startswith("names"):
                z.writestr(name, src.read(name))
    return out.getvalue()


def test_a_version_1_model_still_loads_with_its_own_tokenisation(router):
    old = TextRouter.loads(_as_version_1(router.dumps()))
    assert old.char_ngrams == (1, 4) and old.word_chars == textmodel.FEATURE_CHARS and old.names.alpha == 0
    assert old.predict(["楼下垃圾桶满了"])[0][0][0] == "垃圾"
    assert TextRouter.loads(old.dumps()).char_ngrams == (1, 4)  # and is written back as it reads


def test_label_names_help_a_label_with_few_examples_and_survive_dumps():
    texts, labels = synthetic(25)
    # one more label with few examples, all about one place; its name says where
    texts += ["惠南镇这边垃圾没人收", "惠南镇路灯坏了", "惠南镇门口摆摊", "惠南镇施工噪音"]
    labels += ["惠南镇人民政府"] * 4
    names = {lab: lab for lab in labels}
    router = TextRouter().fit(texts, labels, names=names)
    assert router.names.alpha in textmodel.NAME_WEIGHTS and router.info["name_weight"] == router.names.alpha
    match = router.names.match([Counter(textmodel.tokenize("惠南镇有人占道")[1])])
    # 3 of the 11 grams of 惠南镇人民政府 (惠南, 南镇, 惠南镇); none of 垃圾
    assert match[0, router.labels_.index("惠南镇人民政府")] > 0.25 and match[0, router.labels_.index("垃圾")] == 0
    again = TextRouter.loads(router.dumps())
    assert again.names.grams == router.names.grams and again.names.alpha == router.names.alpha
    sample = ["惠南镇有人占道", "楼下垃圾桶满了"]
    assert (again.predict_proba(sample) == router.predict_proba(sample)).all()
    plain = TextRouter().fit(texts, labels)
    assert plain.names.alpha == 0 and plain.info["name_weight"] == 0


def _as_version_2(data: bytes) -> bytes:
    """The same model written as format version 2 wrote it (one name per label, no ``names_owner``)."""
    import zipfile

    src = zipfile.ZipFile(io.BytesIO(data))
    meta = json.loads(src.read("meta.json"))
    meta["version"] = 2
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("meta.json", json.dumps(meta))
        for name in src.namelist():
            if name not in ("meta.json", "names_owner.npy"):
                z.writestr(name, src.read(name))
    return out.getvalue()


def test_a_label_may_have_several_phrases_and_gets_its_best_one():
    texts, labels = synthetic(25)
    phrases = {"垃圾": ["垃圾", "环境卫生", "清运保洁"], "路灯": "路灯", "噪音": ["噪音", "噪声扰民"], "占道": ["占道"]}
    router = TextRouter().fit(texts, labels, names=phrases)
    # phrases in label order (噪音 占道 垃圾 路灯 sorted): 噪音 ×2, 占道, 垃圾 ×3, 路灯
    assert list(router.names.owner) == [router.labels_.index(lab) for lab in sorted(phrases) for _ in
                                        textmodel._Names.phrases(phrases[lab])]
    match = router.names.match([Counter(textmodel.tokenize(t)[1]) for t in ["环境卫生太差", "晚上噪声扰民"]])
    rubbish, noise = router.labels_.index("垃圾"), router.labels_.index("噪音")
    assert match[0, rubbish] == pytest.approx(1.0) and match[1, noise] == pytest.approx(1.0)  # a whole phrase
    assert match[0, noise] == 0 and match.shape == (2, 4)
    again = TextRouter.loads(router.dumps())
    assert (again.names.owner == router.names.owner).all()
    sample = ["环境卫生太差", "楼下垃圾桶满了", "晚上噪声扰民"]
    assert (again.predict_proba(sample) == router.predict_proba(sample)).all()
    # one string per label is the single-phrase case of before: the same feature, no phrase map stored
    single = TextRouter().fit(texts, labels, names={lab: lab for lab in labels})
    listed = TextRouter().fit(texts, labels, names={lab: [lab] for lab in labels})
    assert single.names.owner is None and listed.names.owner is None
    assert (single.predict_proba(sample) == listed.predict_proba(sample)).all()


def test_a_version_2_model_still_loads_and_predicts_as_before():
    texts, labels = synthetic(25)
    texts += ["惠南镇这边垃圾没人收", "惠南镇路灯坏了", "惠南镇门口摆摊", "惠南镇施工噪音"]
    labels += ["惠南镇人民政府"] * 4
    router = TextRouter().fit(texts, labels, names={lab: lab for lab in labels})
    old = TextRouter.loads(_as_version_2(router.dumps()))
    assert old.names.owner is None and old.names.grams == router.names.grams
    sample = ["惠南镇有人占道", "楼下垃圾桶满了"]
    assert (old.predict_proba(sample) == router.predict_proba(sample)).all()


def test_negative_sampling_keeps_every_label(monkeypatch):
    monkeypatch.setattr(textmodel, "NEG_MAX", 20)  # 100 examples: each label's SVM sees 20 of the others
    texts, labels = synthetic(25)
    router = TextRouter().fit(texts, labels)
    best = router.predict(["楼下垃圾桶满了，臭味很大", "晚上路灯不亮", "工地施工噪音扰民"], k=3)
    assert [row[0][0] for row in best] == ["垃圾", "路灯", "噪音"]


def test_an_empty_model_predicts_nothing():
    empty = TextRouter().fit([], [])
    assert empty.labels_ == [] and empty.predict(["垃圾"]) == [[]]
    assert TextRouter.loads(empty.dumps()).predict(["垃圾"]) == [[]]
    one = TextRouter().fit(["垃圾", "垃圾桶"], ["垃圾", "垃圾"])
    assert one.predict(["路灯"])[0][0][0] == "垃圾"


DIRECTORY = [
    ("暴露垃圾", "暴露垃圾 市容环境 垃圾堆放 垃圾没人清理 垃圾成堆 乱倒垃圾"),
    ("垃圾满溢", "垃圾满溢 市容环境 垃圾桶满了 垃圾箱溢出"),
    ("路灯损坏", "路灯 公用设施 路灯不亮 照明设施损坏 灯杆"),
    ("噪声扰民", "施工噪声 环境保护 噪音扰民 夜间施工 广场舞"),
    ("占道经营", "占道经营 街面秩序 流动摊贩 摆摊设点"),
    ("井盖缺失", "井盖 公用设施 污水井盖 雨水井盖 井盖破损 缺失"),
    ("违章停车", "违章停车 交通 乱停车 占用消防通道"),
]


def test_from_directory_suggests_from_the_words_of_a_report():
    router = TextRouter.from_directory(DIRECTORY)
    assert router.info["calibrated"] is False
    top = router.predict(["小区门口垃圾堆满了没人清理"], k=3)[0]
    assert top[0][0] in ("暴露垃圾", "垃圾满溢")
    assert {"暴露垃圾", "垃圾满溢"} <= {label for label, _ in top}
    assert router.predict(["晚上路灯坏了，黑漆漆的"])[0][0][0] == "路灯损坏"
    assert router.explain("小区门口垃圾堆满了没人清理", top[0][0])


BAD = ["", "   ", "\x00\x01\u200b", "😀" * 50, "垃圾" * (MAX_CHARS // 2 + 100), "垃圾堆積，這裡的環境很髒",
       "The street light 路灯 is broken since Monday!!", "１２３４５ ＡＢＣ", None, 12345]


@pytest.mark.parametrize("text", BAD, ids=range(len(BAD)))
def test_bad_input_never_raises(router, text):
    out = normalize(text)
    assert isinstance(out, str) and len(out) <= MAX_CHARS
    row = router.predict([text], k=3)[0]
    assert len(row) == 3 and all(0 <= p <= 1 for _, p in row)
    assert isinstance(router.explain(text, "垃圾"), list)


def test_normalize():
    assert normalize("垃圾堆積") == "垃圾堆积"
    assert normalize("ＡＢＣ  abc\n\t１２") == "abc abc 12"
    assert normalize("路灯😀坏了\u200b") == "路灯 坏了"
    assert len(normalize("字" * 30_000)) == MAX_CHARS


def test_no_known_word_gives_a_low_uniform_answer(router):
    row = router.predict(["😀😀😀", ""], k=4)
    for r in row:
        assert all(abs(p - 0.25) < 1e-6 for _, p in r)
    assert router.predict(["垃圾堆積"])[0][0][0] == "垃圾"  # traditional characters are understood


def test_evaluate_reports_every_figure_and_the_baseline():
    texts, labels = synthetic(12)
    res = evaluate(texts, labels, folds=3, baseline=True)
    for name in ("router", "baseline"):
        r = res[name]
        assert 0.8 <= r["accuracy"] <= 1 and 0 <= r["macro_f1"] <= 1 and r["top3"] >= r["accuracy"]
        assert set(r["per_class"]) == set(TOPICS)
        assert r["confusion"]["labels"] == sorted(TOPICS)
        assert sum(map(sum, r["confusion"]["matrix"])) == len(texts)
        assert r["train_seconds"]["mean"] > 0 and r["latency_ms"]["p99"] >= r["latency_ms"]["p50"] > 0
        assert r["train_cpu_seconds"]["mean"] > 0 and r["latency_cpu_ms"]["p99"] >= r["latency_cpu_ms"]["p50"] >= 0
    assert res["label_names"] is True
    with pytest.raises(EvaluationError, match="fewer examples than the 5 folds"):
        evaluate(texts + ["孤零零"], labels + ["孤儿"], folds=5)
    res = evaluate(texts + ["孤零零"], labels + ["孤儿"], folds=3, min_class_size=3)
    assert res["classes"] == 4


def test_evaluate_with_a_directory(tmp_path):
    from gongzhi.router.evaluation import format_report, read_directory

    path = tmp_path / "directory.csv"
    path.write_text("一级,二级,关键词\n垃圾,环境卫生,\"清运；保洁\"\n垃圾,垃圾分类、回收,\n噪音,噪声扰民,施工;广场舞\n,空,\n",
                    encoding="utf-8")
    directory = read_directory(str(path))
    assert directory == {"垃圾": ["环境卫生", "清运", "保洁", "垃圾分类、回收"], "噪音": ["噪声扰民", "施工", "广场舞"]}
    texts, labels = synthetic(12)
    res = evaluate(texts, labels, folds=3, directory=directory)
    assert res["directory"] == {"labels": 2, "phrases": 7} and res["router"]["accuracy"] >= 0.8
    assert "7 phrases of 2 labels" in format_report(res)
    (tmp_path / "empty.csv").write_text("a,b\n,x\n", encoding="utf-8")
    with pytest.raises(EvaluationError, match="no row has a label"):
        read_directory(str(tmp_path / "empty.csv"))


def write_csv(path, rows, header=("title", "text", "label")):
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return str(path)


def run(*args) -> str:
    out = io.StringIO()
    call_command("router", "evaluate", *args, stdout=out)
    return out.getvalue()


def test_evaluate_command(tmp_path):
    texts, labels = synthetic(8)
    path = write_csv(tmp_path / "tiny.csv", [(t[:4], t[4:], lab) for t, lab in zip(texts, labels, strict=True)])
    text = run("--data", path, "--text", "title,text", "--label", "label", "--folds", "3", "--baseline")
    assert "macro-F1" in text and "top-3 accuracy" in text and "baseline" in text and "latency p99 ms" in text
    assert "latency p99 CPU ms" in text and "training CPU s" in text and "label names" in text
    assert "confusion matrix" in text
    data = json.loads(run("--data", path, "--text", "title,text", "--label", "label", "--folds", "3", "--json"))
    assert data["examples"] == len(texts) and "baseline" not in data and data["router"]["top3"] > 0.5


def test_evaluate_command_reads_xlsx(tmp_path):
    from openpyxl import Workbook

    texts, labels = synthetic(6)
    wb = Workbook()
    ws = wb.active
    ws.append(["内容", "分类"])
    for t, lab in zip(texts, labels, strict=True):
        ws.append([t, lab])
    wb.save(tmp_path / "tiny.xlsx")
    text = run("--data", str(tmp_path / "tiny.xlsx"), "--text", "内容", "--label", "分类", "--folds", "2")
    assert "24 examples, 4 classes, 2-fold" in text


def test_evaluate_command_errors(tmp_path):
    texts, labels = synthetic(3)
    path = write_csv(tmp_path / "tiny.csv", [("", t, lab) for t, lab in zip(texts, labels, strict=True)])
    cases = [
        (["--data", str(tmp_path / "missing.csv"), "--text", "text", "--label", "label"], "no such file"),
        (["--data", path, "--text", "body", "--label", "label"], "no column body"),
        (["--data", path, "--text", "text", "--label", "agency"], "no column agency"),
        (["--data", path, "--text", "text", "--label", "label"], "fewer examples than the 5 folds"),
        (["--data", path, "--text", "text", "--label", "label", "--min-class-size", "9"], "at least 2 classes"),
        (["--data", path, "--text", "text", "--label", "label", "--folds", "1"], "at least 2 folds"),
    ]
    for args, message in cases:
        with pytest.raises(CommandError, match=message):
            run(*args)
    (tmp_path / "latin1.csv").write_bytes("text,label\n垃圾,a\n".encode("gb18030"))
    with pytest.raises(CommandError, match="UTF-8"):
        run("--data", str(tmp_path / "latin1.csv"), "--text", "text", "--label", "label")
    (tmp_path / "x.pdf").write_bytes(b"%PDF")
    with pytest.raises(CommandError, match="csv or .xlsx"):
        run("--data", str(tmp_path / "x.pdf"), "--text", "text", "--label", "label")
