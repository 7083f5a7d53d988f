"""Solution regions become stubs; notebooks lose their outputs; generation is deterministic."""
import json

import pytest

from labkernels.grading import ipynb, make_exercises, markers

PY = '''\
def dequant(q, s):
    """Spec stays."""
    # BEGIN SOLUTION hint="(q - 8) * s"
    v = (q - 8) * s
    return v
    # END SOLUTION


def kernel(out):
    i = 0
    # BEGIN SOLUTION
    out[i] = 1
    # END SOLUTION

# BEGIN SOLUTION hint="tile sizes"
BM, BN = 64, 32
BK: int = 16
# END SOLUTION
'''


def test_python_stubs_say_what_and_how_long():
    out = markers.strip(PY, "python", where="t.py")
    assert "v = (q - 8) * s" not in out and "out[i] = 1" not in out and "64, 32" not in out
    assert "    # FILL ME IN (roughly 2 lines): (q - 8) * s\n    raise NotImplementedError" in out
    assert "    # FILL ME IN (roughly 1 line)\n    pass" in out  # a kernel body writes nothing: NaN catches it
    assert "BM = ...  # FILL ME IN\nBN = ...  # FILL ME IN\nBK = ...  # FILL ME IN" in out
    assert '"""Spec stays."""' in out and "BEGIN SOLUTION" not in out
    compile(out, "t.py", "exec")  # the exercise still imports


def test_stub_attribute_overrides():
    src = "def f():\n    # BEGIN SOLUTION stub=\"return 0\"\n    return 42\n    # END SOLUTION\n"
    assert markers.strip(src, "python").splitlines()[-1] == "    return 0"
    src = "def f(x):\n    # BEGIN SOLUTION stub=\"raise\"\n    x[0] = 1\n    # END SOLUTION\n"
    assert "raise NotImplementedError" in markers.strip(src, "python")


def test_cuda_stub_keeps_compiling_shape():
    src = ("__device__ float f(float v)\n{\n    // BEGIN SOLUTION hint=\"shuffle\" stub=\"return v;\"\n"
           "#pragma unroll\n    for (int o = 16; o; o >>= 1) v += __shfl_xor_sync(~0u, v, o);\n    return v;\n"
           "    // END SOLUTION\n}\n")
    out = markers.strip(src, "cuda")
    assert out == ("__device__ float f(float v)\n{\n    // FILL ME IN (roughly 3 lines): shuffle\n    return v;\n}\n")


@pytest.mark.parametrize("text, msg", [
    ("# BEGIN SOLUTION\nx = 1\n", "never closed"),
    ("x = 1\n# END SOLUTION\n", "without a BEGIN"),
    ("# BEGIN SOLUTION\n# BEGIN SOLUTION\n# END SOLUTION\n", "inside the region"),
    ('# BEGIN SOLUTION hnit="x"\n# END SOLUTION\n', "unknown BEGIN SOLUTION attribute 'hnit'"),
    ("# BEGIN SOLUTION please\n# END SOLUTION\n", "cannot read"),
    ("# BEGIN SOLUTION\n# END SOLUTION now\n", "after END SOLUTION"),
    ("// BEGIN SOLUTION\n// END SOLUTION\n", "starts with '#'"),
    ("# BEGIN SOLUTIONS\n", "malformed"),
])
def test_bad_markers_name_file_and_line(text, msg):
    with pytest.raises(ValueError, match=msg) as e:
        markers.strip(text, "python", where="sol.py")
    assert "sol.py:" in str(e.value)


def test_bad_lang():
    with pytest.raises(ValueError, match="unknown lang"):
        markers.strip("x", "fortran")
    with pytest.raises(TypeError, match="lang must be a string"):
        markers.strip("x", None)


