"""Rank definitions with personalized PageRank over the definition/reference graph.

The graph is bipartite (file -> identifier it references -> files defining
it), which is the file graph of the usual repo-map formulation without
materialising one edge per (referencer, definer) pair: its size stays linear
in the number of tags. Identifiers in play are boosted; private names and
names defined in many files are damped.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

DAMPING = 0.85
ITERATIONS = 40


def ident_weight(name: str, n_definers: int, focus: bool) -> float:
    w = 1.0
    if focus:
        w *= 10.0
    if name.startswith("_"):
        w *= 0.1
    if n_definers > 5:
        w *= 0.1
    if len(name) >= 8 and ("_" in name.strip("_") or (name[:1].islower() and any(c.isupper() for c in name))):
        w *= 2.0  # long descriptive names say more than `get` or `run`
    return w


def rank(
    def_names: Sequence[Sequence[str]],
    refs: Sequence[dict[str, int]],
    focus_files: set[int],
    focus_idents: set[str],
) -> tuple[list[float], dict[tuple[int, str], float]]:
    """File ranks and a score per (file index, defined name)."""
    import numpy as np

    n_files = len(def_names)
    ids: dict[str, int] = {}
    def_file: list[int] = []
    def_ident: list[int] = []
    for fi, names in enumerate(def_names):
        for name in dict.fromkeys(names):
            def_file.append(fi)
            def_ident.append(ids.setdefault(name, len(ids)))
    names_by_id = list(ids)
    n_idents = len(ids)
    if n_files == 0 or n_idents == 0:
        return [1.0 / max(n_files, 1)] * n_files, {}
    def_file_a = np.asarray(def_file, dtype=np.int64)
    def_ident_a = np.asarray(def_ident, dtype=np.int64)
    n_definers = np.bincount(def_ident_a, minlength=n_idents)
    mult = np.fromiter(
        (ident_weight(n, int(n_definers[i]), n in focus_idents) for i, n in enumerate(names_by_id)),
        dtype=np.float64,
        count=n_idents,
    )
    ref_file: list[int] = []
    ref_ident: list[int] = []
    ref_w: list[float] = []
    for fi, counts in enumerate(refs):
        for name, count in counts.items():
            ii = ids.get(name)
            if ii is not None:
                ref_file.append(fi)
                ref_ident.append(ii)
                ref_w.append(math.sqrt(count))
    pers = np.full(n_files, 1.0)
    boost = dict.fromkeys(focus_files, 1.0)
    for ident in focus_idents:
        ii = ids.get(ident)
        if ii is not None:
            boost.update(dict.fromkeys((int(f) for f in def_file_a[def_ident_a == ii]), 1.0))
    for fi, counts in enumerate(refs):  # files using a focus identifier are in play too, less so
        if fi not in boost and any(i in counts for i in focus_idents):
            boost[fi] = 0.3
    if boost and len(boost) < n_files:
        # Most of the restart mass goes to the files in play, a little to the rest.
        weights = np.asarray(list(boost.values()))
        pers[:] = 0.1 / (n_files - len(boost))
        pers[list(boost)] = 0.9 * weights / weights.sum()
    pers /= pers.sum()
    rank_vec = pers.copy()
    flow = np.zeros(n_idents)
    if ref_file:
        rf = np.asarray(ref_file, dtype=np.int64)
        ri = np.asarray(ref_ident, dtype=np.int64)
        rw = np.asarray(ref_w) * mult[ri]
        out = np.bincount(rf, weights=rw, minlength=n_files)
        share = rw / out[rf]
        per_definer = 1.0 / n_definers
        for _ in range(ITERATIONS):
            flow = np.bincount(ri, weights=rank_vec[rf] * share, minlength=n_idents)
            inflow = np.bincount(def_file_a, weights=(flow * per_definer)[def_ident_a], minlength=n_files)
            leaked = max(0.0, 1.0 - inflow.sum())
            new = (1 - DAMPING) * pers + DAMPING * (inflow + leaked * pers)
            done = np.abs(new - rank_vec).sum() < 1e-9
            rank_vec = new
            if done:
                break
    per_def = flow / n_definers
    defs_in_file = np.bincount(def_file_a, minlength=n_files)
    base = rank_vec / np.maximum(defs_in_file, 1) * 0.05
    scores = per_def[def_ident_a] * mult[def_ident_a] + base[def_file_a]
    focus_bonus = np.isin(def_ident_a, [ids[i] for i in focus_idents if i in ids])
    scores = scores + focus_bonus * scores.max(initial=0.0)
    result = {(int(f), names_by_id[int(i)]): float(s) for f, i, s in zip(def_file_a, def_ident_a, scores, strict=True)}
    return rank_vec.tolist(), result
