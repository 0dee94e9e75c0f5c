"""The router's machine-learning core: Chinese report text → ranked labels with calibrated confidence.

No database, no Django: pure Python + numpy/scipy + scikit-learn, so that it can be evaluated on any
CSV (``gongzhi router evaluate``), benchmarked (``bench/router.py``) and stored as bytes.

Pipeline (docs/router.md, "The model", says why):

1. ``normalize``: NFKC (full-width → half-width), traditional → simplified (zhconv), lower case,
   emoji and control characters dropped, whitespace collapsed, at most 20,000 characters.
2. Two blocks of features, each TF-IDF with sublinear TF and L2-normalised: jieba words (uni- and
   bigrams, from the first 500 characters) and character 1–3-grams (from the first 1,000, within
   runs of letters and digits, so no n-gram spans punctuation). Digit runs become ``0`` (dates, phone
   and house numbers are noise).
3. A linear SVM (one-vs-rest, squared hinge, C = 0.5) with class-balanced example weights times the
   caller's weights; each label's SVM sees at most ``NEG_MAX`` sampled examples of the other labels.
4. Optionally, the label-name feature (``_Names``): how much of a label's name (or its best-matching
   phrase: synonyms, keywords, subcategories from the category directory) the text contains.
5. Calibration: probabilities are a softmax of the decision scores (+ the name feature × its weight)
   divided by a temperature; temperature and name weight minimise the log-loss of held-out scores
   (a model trained on two thirds scores the last).

``dumps`` writes a zip of JSON + ``.npy`` arrays (no pickle: loading a model from the database
never runs code), versioned by ``FORMAT``/``VERSION``.
"""

from __future__ import annotations

import io
import json
import logging
import math
import re
import threading
import unicodedata
import zipfile
from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np
import scipy.sparse as sp

__all__ = ["MAX_CHARS", "TextRouter", "normalize", "tokenize"]

FORMAT = "gongzhi.router.textmodel"
VERSION = 3  # 3: a label may have several name phrases (names_owner.npy); 2: char 1–3-grams, jieba on the
#   first 500 characters, optional label-name feature (one name per label)
READABLE_VERSIONS = (1, 2, 3)  # version 1 models (char 1–4-grams, jieba on 1,000 characters) still load
MAX_CHARS = 20_000

#: The model's few hyper-parameters (principled defaults, not tuned to one data set; docs/router.md).
C = 0.5  # SVM regularisation: the usual default for L2-normalised TF-IDF text features
CHAR_NGRAMS = (1, 3)  # 4-grams added nothing measurable (docs/router.md) and cost a quarter of the features
MIN_DF_FROM = 1_000  # from this many training texts on, a feature must occur in ≥ 2 of them
MAX_FEATURES = 400_000  # the features found in most texts; bounds memory and the model's size
MAX_WEIGHTS = 4_000_000  # non-zero weights kept (≈ 32 MB); the smallest are dropped beyond that
CALIBRATION_FOLDS = 3
NAME_WEIGHTS = (0.0, 0.25, 0.5, 1.0, 2.0)  # label-name feature weights tried on the held-out third
TOL = 0.1  # liblinear's own default stopping tolerance for the dual solver (scikit-learn's 1e-4 is 3× slower)
NEG_MAX = 3_000  # per label, at most this many other-label examples train its SVM (re-weighted; see _svm)
DEFAULT_TEMPERATURE = 0.3  # when there is too little data to fit one (cold start)
FEATURE_CHARS = 1_000  # the features read the first 1,000 characters (title and complaint; latency bound)
WORD_CHARS = 500  # … and jieba its first 500 (jieba is the slowest step; n-grams cover the rest)

_log = logging.getLogger(__name__)

# ------------------------------------------------------------------------------------ normalize

_SEP = re.compile(r"[^\w]+")
_DIGITS = re.compile(r"\d+")
_WS = re.compile(r"\s+")


def _keep(ch: str) -> bool:
    cat = unicodedata.category(ch)
    if cat[0] == "C":  # control, format (zero-width joiners…), surrogates, private use, unassigned
        return False
    if cat == "So" or cat == "Sk" or cat == "Mn" and ord(ch) in (0xFE0F, 0xFE0E, 0x20E3):
        return False  # emoji and other pictographs, skin-tone modifiers, variation selectors
    return True


_to_simplified_lock = threading.Lock()