def test_percent_file_to_notebook_and_exercise_notebook():
    text = ('"""# Title\n\nThe spec."""\n\n# %%\nimport math\n\n# %% [markdown]\n# Some *prose*.\n#\n# more\n\n'
            '# %%\ndef f():\n    # BEGIN SOLUTION\n    return math.pi\n    # END SOLUTION\n')
    nb = ipynb.from_percent(text, metadata={"labkernels": {"exercise": "ex99"}})
    kinds = [c["cell_type"] for c in nb["cells"]]
    assert kinds == ["markdown", "code", "markdown", "code"]
    assert ipynb.source(nb["cells"][0]) == "# Title\n\nThe spec."
    assert ipynb.source(nb["cells"][2]) == "Some *prose*.\n\nmore"
    assert nb["cells"][3]["metadata"]["tags"] == ["answer"]
    assert nb["metadata"]["accelerator"] == "GPU" and nb["metadata"]["labkernels"]["exercise"] == "ex99"
    # outputs and execution counts of a solution notebook never reach the exercise
    nb["cells"][3]["outputs"] = [{"output_type": "stream", "name": "stdout", "text": ["3.14159\n"]}]
    nb["cells"][3]["execution_count"] = 7
    nb["metadata"]["widgets"] = {"state": {}}
    ex = json.loads(make_exercises.exercise_notebook(ipynb.dumps(nb), "ex99.ipynb"))
    code = ex["cells"][3]
    assert code["outputs"] == [] and code["execution_count"] is None and "widgets" not in ex["metadata"]
    assert "math.pi" not in ipynb.source(code) and "raise NotImplementedError" in ipynb.source(code)
    assert ipynb.dumps(ex) == make_exercises.exercise_notebook(ipynb.dumps(nb), "ex99.ipynb")  # deterministic


def test_bad_notebooks():
    with pytest.raises(ValueError, match="not a notebook"):
        ipynb.loads("{nope", "x.ipynb")
    with pytest.raises(ValueError, match="no list of cells"):
        ipynb.loads("{}", "x.ipynb")
    with pytest.raises(ValueError, match="nbformat 3"):
        ipynb.loads('{"cells": [], "nbformat": 3}', "x.ipynb")


def test_make_exercises_tree(tmp_path):
    sol, ex = tmp_path / "solutions", tmp_path / "exercises"
    (sol / "sub").mkdir(parents=True)
    (sol / "a.py").write_text(PY)
    (sol / "sub" / "k.cu").write_text("void f() {\n  // BEGIN SOLUTION\n  int x = 1;\n  // END SOLUTION\n}\n")
    (sol / "nb.py").write_text("# %%\nx = 1\n# %%\n# BEGIN SOLUTION\ny = 2\n# END SOLUTION\n")
    (sol / "data.bin").write_bytes(b"\x00\x01")
    (sol / "__pycache__").mkdir()
    (sol / "__pycache__" / "junk.pyc").write_bytes(b"x")
    ex.mkdir()
    (ex / "stale.py").write_text("old")
    changed = make_exercises.make_exercises(sol, ex)
    assert any("deleted" in c and "stale.py" in c for c in changed)
    assert (sol / "nb.ipynb").is_file(), "a percent file gets its notebook twin"
    assert sorted(p.relative_to(ex).as_posix() for p in ex.rglob("*") if p.is_file()) == [
        "a.py", "data.bin", "nb.ipynb", "nb.py", "sub/k.cu"]
    assert "int x" not in (ex / "sub" / "k.cu").read_text()
    assert (ex / "data.bin").read_bytes() == b"\x00\x01"
    assert make_exercises.out_of_sync(sol, ex) == []
    assert make_exercises.make_exercises(sol, ex) == []  # nothing to do twice
    (sol / "a.py").write_text(PY.replace("hint=\"tile sizes\"", "hint=\"tiles\""))
    assert make_exercises.out_of_sync(sol, ex) == ["exercises/: differs a.py"]
    (sol / "nb.py").write_text("# %%\nx = 3\n")
    diffs = make_exercises.out_of_sync(sol, ex)
    assert "solutions/: differs nb.ipynb" in diffs and "exercises/: differs nb.py" in diffs
    assert make_exercises.main(["--solutions", str(sol), "--exercises", str(ex), "--check"]) == 1
    assert make_exercises.main(["--solutions", str(sol), "--exercises", str(ex)]) == 0
    assert make_exercises.main(["--solutions", str(sol), "--exercises", str(ex), "--check"]) == 0


def test_make_exercises_reports_a_broken_marker(tmp_path, capsys):
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "x.py").write_text("# BEGIN SOLUTION\n")
    assert make_exercises.main(["--solutions", str(tmp_path / "s"), "--exercises", str(tmp_path / "e")]) == 2
    assert "x.py:1: BEGIN SOLUTION is never closed" in capsys.readouterr().err
    with pytest.raises(FileNotFoundError, match="solutions_dir"):
        make_exercises.plan(tmp_path / "missing")
