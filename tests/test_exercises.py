"""exercises/ is what solutions/ generates; every exercise file is usable as handed out."""
import dataclasses
import importlib.util
from pathlib import Path

import pytest

from labkernels import build, grading
from labkernels.grading import launchers, make_exercises, markers, runner

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS, EXERCISES = ROOT / "solutions", ROOT / "exercises"
EXERCISE_IDS = [e.id for e in grading.all_exercises()]


def _module(path: Path):
    spec = importlib.util.spec_from_file_location(f"_t_{path.parent.name}_{path.stem}", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_exercises_are_in_sync_with_solutions(tmp_path):
    """Regenerate into a temporary directory and compare bytes with the committed trees."""
    fresh = tmp_path / "exercises"
    plan = make_exercises.plan(SOLUTIONS)
    for rel, data in plan.exercises.items():
        (fresh / rel).parent.mkdir(parents=True, exist_ok=True)
        (fresh / rel).write_bytes(data)
    assert make_exercises.differences(plan.exercises, fresh, exhaustive=True) == []
    diffs = make_exercises.out_of_sync(SOLUTIONS, EXERCISES)
    assert diffs == [], "run: python -m labkernels.grading.make_exercises\n" + "\n".join(diffs)


@pytest.mark.parametrize("exercise", EXERCISE_IDS)
def test_every_exercise_has_a_solution_and_an_exercise_file(exercise):
    ex = grading.get(exercise)
    sol, stub = SOLUTIONS / ex.solution, EXERCISES / ex.solution
    assert sol.is_file() and stub.is_file()
    lang = markers.lang_of(sol.suffix)
    assert markers.find_regions(sol.read_text(), lang), f"{ex.solution} has no solution region"
    assert not markers.find_regions(stub.read_text(), lang) and "FILL ME IN" in stub.read_text()
    assert grading.get(ex.short) is ex and ex.spec and ex.cases
    assert any(c.hidden for c in ex.cases) and any(not c.hidden for c in ex.cases)


def test_no_exercise_file_leaks_an_answer():
    for f in EXERCISES.rglob("*"):
        if f.suffix == ".ipynb":
            for n, src in grading.ipynb.code_cells(grading.ipynb.read(f)):
                assert not markers.find_regions(src, "python"), f"{f.name} cell {n} still holds a solution"
        elif markers.lang_of(f.suffix):
            assert not markers.find_regions(f.read_text(), markers.lang_of(f.suffix)), f"{f} holds a solution"


@pytest.mark.parametrize("tree", [SOLUTIONS, EXERCISES], ids=["solution", "exercise"])
def test_cuda_files_compile_for_their_architectures(tree):
    """The stub keeps compiling, so a student starts from a file that builds."""
    for ex in grading.all_exercises():
        if ex.lang != "cuda":
            continue
        src = (tree / ex.solution).read_text()
        for arch in sorted({a for s in ex.static for a in s.archs}):
            c = build.compile_source(src, arch, name=ex.solution, defines=ex.defines, cubin=False)
            assert f".entry {ex.entry}" in c.ptx or f".entry {ex.entry}(" in c.ptx


@pytest.mark.parametrize("tree", [SOLUTIONS, EXERCISES], ids=["solution", "exercise"])
def test_python_files_import(tree):
    for f in sorted(tree.glob("*.py")):
        mod = _module(f)
        assert mod.__doc__, f"{f.name} needs a docstring saying what it is"


def test_numba_exercise_files_define_the_kernel_the_grader_launches():
    for ex in grading.all_exercises():
        if ex.lang == "numba":
            for tree in (SOLUTIONS, EXERCISES):
                assert launchers.is_numba_kernel(getattr(_module(tree / ex.solution), ex.entry))


def test_ex01_files_launch_exactly_like_the_grader():
    """The launch() shown to the student and the grader's launcher both pass the first case."""
    ex = grading.get("ex01")
    first = dataclasses.replace(ex, cases=ex.cases[:2], perf=None)
    mod = _module(SOLUTIONS / ex.solution)
    for student in (mod.launch, mod.unpack_int4_kernel):
        r = runner.run(first, runner.InProcess(first, student))
        assert r.passed, str(r)
    assert mod.BLOCK == launchers.UNPACK_BLOCK


def test_twin_notebook_matches_its_percent_file():
    nb = grading.ipynb.read(SOLUTIONS / "ex01_unpack_int4.ipynb")
    assert nb["metadata"]["labkernels"]["exercise"] == "ex01_unpack_int4"
    code = "\n".join(src for _, src in grading.ipynb.code_cells(nb))
    assert "def unpack_int4_kernel" in code and "BEGIN SOLUTION" in code
    ex_nb = grading.ipynb.read(EXERCISES / "ex01_unpack_int4.ipynb")
    assert all(c.get("outputs", []) == [] and c.get("execution_count") is None
               for c in ex_nb["cells"] if c["cell_type"] == "code")
    assert any("answer" in c["metadata"].get("tags", []) for c in ex_nb["cells"])


@pytest.mark.parametrize("ex_id, fn, defines", [("ex06", "gemv", "GEMV_DEFINES"),
                                                ("ex07", "mma_tiles", "MMA_TILE_DEFINES")])
def test_cuda_exercise_notebooks_launch_and_check_their_kernel(ex_id, fn, defines):
    """The notebook of a CUDA C exercise (ex06, ex07) points at the .cu next to it, launches it with the
    grader's entry, defines and launcher, and its last cell checks that file."""
    import inspect

    ex = grading.get(ex_id)
    stem = Path(ex.solution).stem
    assert getattr(launchers, defines) == ex.defines
    for tree in (SOLUTIONS, EXERCISES):
        mod = _module(tree / f"{stem}.py")
        assert mod.SOURCE == tree / ex.solution
        src = inspect.getsource(getattr(mod, fn))
        assert f'entry="{ex.entry}"' in src and f"defines=launchers.{defines}" in src
        assert f"launchers.{ex.launcher}(fn, " in src
        nb = grading.ipynb.read(tree / f"{stem}.ipynb")
        assert nb["metadata"]["labkernels"]["exercise"] == stem
        code = [src for _, src in grading.ipynb.code_cells(nb)]
        assert code[-1] == f'if __name__ == "__main__":\n    grading.check("{ex.id}", SOURCE)'


@pytest.mark.parametrize("ex_id", ["ex06", "ex07"])
def test_cuda_exercise_notebook_runs_as_a_script(ex_id):
    """``python ex06_dp4a_dot.py`` (the notebook's cells, top to bottom) checks the .cu next to it: here the
    compile checks pass and the numeric tests say they need a GPU."""
    import subprocess
    import sys

    ex = grading.get(ex_id)
    p = subprocess.run([sys.executable, str(SOLUTIONS / ex.solution.replace(".cu", ".py"))], capture_output=True,
                       text=True, timeout=300, cwd=ROOT, env={**__import__("os").environ, "LABKERNELS_NO_GPU": "1"})
    assert p.returncode == 0, p.stderr[-3000:]
    assert p.stdout.count("PASS") == len(ex.static) and "NEEDS GPU" in p.stdout, p.stdout
    visible = ex.max_score - sum(c.points for c in ex.cases if c.hidden)  # the in-notebook check runs no hidden case
    assert f"{ex.id} ({Path(ex.solution).name}): {len(ex.static):g}/{visible:g} points" in p.stdout, p.stdout