def _simplified(text: str) -> str:
    try:
        import zhconv

        with _to_simplified_lock:  # zhconv builds its dictionary on first use
            return zhconv.convert(text, "zh-cn")
    except Exception:  # never raise: traditional characters then stay as they are
        _log.exception("traditional → simplified conversion failed")
        return text


# Emoji, pictographs, dingbats, variation selectors, zero-width and bidi controls, C0/C1 controls:
# removed by one regular expression; what else is not printable goes through ``_keep`` (rare).
_JUNK = re.compile("[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u206f\u20e3\u2600-\u27bf"
                   "\ufe00-\ufe0f\ufeff\ufff0-\uffff\U0001f000-\U0001faff\U000e0000-\U000e007f]+")


def normalize(text: str) -> str:
    """NFKC, traditional → simplified, lower case, no emoji/control characters, collapsed whitespace,
    at most ``MAX_CHARS`` characters. Never raises (anything that is not a string gives "")."""
    if not isinstance(text, str):
        text = "" if text is None else str(text)
    text = text[: MAX_CHARS * 2]  # NFKC can lengthen; bound the work before it
    text = _WS.sub(" ", text)  # before _JUNK: newlines and tabs are spaces, not junk
    text = _JUNK.sub(" ", unicodedata.normalize("NFKC", text))
    if not text.isprintable():
        text = "".join(ch if _keep(ch) else " " for ch in text)
    text = _WS.sub(" ", text).strip().lower()
    text = _simplified(text[:MAX_CHARS])
    return text[:MAX_CHARS]


# ------------------------------------------------------------------------------------ tokenize

_jieba = None
_jieba_lock = threading.Lock()


def _tokenizer():
    """jieba's tokenizer, initialised once (lazily, quietly, under a lock)."""
    global _jieba
    if _jieba is None:
        with _jieba_lock:
            if _jieba is None:
                import jieba

                jieba.setLogLevel(logging.WARNING)
                tk = jieba.Tokenizer()
                tk.initialize()
                _jieba = tk
    return _jieba


def _words(text: str) -> list[str]:
    # HMM=False: jieba's guessing of words missing from its dictionary is left out (a quarter of its
    # time); the character n-grams already cover such words.
    out = []
    for w in _tokenizer().lcut(text, HMM=False):
        if _SEP.fullmatch(w) or not w.strip():
            continue
        out.append(_DIGITS.sub("0", w))
    return out


def _char_ngrams(text: str, ngrams: tuple[int, int] = CHAR_NGRAMS) -> list[str]:
    lo, hi = ngrams
    out: list[str] = []
    for seg in _SEP.split(_DIGITS.sub("0", text)):
        n_seg = len(seg)
        for n in range(lo, min(hi, n_seg) + 1):
            out.extend(seg[i:i + n] for i in range(n_seg - n + 1))
    return out


def tokenize(text: str, ngrams: tuple[int, int] = CHAR_NGRAMS,
             word_chars: int = WORD_CHARS) -> tuple[list[str], list[str]]:
    """(word features, character features) of an already normalised text: words and word pairs of its
    first ``word_chars`` characters, character n-grams of its first FEATURE_CHARS."""
    text = text[:FEATURE_CHARS]
    words = _words(text[:word_chars])
    return words + [f"{a} {b}" for a, b in zip(words, words[1:], strict=False)], _char_ngrams(text, ngrams)


def _head(text: str) -> str:
    """The normalised beginning of a text that the features read (normalising all 20,000 characters of
    a long text would cost more than the rest of a prediction; twice the length covers what NFKC and
    collapsed whitespace can shorten)."""
    if not isinstance(text, str):
        text = "" if text is None else str(text)
    return normalize(text[: FEATURE_CHARS * 2])[:FEATURE_CHARS]


# ------------------------------------------------------------------------------------ features


