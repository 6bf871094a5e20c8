"""What `synth mechanisms` (and the demo) shows: evidence per theory mechanism, emergent
candidates, near misses, and whether theory.yaml changed since the corpus was coded."""

from __future__ import annotations

from synth.errors import SynthError


def overview(project) -> dict:
    from synth.mechanisms.codes import relevance_min, summary
    from synth.mechanisms.emergent import list_clusters
    from synth.mechanisms.theory import load_theory
    from synth.screening import excluded_ids

    theory = load_theory(project)
    with project.store() as store:
        coded_with = store.get_meta("mechanisms.theory_hash")
        if coded_with is None:
            raise SynthError("nothing coded yet; run `synth index` (or `synth refresh`)")
        rmin = relevance_min(store)
        return {"mechanisms": summary(store, excluded_ids(store)), "emergent": list_clusters(store),
                "near_misses": store.near_misses(rmin), "relevance_min": rmin, "stale": coded_with != theory.hash}
