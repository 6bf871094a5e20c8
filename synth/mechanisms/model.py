"""The sentence model: what role a sentence plays, and which mechanisms it is evidence for.

Three scikit-learn logistic regressions, trained when coding starts (seconds, deterministic):
  * role: background | aim | methods | finding | conclusion, from the sentence vector and
    `features.sentence_features` (section, position, wording cues);
  * per mechanism (supervised): is this sentence evidence for M? From the vector, the features,
    the role probabilities, its similarity to M's description and examples and M's phrase hits.
    Trained on labelled sentences of M plus the theory's example sentences for M;
  * one mechanism-agnostic "pair" model (few-shot): does sentence s evidence mechanism m, from
    theory-relative features only (similarity to m's description and examples, centred over the
    theory, m's rank, phrase hits, role). It transfers to a mechanism nobody labelled, so a
    mechanism added to theory.yaml with a name, a description and a few examples is coded too.
Within the supervised probability, a word n-gram classifier (tf-idf, 1-2 grams) per mechanism counts
half: the words of a finding ("felt understood", "less alone") carry evidence the vector blurs.
A mechanism's score is the supervised probability blended with the pair probability where the
mechanism has enough labelled sentences, and the pair probability alone where it has not.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from synth.mechanisms.features import EVIDENCE_ROLES, ROLES

MIN_LABELLED = 8  # labelled sentences a mechanism needs before it gets its own classifier


@dataclass(frozen=True)
class ModelParams:
    role_c: float = 1.0
    mech_c: float = 0.3
    pair_c: float = 1.0
    blend: float = 0.7  # weight of the supervised probability where a mechanism has one
    example_weight: float = 1.0  # a theory example counts like this many labelled sentences
    curated_weight: float = 3.0  # a reviewer's decision counts like this many labelled sentences
    # weight of a word n-gram classifier (tf-idf 1-2 grams) within the supervised probability: words such as
    # "felt understood" or "less alone" carry evidence that a 384-d sentence vector blurs (A CV record F1 0.648
    # -> 0.683; predicting each of A's writers from the others 0.627 -> 0.650)
    words: float = 0.5
    words_c: float = 1.0


@dataclass
class TrainingRows:
    """Labelled sentences as arrays (training batch + theory examples + curation)."""
    vectors: np.ndarray  # (n, dim)
    feats: np.ndarray  # (n, N_FEATURES)
    roles: np.ndarray  # (n,) index into ROLES, -1 = unknown (examples, curated fragments)
    mech: np.ndarray  # (n, M) 1 = evidence for mechanism j, 0 = not, -1 = unknown
    weight: np.ndarray  # (n,)
    lex: np.ndarray  # (n, M) phrase hits
    groups: np.ndarray  # (n,) record index: folds never split a record
    texts: list[str] | None = None  # (n,) the sentences themselves (word n-grams)


def _lr(c: float, balanced: bool = True):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=2000, class_weight="balanced" if balanced else None))


class MechanismSpace:
    """A theory's mechanisms as vectors: description and examples per mechanism."""

    def __init__(self, desc: np.ndarray, examples: list[np.ndarray]):
        self.desc = desc  # (M, dim)
        self.examples = examples  # per mechanism (k_j, dim), possibly empty

    def similarities(self, v: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(n, M) cosine to each description, best and mean-of-top-2 cosine to each mechanism's examples."""
        n, m = len(v), len(self.desc)
        sd = v @ self.desc.T if n else np.zeros((0, m), np.float32)
        sx = np.zeros((n, m), np.float32)
        sx2 = np.zeros((n, m), np.float32)
        for j, ex in enumerate(self.examples):
            if len(ex) and n:
                s = v @ ex.T
                s.sort(axis=1)
                sx[:, j] = s[:, -1]
                sx2[:, j] = s[:, -min(2, s.shape[1]):].mean(axis=1)
            else:
                sx[:, j] = sd[:, j]
                sx2[:, j] = sd[:, j]
        return sd, sx, sx2


def pair_features(sd, sx, sx2, lex, role_p, feats) -> np.ndarray:
    """(n * M, k): one row per (sentence, mechanism), sentence-major. Nothing here names a mechanism."""
    n, m = sd.shape
    if n == 0:
        return np.zeros((0, 14), np.float32)
    rank = (-sx).argsort(axis=1).argsort(axis=1)
    evid = role_p[:, [ROLES.index(r) for r in EVIDENCE_ROLES]].sum(axis=1)
    cols = [
        sd, sx, sx2,
        sd - sd.mean(axis=1, keepdims=True), sx - sx.mean(axis=1, keepdims=True),
        sx - np.max(np.where(np.eye(m, dtype=bool)[None], -1, sx[:, None, :]), axis=2) if m > 1 else np.zeros_like(sx),
        (rank == 0).astype(np.float32), (rank <= 1).astype(np.float32),
        np.minimum(lex, 2) / 2, (lex > 0).astype(np.float32),
        np.repeat(evid[:, None], m, axis=1), sx * evid[:, None],
        np.repeat(role_p[:, [ROLES.index("methods")]], m, axis=1),
        np.repeat(role_p[:, [ROLES.index("background")]], m, axis=1),
    ]
    return np.stack(cols, axis=2).reshape(n * m, len(cols)).astype(np.float32)


class SentenceModel:
    def __init__(self, space: MechanismSpace, rows: TrainingRows, params: ModelParams = ModelParams(),
                 pair_only: set[int] | None = None):
        """pair_only: mechanism indexes coded by the pair model alone (held out, for the few-shot benchmark)."""
        self.space, self.params = space, params
        m = len(space.desc)
        known = rows.roles >= 0
        self.role = _lr(params.role_c, balanced=False).fit(self._role_x(rows.vectors[known], rows.feats[known]),
                                                          rows.roles[known], logisticregression__sample_weight=rows.weight[known])
        role_p = self._out_of_fold_roles(rows)
        sd, sx, sx2 = space.similarities(rows.vectors)
        pair_only = set(pair_only or ())
        # pair model: every (sentence, mechanism) with a known label, except mechanisms held out
        px = pair_features(sd, sx, sx2, rows.lex, role_p, rows.feats)
        py = rows.mech.reshape(-1)
        pw = np.repeat(rows.weight, m)
        keep = (py >= 0) & ~np.isin(np.tile(np.arange(m), len(rows.mech)), list(pair_only))
        self.pair = _lr(params.pair_c).fit(px[keep], py[keep], logisticregression__sample_weight=pw[keep])
        self.mech: dict[int, object] = {}
        for j in range(m):
            if j in pair_only:
                continue
            lab = rows.mech[:, j]
            ok = lab >= 0
            if int((lab[ok] == 1).sum()) < MIN_LABELLED or int((lab[ok] == 0).sum()) < MIN_LABELLED:
                continue
            x = self._mech_x(rows.vectors[ok], rows.feats[ok], role_p[ok], sd[ok, j], sx[ok, j], rows.lex[ok, j])
            self.mech[j] = _lr(params.mech_c).fit(x, lab[ok], logisticregression__sample_weight=rows.weight[ok])
        self.words, self.word_mech = None, {}
        if params.words > 0 and rows.texts is not None and self.mech:
            from sklearn.feature_extraction.text import TfidfVectorizer
            from sklearn.linear_model import LogisticRegression

            self.words = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True, stop_words="english")
            wx = self.words.fit_transform(rows.texts)
            for j in self.mech:
                lab = rows.mech[:, j]
                ok = np.flatnonzero(lab >= 0)
                self.word_mech[j] = LogisticRegression(C=params.words_c, max_iter=2000, class_weight="balanced").fit(
                    wx[ok], lab[ok], sample_weight=rows.weight[ok])

    @staticmethod
    def _role_x(v, feats):
        return np.hstack([v, feats])

    @staticmethod
    def _mech_x(v, feats, role_p, sd, sx, lex):
        return np.hstack([v, feats, role_p, sd[:, None], sx[:, None], np.minimum(lex, 2)[:, None] / 2])

    def _out_of_fold_roles(self, rows: TrainingRows) -> np.ndarray:
        """Role probabilities for training rows as the model would see unseen text (5 folds by record)."""
        from sklearn.model_selection import GroupKFold

        known = np.flatnonzero(rows.roles >= 0)
        out = self.role_probs(rows.vectors, rows.feats)  # examples and curated rows: the full model's guess
        groups = rows.groups[known]
        if len(set(groups.tolist())) >= 5:
            for tr, te in GroupKFold(n_splits=5).split(known, groups=groups):
                fit = _lr(self.params.role_c, balanced=False).fit(
                    self._role_x(rows.vectors[known[tr]], rows.feats[known[tr]]), rows.roles[known[tr]],
                    logisticregression__sample_weight=rows.weight[known[tr]])
                p = np.zeros((len(te), len(ROLES)), np.float32)
                p[:, fit.classes_] = fit.predict_proba(self._role_x(rows.vectors[known[te]], rows.feats[known[te]]))
                out[known[te]] = p
        return out

    def role_probs(self, v: np.ndarray, feats: np.ndarray) -> np.ndarray:
        out = np.zeros((len(v), len(ROLES)), np.float32)
        if len(v):
            out[:, self.role.classes_] = self.role.predict_proba(self._role_x(v, feats))
        return out

    def predict(self, v: np.ndarray, feats: np.ndarray, lex: np.ndarray, texts: list[str] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(role probabilities (n, 5), mechanism probabilities (n, M))."""
        n, m = len(v), len(self.space.desc)
        role_p = self.role_probs(v, feats)
        if n == 0:
            return role_p, np.zeros((0, m), np.float32)
        sd, sx, sx2 = self.space.similarities(v)
        pair = self.pair.predict_proba(pair_features(sd, sx, sx2, lex, role_p, feats))[:, 1].reshape(n, m)
        out = pair.copy()
        b, w = self.params.blend, self.params.words
        wx = self.words.transform(texts) if self.words is not None and texts is not None else None
        for j, clf in self.mech.items():
            sup = clf.predict_proba(self._mech_x(v, feats, role_p, sd[:, j], sx[:, j], lex[:, j]))[:, 1]
            if wx is not None:
                sup = (1 - w) * sup + w * self.word_mech[j].predict_proba(wx)[:, 1]
            out[:, j] = b * sup + (1 - b) * pair[:, j]
        return role_p, out.astype(np.float32)