class _Block:
    """One TF-IDF block: vocabulary, idf; sublinear TF, L2 norm (as scikit-learn's TfidfVectorizer
    with ``sublinear_tf=True``, smooth idf), written out so the same code serves fit and predict and
    the model stores as plain arrays."""

    def __init__(self, vocab: list[str] | None = None, idf: np.ndarray | None = None):
        self.terms = vocab or []
        self.index = {t: i for i, t in enumerate(self.terms)}
        self.idf = np.zeros(0, dtype=np.float32) if idf is None else idf.astype(np.float32)

    def fit(self, docs: Sequence[Iterable[str]], min_df: int, max_features: int) -> _Block:
        return self.fit_counted([Counter(d) for d in docs], min_df, max_features)

    def fit_counted(self, counts: Sequence[Counter], min_df: int, max_features: int) -> _Block:
        """``fit`` from each document's term counts (training counts once, for fit and transform)."""
        df: Counter[str] = Counter()
        for c in counts:
            df.update(c.keys())
        kept = [(c, t) for t, c in df.items() if c >= min_df]
        if len(kept) > max_features:
            kept = sorted(kept, key=lambda p: (-p[0], p[1]))[:max_features]
        self.terms = sorted(t for _, t in kept)
        self.index = {t: i for i, t in enumerate(self.terms)}
        n = len(counts)
        counts_ = np.array([df[t] for t in self.terms], dtype=np.float64)
        self.idf = (np.log((1 + n) / (1 + counts_)) + 1).astype(np.float32)
        return self

    def transform_counted(self, counts: Sequence[Counter], offset: int = 0,
                          width: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Sublinear TF × idf, L2-normalised rows, for all documents at once, as CSR arrays
        (data, column + ``offset``, row pointers)."""
        indptr = np.zeros(len(counts) + 1, dtype=np.int64)
        indices: list[int] = []
        tf: list[int] = []
        index = self.index
        for i, c in enumerate(counts):
            for t, n in c.items():
                j = index.get(t)
                if j is not None:
                    indices.append(j)
                    tf.append(n)
            indptr[i + 1] = len(indices)
        cols = np.asarray(indices, dtype=np.int32)
        vals = (1 + np.log(np.asarray(tf, dtype=np.float32))) * self.idf[cols]
        lengths = np.diff(indptr)
        if len(vals):
            rows = np.repeat(np.arange(len(counts)), lengths)
            norms = np.sqrt(np.bincount(rows, weights=vals * vals, minlength=len(counts))).astype(np.float32)
            vals /= norms[rows]
        return vals, cols + offset if offset else cols, indptr

    def transform(self, docs: Sequence[Iterable[str]]) -> sp.csr_matrix:
        vals, cols, indptr = self.transform_counted([Counter(d) for d in docs])
        return sp.csr_matrix((vals, cols, indptr), shape=(len(docs), len(self.terms)))


def _side_by_side(a: tuple, b: tuple, shape: tuple[int, int]) -> sp.csr_matrix:
    """One CSR matrix from two blocks' CSR arrays (``b``'s columns already offset), row by row."""
    (va, ca, pa), (vb, cb, pb) = a, b
    la, lb = np.diff(pa), np.diff(pb)
    indptr = np.zeros(len(la) + 1, dtype=np.int64)
    np.cumsum(la + lb, out=indptr[1:])
    # block a's entries go first in each row, then block b's
    pos_a = np.repeat(indptr[:-1] - pa[:-1], la) + np.arange(len(va))
    pos_b = np.repeat(indptr[:-1] + la - pb[:-1], lb) + np.arange(len(vb))
    data = np.empty(len(va) + len(vb), dtype=np.float32)
    cols = np.empty(len(va) + len(vb), dtype=np.int32)
    data[pos_a], cols[pos_a] = va, ca
    data[pos_b], cols[pos_b] = vb, cb
    return sp.csr_matrix((data, cols, indptr), shape=shape)


class _Names:
    """The label-name feature: how much of a label's name the text contains. A label's name (a
    department's or category's name, given to ``fit``) is cut into character 2–3-grams, each weighted
    by its idf among the labels (a gram in every name, 上海市 or 人民政府, weighs nothing); the feature
    is the weighted share of the name's grams found in the text's character n-grams, 0 to 1. A label
    may have several phrases (its name, synonyms, keywords, subcategories — a category directory): each
    phrase is weighted on its own and the label gets its best-matching phrase's share. It adds ``alpha``
    × that to the label's score, ``alpha`` being fitted on held-out data with the temperature (0 when
    it does not help). It carries over to labels with few examples what the SVM learns per label only:
    a letter naming 惠南镇 favours 惠南镇人民政府."""

    def __init__(self, grams: list[str] | None = None, matrix: sp.csr_matrix | None = None, alpha: float = 0.0,
                 owner: np.ndarray | None = None):
        self.grams = grams or []
        self.index = {g: i for i, g in enumerate(self.grams)}
        self.matrix = matrix  # (grams × phrases); one phrase per label unless ``owner`` says otherwise
        self.owner = owner  # per phrase (column), its label's index, ascending; None: column j is label j
        self.alpha = alpha

    @staticmethod
    def phrases(name) -> list[str]:
        """A label's phrases: a string is one phrase, a list or tuple several (empty ones dropped)."""
        items = [name] if isinstance(name, str) or name is None else list(name)
        out: list[str] = []
        for item in items:
            text = normalize("" if item is None else str(item))
            if text and text not in out:
                out.append(text)
        return out

    def fit(self, labels: list[str], names: dict, ngrams: tuple[int, int]) -> _Names:
        lo, hi = max(2, ngrams[0]), ngrams[1]
        owner: list[int] = []
        sets: list[set[str]] = []
        for j, lab in enumerate(labels):
            for phrase in self.phrases(names.get(lab)) or [""]:
                owner.append(j)
                sets.append({g for g in _char_ngrams(phrase, (lo, hi)) if g != "0"})
        label_grams: list[set[str]] = [set() for _ in labels]
        for j, grams in zip(owner, sets, strict=True):
            label_grams[j] |= grams
        df = Counter(g for grams in label_grams for g in grams)
        idf = {g: math.log(len(labels) / n) for g, n in df.items()}
        self.grams = sorted(g for g, v in idf.items() if v > 0)
        self.index = {g: i for i, g in enumerate(self.grams)}
        rows, cols, vals = [], [], []
        for j, grams in enumerate(sets):
            total = sum(idf[g] for g in grams)
            for g in grams:
                if idf[g] > 0:
                    rows.append(self.index[g])
                    cols.append(j)
                    vals.append(idf[g] / total)
        self.matrix = sp.csr_matrix((np.asarray(vals, dtype=np.float32), (rows, cols)),
                                    shape=(len(self.grams), len(sets)))
        self.owner = None if len(sets) == len(labels) else np.asarray(owner, dtype=np.int32)
        return self

    def match(self, char_counts: Sequence[Counter]) -> np.ndarray | None:
        """(texts × labels) share of each label's name (its best phrase) found in each text; None
        without names."""
        if self.matrix is None or not self.grams:
            return None
        indptr, indices = [0], []
        index = self.index
        for c in char_counts:
            indices.extend(j for j in (index.get(t) for t in c) if j is not None)
            indptr.append(len(indices))
        present = sp.csr_matrix((np.ones(len(indices), dtype=np.float32), indices, indptr),
                                shape=(len(char_counts), len(self.grams)))
        share = np.asarray((present @ self.matrix).todense())
        if self.owner is None:
            return share
        starts = np.flatnonzero(np.r_[True, self.owner[1:] != self.owner[:-1]])
        out = np.zeros((len(char_counts), int(self.owner.max()) + 1), dtype=share.dtype)
        out[:, self.owner[starts]] = np.maximum.reduceat(share, starts, axis=1)
        return out


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def log_loss(scores: np.ndarray, y: np.ndarray, temperature: float) -> float:
    """Mean log-loss of softmax(scores / temperature) against the label indices ``y``."""
    z = scores / temperature
    z = z - z.max(axis=1, keepdims=True)
    return float(np.mean(np.log(np.exp(z).sum(axis=1)) - z[np.arange(len(y)), y]))


