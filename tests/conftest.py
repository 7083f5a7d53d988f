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
