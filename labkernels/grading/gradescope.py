"""A grade as Gradescope's autograder ``results.json``.

The format (Gradescope's "Autograder specifications"): top-level ``score``,
``output``, ``visibility``, ``stdout_visibility``, ``execution_time``,
``tests`` (each ``name``, ``score``, ``max_score``, ``status`` —
``passed``/``failed`` —, ``output``, ``visibility``) and ``leaderboard``
(``name``, ``value``, ``order``); each failed test's ``extra_data.failure``
names its failure class (``empty``, ``index``, ``timeout``, ...), for an
instructor tallying a class's mistakes. Gradescope knows no "not run": a test that
needed a GPU the grader lacks is ``failed`` with 0 points, tagged
``needs-gpu``, and the top-level output says which tests ran on a GPU and
which could not. Hidden tests get ``visibility`` ``after_published``
(configurable): the student sees them once grades are published.
``max_score`` is written at the top level as well, for the CSV and for
graders other than Gradescope.
"""
from __future__ import annotations

from .runner import GradeResult

OUTPUT_LIMIT = 8000  #: characters of output per test (Gradescope pages get slow beyond that)
VISIBILITIES = ("visible", "hidden", "after_due_date", "after_published")


def _clip(text: str, limit: int = OUTPUT_LIMIT) -> str:
    if len(text) <= limit:
        return text
    return text[: limit - 200] + f"\n... [{len(text) - limit + 200} characters left out] ...\n" + text[-150:]


def results_json(res: GradeResult, *, hidden_visibility: str = "after_published") -> dict:
    if hidden_visibility not in VISIBILITIES:
        raise ValueError(f"hidden_visibility must be one of {', '.join(VISIBILITIES)}; got {hidden_visibility!r}")
    tests = []
    for i, t in enumerate(res.tests):
        d = {"name": t.name, "number": str(i + 1), "score": round(t.score, 3), "max_score": t.max_score,
             "status": "passed" if t.passed else "failed", "output": _clip(t.output),
             "visibility": hidden_visibility if t.hidden else "visible"}
        tags = (["needs-gpu"] if t.status == "needs_gpu" else []) + (["gpu"] if t.on_gpu else [])
        if tags:
            d["tags"] = tags
        if t.kind:
            d["extra_data"] = {"failure": t.kind}  # for instructors: which failure class (see exercise.HINTS)
        tests.append(d)
    head = [res.summary(), res.gpu_line()]
    if res.load_error:
        head.append("the submission did not load:\n" + res.load_error)
    if res.printed.strip():
        head.append("printed while loading:\n" + res.printed.rstrip())
    return {
        "score": round(res.score, 3),
        "max_score": res.max_score,
        "output": _clip("\n".join(head)),
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "execution_time": round(res.seconds, 2),
        "tests": tests,
        "leaderboard": [e for t in res.tests for e in t.leaderboard],
        "extra_data": {"exercise": res.exercise, "submission": res.submission, "device": res.device,
                       "on_gpu": res.on_gpu},
    }
