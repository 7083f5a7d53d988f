"""The checker must catch wrong kernels, not only pass right ones."""
import numpy as np
import pytest

from labkernels import check, problems


def right(x, w, out):
    out[...] = (x.astype(np.float32) @ w.astype(np.float32).T).astype(np.float16)
    return out


def empty(x, w, out):
    return out  # writes nothing: the NaN poison must fail it


def missing_tail(x, w, out):
    full = right(x, w, out.copy())
    n_tiled = (out.shape[1] // 32) * 32  # "assumes N is a multiple of the tile"
    out[:, :n_tiled] = full[:, :n_tiled]
    return out


def low_precision(x, w, out):
    import ml_dtypes

    y = x.astype(np.float32) @ w.astype(np.float32).T
    out[...] = y.astype(ml_dtypes.bfloat16).astype(np.float16)  # bf16 where fp16 was asked
    return out


def nan_one(x, w, out):
    right(x, w, out)
    out[0, 0] = np.nan
    return out


def zeros(x, w, out):
    out[...] = 0
    return out


def run(fn, M=5, N=97, K=200, **kw):
    return check.run_check(fn, "fp16", M, N, K, name=fn.__name__, impl="numpy", **kw)


def test_right_kernel_passes():
    r = run(right)
    assert r.passed, str(r)
    assert "PASS" in str(r)


@pytest.mark.parametrize("fn", [empty, missing_tail, low_precision, nan_one, zeros])
def test_wrong_kernels_fail(fn):
    r = run(fn)
    assert not r.passed, f"{fn.__name__} passed the checker"
    assert "FAIL" in str(r)


def test_failure_report_names_the_first_mismatches():
    r = run(missing_tail)
    assert r.n_bad == 5 * (97 - 96)
    assert len(r.mismatches) == 5
    m, n, got, want = r.mismatches[0]
    assert n >= 96 and np.isnan(got)
    assert "Y[0, 96]" in str(r)


def test_inputs_are_fresh_and_seed_reproduces():
    seen = []

    def spy(x, w, out):
        seen.append(x.copy())
        return right(x, w, out)

    a, b = run(spy), run(spy)
    assert a.seed != b.seed and not np.array_equal(seen[0], seen[1])
    c = run(spy, seed=a.seed)
    assert np.array_equal(seen[0], seen[2]) and c.seed == a.seed


def test_inputs_are_never_all_zero():
    inp = problems.get("fp16").inputs(3, 5, 7, np.random.default_rng(0))
    assert all(np.count_nonzero(v) > 0 for v in inp.values())


def test_output_is_poisoned_before_launch():
    def look(x, w, out):
        assert np.isnan(out).all(), "output must arrive filled with NaN"
        return right(x, w, out)

    assert run(look).passed


def test_a_crashing_kernel_is_a_failure_not_a_crash():
    def boom(x, w, out):
        raise RuntimeError("illegal memory access")

    r = run(boom)
    assert not r.passed and "illegal memory access" in str(r)


def test_wrong_shape_output_fails():
    r = run(lambda x, w, out: np.zeros((2, 2), np.float16))
    assert not r.passed and "shape" in r.message


def test_bad_arguments():
    with pytest.raises(ValueError, match="M must be >= 1"):
        run(right, M=0)
    with pytest.raises(ValueError, match="unknown format"):
        check.run_check(right, "fp17", 1, 1, 1, impl="numpy")


def test_numba_kernel_in_simulator_at_awkward_shapes():
    from labkernels import numba_compat, registry

    if not numba_compat.simulator():
        pytest.skip("a GPU is present: the GPU tests check this kernel")
    v = registry.get("fp16/v01_naive_numba")
    for M, N, K in [(1, 33, 17), (5, 7, 64), (17, 40, 3)]:
        r = check.check_variant(v, M, N, K)
        assert r.passed, str(r)


def test_slack_widens_each_element_by_its_own_amount():
    ref = np.array([[1.0, 1.0]])
    out = ref + np.array([[0.01, 0.01]])
    ok, _, _, n_bad, _, _ = check.compare(out, ref, 2.0**-10, 1.0)
    assert not ok and n_bad == 2
    ok, _, _, n_bad, _, _ = check.compare(out, ref, 2.0**-10, 1.0, slack=np.array([[0.02, 0.0]]))
    assert not ok and n_bad == 1  # only the element given room passes
    ok, *_ = check.compare(out, ref, 2.0**-10, 1.0, slack=np.array([[0.02, 0.02]]))
    assert ok


@pytest.mark.parametrize("fmt", ["fp8", "mxfp8", "mxfp4", "nvfp4"])
def test_largest_product_bounds_every_product(fmt):
    """The narrow-accumulator allowance is built on a bound that really is >= every |x_k w_k|."""
    from labkernels import problems
    from labkernels.problems import _dequantized

    P = problems.get(fmt)
    inp = P.inputs(5, 7, 96, np.random.default_rng(0))
    if fmt == "fp8":
        from labkernels import formats
        x = formats.decode_e4m3(inp["x"]).astype(np.float64) * inp["x_scale"]
        w = formats.decode_e4m3(inp["w"]).astype(np.float64) * inp["w_scale"]
    else:
        x, w = _dequantized(P.fmt if fmt != "mxfp8" else "mxfp8_e4m3", inp)
    actual = np.abs(x[:, None, :] * w[None, :, :]).max(axis=2)
    bound = P.largest_product(inp)
    assert bound.shape == actual.shape and (bound >= actual * (1 - 1e-12)).all()


def test_accumulator_slack_needs_the_problem_to_say_how():
    from labkernels import problems

    assert check.accumulator_slack(problems.get("fp16"), {}, None) is None
    with pytest.raises(ValueError, match="no largest_product"):
        check.accumulator_slack(problems.get("fp16"), {}, 11)


def test_scale_floor_keeps_a_single_cancelled_output_from_demanding_more_than_the_format():
    """One output that cancels to 0.0125 (rms of the design ~1): an error of 3e-4 is 2.4% of it but
    0.03% of the outputs' scale. Without a floor it fails elementwise and normwise; with the
    problem's floor it passes, and an error at the floor's own tolerance still fails."""
    ref = np.array([[0.0125]])
    ok, *_ = check.compare(ref + 3e-4, ref, 2.0**-9, 2e-3)
    assert not ok
    ok, *_ = check.compare(ref + 3e-4, ref, 2.0**-9, 2e-3, scale_floor=0.25)
    assert ok
    ok, *_ = check.compare(ref + 0.01, ref, 2.0**-9, 2e-3, scale_floor=0.25)
    assert not ok
    assert problems.get("w4a16").scale_floor == 0.25


def test_benchmark_finish_reports_failures_in_its_exit_status(capsys):
    from labkernels import bench

    assert bench.finish([1, 2], [], 0.0) == 0
    assert bench.finish([1], [{"kernel": "k", "reason": "r"}], 0.0) == 1
    out = capsys.readouterr().out
    assert "2 records, 0 failures" in out and "FAILED: {'kernel': 'k', 'reason': 'r'}" in out