def fit_temperature(scores: np.ndarray, y: np.ndarray) -> float:
    """The temperature T minimising the log-loss of softmax(scores / T) (golden-section search on
    log T, the loss being unimodal in practice)."""
    rows = np.arange(len(y))

    def loss(log_t: float) -> float:
        z = scores / math.exp(log_t)
        z = z - z.max(axis=1, keepdims=True)
        return float(np.mean(np.log(np.exp(z).sum(axis=1)) - z[rows, y]))

    lo, hi = math.log(0.01), math.log(10.0)
    g = (math.sqrt(5) - 1) / 2
    a, b = hi - g * (hi - lo), lo + g * (hi - lo)
    fa, fb = loss(a), loss(b)
    for _ in range(40):
        if fa < fb:
            hi, b, fb = b, a, fa
            a = hi - g * (hi - lo)
            fa = loss(a)
        else:
            lo, a, fa = a, b, fb
            b = lo + g * (hi - lo)
            fb = loss(b)
    return math.exp((lo + hi) / 2)


# ------------------------------------------------------------------------------------ the model


class TextRouter:
    """Suggests labels (categories, departments) for a report's text. See the module docstring."""

    def __init__(self, *, c: float = C):
        self.c = c
        self.labels_: list[str] = []
        self.words = _Block()
        self.chars = _Block()
        self.coef: sp.csr_matrix | None = None  # (features, labels): word block rows, then char rows
        self.intercept = np.zeros(0, dtype=np.float32)
        self.temperature = DEFAULT_TEMPERATURE
        self.info: dict = {}
        self.char_ngrams = CHAR_NGRAMS  # what the features were built with (a loaded version 1 model differs)
        self.word_chars = WORD_CHARS
        self.names = _Names()

    # ---------------------------------------------------------------- training

    def _tokenize(self, text: str) -> tuple[list[str], list[str]]:
        return tokenize(_head(text), self.char_ngrams, self.word_chars)

    def _features(self, tokens: Sequence[tuple[list[str], list[str]]]) -> sp.csr_matrix:
        return self._counted_features([Counter(t[0]) for t in tokens], [Counter(t[1]) for t in tokens])

    def _counted_features(self, word_counts: Sequence[Counter], char_counts: Sequence[Counter]) -> sp.csr_matrix:
        n_words = len(self.words.terms)
        return _side_by_side(self.words.transform_counted(word_counts),
                             self.chars.transform_counted(char_counts, offset=n_words),
                             (len(word_counts), n_words + len(self.chars.terms)))

    @staticmethod
    def _svm(x, y: np.ndarray, n_labels: int, weights: np.ndarray, c: float) -> tuple[np.ndarray, np.ndarray]:
        """Weights (features × n_labels) and intercepts of a one-vs-rest linear SVM; labels absent
        from ``y`` get a very low intercept.

        Each label's SVM sees all its own examples and at most ``NEG_MAX`` of the others, drawn at
        random (seeded) and weighted up by the inverse of the drawing rate, so that the objective is
        the full one in expectation. A directory of hundreds of labels then costs labels × (own +
        NEG_MAX) instead of labels × all examples; with fewer than NEG_MAX + 1 examples it is the
        plain one-vs-rest SVM."""
        import warnings

        from sklearn.svm import LinearSVC

        coef = np.zeros((n_labels, x.shape[1]), dtype=np.float32)  # filled row by row, transposed at the end
        intercept = np.full(n_labels, -10.0, dtype=np.float32)
        present = np.unique(y)
        if len(present) == 1:  # one label only: it is always the answer
            intercept[present[0]] = 10.0
            return coef.T, intercept
        x = sp.csr_matrix(x, dtype=np.float64)  # liblinear's type: converted once, not per label
        rng = np.random.default_rng(0)
        for k in present:
            pos = np.flatnonzero(y == k)
            neg = np.flatnonzero(y != k)
            w = weights.copy()
            if len(neg) > NEG_MAX:
                w[neg] *= len(neg) / NEG_MAX
                neg = np.sort(rng.choice(neg, size=NEG_MAX, replace=False))
            rows = np.concatenate([pos, neg])
            target = np.zeros(len(rows), dtype=np.int64)
            target[: len(pos)] = 1
            model = LinearSVC(C=c, loss="squared_hinge", dual=True, max_iter=1000, tol=TOL, random_state=0)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # ConvergenceWarning: the ranking is what matters
                model.fit(x[rows], target, sample_weight=w[rows])
            coef[k] = model.coef_[0]
            intercept[k] = model.intercept_[0]
        return coef.T, intercept

    @staticmethod
    def _balanced(y: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """Class-balanced example weights (each label weighs the same in total) × caller's weights."""
        totals = np.bincount(y, weights=weights)
        present = totals > 0
        per_label = np.zeros_like(totals)
        per_label[present] = weights.sum() / (present.sum() * totals[present])
        return weights * per_label[y]

    def fit(self, texts: list[str], labels: list[str], weights: list[float] | None = None,
            names: dict[str, str | Sequence[str]] | None = None) -> TextRouter:
        """Train on ``texts`` and their ``labels`` (``weights``: how much each counts, default 1).
        ``names``: label → its name (a department's, a category's) or a list of its phrases (name,
        synonyms, keywords, subcategory names: what the category directory holds), for the label-name
        feature (see ``_Names``); without it the model reads the texts only."""
        if len(texts) != len(labels):
            raise ValueError("texts and labels differ in length")
        w = np.ones(len(texts)) if weights is None else np.asarray(weights, dtype=np.float64)
        if len(w) != len(texts) or not np.all(np.isfinite(w)) or np.any(w < 0):
            raise ValueError("weights must be one finite, non-negative number per text")
        keep = w > 0
        texts = [t for t, k in zip(texts, keep, strict=True) if k]
        labels = [str(lab) for lab, k in zip(labels, keep, strict=True) if k]
        w = w[keep]
        self.labels_ = sorted(set(labels))
        if not self.labels_:
            self.coef = None
            self.info = {"examples": 0}
            return self
        ix = {lab: i for i, lab in enumerate(self.labels_)}
        y = np.array([ix[lab] for lab in labels], dtype=np.int64)
        tokens = [self._tokenize(t) for t in texts]
        min_df = 2 if len(tokens) >= MIN_DF_FROM else 1
        word_counts = [Counter(t[0]) for t in tokens]
        char_counts = [Counter(t[1]) for t in tokens]
        del tokens
        self.words.fit_counted(word_counts, min_df, MAX_FEATURES // 4)
        self.chars.fit_counted(char_counts, min_df, MAX_FEATURES - MAX_FEATURES // 4)
        x = self._counted_features(word_counts, char_counts)
        self.names = _Names()
        if names:
            self.names.fit(self.labels_, {str(k): v for k, v in names.items()}, self.char_ngrams)
        match = self.names.match(char_counts)
        del word_counts, char_counts
        sw = self._balanced(y, w)
        coef, self.intercept = self._svm(x, y, len(self.labels_), sw, self.c)
        self.temperature, self.names.alpha, calibrated = self._calibrate(x, y, sw, match)
        self.coef = self._sparsify(coef)
        self.info = {"examples": len(texts), "labels": len(self.labels_), "features": int(x.shape[1]),
                     "weights": int(self.coef.nnz), "min_df": min_df, "calibrated": calibrated,
                     "temperature": round(self.temperature, 4), "name_weight": round(self.names.alpha, 4)}
        return self

    def _calibrate(self, x, y: np.ndarray, sw: np.ndarray, match: np.ndarray | None) -> tuple[float, float, bool]:
        """(temperature, label-name weight, calibrated?) from held-out decision scores: an SVM trained on
        two thirds scores the last third; the name weight is the one of ``NAME_WEIGHTS`` whose scores,
        with their own best temperature, have the lowest held-out log-loss (the vocabulary is shared
        with the held-out third: a negligible optimism for two parameters, and it saves featurising
        twice)."""
        counts = np.bincount(y, minlength=len(self.labels_))
        if len(np.unique(y)) < 2 or np.count_nonzero(counts >= CALIBRATION_FOLDS) < 2:
            return DEFAULT_TEMPERATURE, 0.0, False
        from sklearn.model_selection import KFold, StratifiedKFold

        splitter = (StratifiedKFold(CALIBRATION_FOLDS, shuffle=True, random_state=0)
                    if counts[counts > 0].min() >= CALIBRATION_FOLDS
                    else KFold(CALIBRATION_FOLDS, shuffle=True, random_state=0))
        # One fold is held out (not all three: training time is what a large directory pays for).
        tr, te = next(iter(splitter.split(np.zeros(len(y)), y)))
        coef, b = self._svm(x[tr], y[tr], len(self.labels_), sw[tr], self.c)
        scores = np.asarray(x[te] @ coef + b, dtype=np.float64)
        best = (math.inf, DEFAULT_TEMPERATURE, 0.0)
        for alpha in NAME_WEIGHTS if match is not None else (0.0,):
            z = scores + alpha * match[te] if alpha else scores
            t = fit_temperature(z, y[te])
            best = min(best, (log_loss(z, y[te], t), t, alpha))
        return best[1], best[2], True

    @staticmethod
    def _sparsify(coef: np.ndarray) -> sp.csr_matrix:
        """Keep at most MAX_WEIGHTS weights, the largest in magnitude (a model with many labels
        would otherwise hold features × labels floats in every process)."""
        if coef.size > MAX_WEIGHTS:
            flat = np.abs(coef).ravel()
            cut = np.partition(flat, flat.size - MAX_WEIGHTS)[flat.size - MAX_WEIGHTS]
            coef = np.where(np.abs(coef) >= cut, coef, 0).astype(np.float32)
        return sp.csr_matrix(coef, dtype=np.float32)

    @classmethod
    def from_directory(cls, entries: list[tuple[str, str]]) -> TextRouter:
        """Cold start: one text per label (its name, class, synonyms, keywords; several entries of a
        label are joined). Each text is also split at separators into its phrases, so a report that
        uses one synonym still resembles the label. Not calibrated (no held-out data):
        ``DEFAULT_TEMPERATURE`` gives modest confidences."""
        texts: list[str] = []
        labels: list[str] = []
        for label, text in entries:
            text = normalize(text)
            texts.append(text)
            labels.append(label)
            for phrase in re.split(r"[,，、;；/|\s]+", text):
                if phrase and phrase != text:
                    texts.append(phrase)
                    labels.append(label)
        router = cls()
        router.fit(texts, labels)
        router.temperature = DEFAULT_TEMPERATURE
        router.info["calibrated"] = False
        router.info["temperature"] = DEFAULT_TEMPERATURE
        router.info["source"] = "directory"
        return router

    # ---------------------------------------------------------------- predicting

    def _scores(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        tokens = [self._tokenize(t) for t in texts]
        word_counts = [Counter(t[0]) for t in tokens]
        char_counts = [Counter(t[1]) for t in tokens]
        x = self._counted_features(word_counts, char_counts)
        scores = np.asarray((x @ self.coef).todense()) + self.intercept
        if self.names.alpha:
            scores += self.names.alpha * self.names.match(char_counts)
        return scores, np.diff(x.indptr) == 0

    def scores(self, texts: list[str]) -> np.ndarray:
        """Decision scores (texts × labels)."""
        return self._scores(texts)[0]

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        """Probabilities (texts × labels). A text with no known word (empty, emoji, another
        language) gets the uniform distribution: the honest "don't know"."""
        if not self.labels_ or self.coef is None:
            return np.zeros((len(texts), 0))
        scores, unknown = self._scores(texts)
        p = _softmax(scores / self.temperature)
        p[unknown] = 1.0 / len(self.labels_)
        return p

    def predict(self, texts: list[str], k: int = 3) -> list[list[tuple[str, float]]]:
        """Per text, the ``k`` best labels with their probability, best first."""
        if not self.labels_ or self.coef is None:
            return [[] for _ in texts]
        p = self.predict_proba(texts)
        k = max(0, min(int(k), len(self.labels_)))
        order = np.argsort(-p, axis=1, kind="stable")[:, :k]
        return [[(self.labels_[j], float(round(p[i, j], 6))) for j in row] for i, row in enumerate(order)]

    def explain(self, text: str, label: str, n: int = 6) -> list[str]:
        """The words and n-grams of ``text`` that pushed it towards ``label``, strongest first.
        A character n-gram inside a word already listed is not repeated."""
        if label not in self.labels_ or self.coef is None or n <= 0:
            return []
        j = self.labels_.index(label)
        words, chars = self._tokenize(text)
        x = self._features([(words, chars)])
        weights = self.coef[x.indices][:, [j]].toarray().ravel()  # rows of this text's features only
        n_words = len(self.words.terms)
        found = sorted(zip(x.data * weights, x.indices, strict=True), key=lambda p: -p[0])
        out: list[str] = []
        for value, col in found:
            if value <= 0 or len(out) >= n:
                break
            term = (self.words.terms[col].replace(" ", "") if col < n_words
                    else self.chars.terms[col - n_words])
            if term == "0" or any(term in seen for seen in out):
                continue
            out = [s for s in out if s not in term] + [term]
        return out[:n]

    # ---------------------------------------------------------------- storing

    def dumps(self) -> bytes:
        meta = {"format": FORMAT, "version": VERSION, "labels": self.labels_, "c": self.c,
                "temperature": self.temperature, "info": self.info,
                "shape": [len(self.words.terms) + len(self.chars.terms), len(self.labels_)],
                "char_ngrams": list(self.char_ngrams), "word_chars": self.word_chars,
                "name_weight": self.names.alpha}
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as z:
            z.writestr("meta.json", json.dumps(meta, ensure_ascii=False))
            z.writestr("words.txt", "\n".join(self.words.terms))
            z.writestr("chars.txt", "\n".join(self.chars.terms))
            z.writestr("names.txt", "\n".join(self.names.grams))
            coef = self.coef if self.coef is not None else sp.csr_matrix(tuple(meta["shape"]), dtype=np.float32)
            arrays = {"idf_words": self.words.idf, "idf_chars": self.chars.idf, "intercept": self.intercept,
                      "coef_data": coef.data.astype(np.float32), "coef_indices": coef.indices.astype(np.int32),
                      "coef_indptr": coef.indptr.astype(np.int64)}
            names = (self.names.matrix if self.names.matrix is not None
                     else sp.csr_matrix((0, len(self.labels_)), dtype=np.float32))
            owner = (self.names.owner if self.names.owner is not None
                     else np.arange(names.shape[1], dtype=np.int32))
            arrays |= {"names_data": names.data.astype(np.float32), "names_indices": names.indices.astype(np.int32),
                       "names_indptr": names.indptr.astype(np.int64), "names_owner": owner.astype(np.int32)}
            for name, arr in arrays.items():
                b = io.BytesIO()
                np.save(b, np.ascontiguousarray(arr), allow_pickle=False)
                z.writestr(f"{name}.npy", b.getvalue())
        return buf.getvalue()

    @classmethod
    def loads(cls, data: bytes) -> TextRouter:
        """A model written by ``dumps`` (this format version or an older readable one, which then
        predicts exactly as before); ValueError for anything else."""
        try:
            z = zipfile.ZipFile(io.BytesIO(bytes(data)))
            meta = json.loads(z.read("meta.json"))
        except Exception as exc:
            raise ValueError(f"not a router model: {exc}") from exc
        if not isinstance(meta, dict) or meta.get("format") != FORMAT:
            raise ValueError("not a router model")
        version = meta.get("version")
        if version not in READABLE_VERSIONS:
            raise ValueError(f"router model format version {version} is not one of {READABLE_VERSIONS}: retrain it")
        try:
            arr = {name: np.load(io.BytesIO(z.read(f"{name}.npy")), allow_pickle=False)
                   for name in ("idf_words", "idf_chars", "intercept", "coef_data", "coef_indices", "coef_indptr")}
            words = z.read("words.txt").decode("utf-8")
            chars = z.read("chars.txt").decode("utf-8")
            router = cls(c=float(meta["c"]))
            router.labels_ = [str(x) for x in meta["labels"]]
            router.words = _Block(words.split("\n") if words else [], arr["idf_words"])
            router.chars = _Block(chars.split("\n") if chars else [], arr["idf_chars"])
            shape = tuple(meta["shape"])
            if (shape != (len(router.words.terms) + len(router.chars.terms), len(router.labels_))
                    or len(arr["intercept"]) != len(router.labels_)):
                raise ValueError("inconsistent shapes")
            router.coef = sp.csr_matrix((arr["coef_data"], arr["coef_indices"], arr["coef_indptr"]), shape=shape)
            router.intercept = arr["intercept"].astype(np.float32)
            router.temperature = float(meta["temperature"])
            router.info = dict(meta.get("info") or {})
            if version == 1:  # char 1–4-grams, jieba on the first 1,000 characters, no name feature
                router.char_ngrams, router.word_chars = (1, 4), FEATURE_CHARS
            else:
                lo, hi = (int(v) for v in meta["char_ngrams"])
                router.char_ngrams, router.word_chars = (lo, hi), int(meta["word_chars"])
                grams = z.read("names.txt").decode("utf-8")
                grams = grams.split("\n") if grams else []
                named = {n: np.load(io.BytesIO(z.read(f"{n}.npy")), allow_pickle=False)
                         for n in ("names_data", "names_indices", "names_indptr")}
                # version 3: a label may have several phrases (columns), ``names_owner`` maps each to its label
                owner = (np.load(io.BytesIO(z.read("names_owner.npy")), allow_pickle=False).astype(np.int32)
                         if version >= 3 else np.arange(len(router.labels_), dtype=np.int32))
                if len(owner) and (owner.min() < 0 or owner.max() >= len(router.labels_)
                                   or np.any(np.diff(owner) < 0)):
                    raise ValueError("inconsistent name phrases")
                matrix = sp.csr_matrix((named["names_data"], named["names_indices"], named["names_indptr"]),
                                       shape=(len(grams), len(owner)))
                one_each = len(owner) == len(router.labels_) and np.array_equal(owner, np.arange(len(owner)))
                router.names = _Names(grams, matrix if grams else None, float(meta["name_weight"]),
                                      None if one_each else owner)
        except ValueError as exc:
            raise ValueError(f"damaged router model: {exc}") from exc
        except Exception as exc:
            raise ValueError(f"damaged router model: {exc}") from exc
        return router
