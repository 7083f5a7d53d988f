"""GPU tests are marked ``gpu``; on a machine without one they skip and say why."""
import pytest


def pytest_collection_modifyitems(config, items):
    from labkernels import device

    if device.gpu() is not None:
        return
    skip = pytest.mark.skip(reason=f"needs a CUDA GPU: {device.why_no_gpu()}")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


def pytest_report_header(config):
    from labkernels import device

    g = device.gpu()
    return f"labkernels GPU: {g.name} (sm_{g.cc[0]}{g.cc[1]})" if g else f"labkernels GPU: none ({device.why_no_gpu()})"


# torch (the library peers) sometimes fails to import on the GPU machines once
# CuPy/Numba/NVRTC are loaded; importing it first, where present, avoids that.
try:  # pragma: no cover - depends on the machine
    import torch  # noqa: F401
except Exception:
    pass


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """Issue 8: the bad-input table reports how many cases it ran (tests/test_bad_input.py, test_case*)."""
    def is_case(report):
        return any(f"test_bad_input.py::{t}" in report.nodeid for t in ("test_case", "test_cli_case"))

    counts = {outcome: sum(1 for r in terminalreporter.stats.get(outcome, []) if is_case(r))
              for outcome in ("passed", "failed", "xfailed", "skipped", "error")}
    if any(counts.values()):
        detail = ", ".join(f"{n} {k}" for k, n in counts.items() if n and k != "passed")
        terminalreporter.write_line(f"bad-input cases: {counts['passed']} passed" + (f" ({detail})" if detail else ""))
