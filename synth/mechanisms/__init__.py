"""Evidence coded by mechanism against a programme theory (theory.yaml), with emergent mechanisms.

Public API: theory.load_theory, codes.record_mechanisms, cmoc.configurations,
code_project (called by `synth refresh` after indexing).
"""


def code_project(project, progress: bool = True, **kw) -> dict:
    from synth.mechanisms.pipeline import code_project as _code

    return _code(project, progress=progress, **kw)


__all__ = ["code_project"]
