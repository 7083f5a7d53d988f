"""The GPU sweep of ``labkernels crossover`` survives failures and interruptions (issue 8), on a CPU:
a stand-in GPU, and a stand-in for measuring one kernel at one M (``crossover.measure_point``)
that fails, raises or is interrupted where a test says. Every outcome goes to the journal as it
is known; ``--resume`` measures only what is missing; a journal of other settings is refused."""
import json
import os

import pytest

from labkernels import crossover as xo, device, journal, registry, roofline as rl, specs

NAME = "NVIDIA H100 80GB HBM3"
N, K = 512, 256
MS = [1, 4, 16]
FMTS = "fp16,w8a16"


def points(fmts=FMTS, ms=MS):
    """Every (kernel, M) the sweep measures, in its order."""
    return [(v.id, M) for f in fmts.split(",") for v in registry.variants(fmt=f) for M in ms
            if v.supports(M) and M <= (v.bench_max_m or M)]


@pytest.fixture
def gpu(monkeypatch):
    """A stand-in H100 and its committed ceilings; every workload is a stand-in too."""
    fake = device.GPU(index=0, name=NAME, cc=(9, 0), sms=132, l2_bytes=50 << 20, mem_bytes=80 << 30,
                      clock_mhz=1980.0, driver="13.0", runtime="13.2", spec=specs.find_spec(NAME))
    monkeypatch.setattr(device, "gpu", lambda: fake)
    monkeypatch.setattr(rl, "measure_ceilings", lambda **k: rl.ceilings_for("h100-sxm"))
    monkeypatch.setattr(xo, "make_workload", lambda fmt, N, K, m_max, ms, **p: ("inputs of", fmt, m_max))
    return fake


class Measure:
    """Stands in for measuring one kernel at one M: remembers each call; fails a kernel's check,
    raises, or is interrupted (Ctrl-C) at the n-th call, where told to."""

    def __init__(self, fail=(), raises=(), interrupt_at=None):
        self.fail, self.raises, self.interrupt_at, self.calls = set(fail), set(raises), interrupt_at, []

    def __call__(self, v, M, work, ceilings, *, iters):
        assert work[:2] == ("inputs of", v.fmt)
        self.calls.append((v.id, M))
        if len(self.calls) == self.interrupt_at:
            raise KeyboardInterrupt
        if v.id in self.raises or (v.id, M) in self.raises:
            raise RuntimeError("CUDARuntimeError: cudaErrorIllegalAddress: an illegal memory access was encountered")
        if v.id in self.fail:
            return None, f"failed its check: FAIL {v.id} [{v.fmt}] M={M}: 17 of {M * N} outputs wrong"
        return {"kernel": v.id, "fmt": v.fmt, "M": M, "N": N, "K": K, "time_us": 5.0 + M + len(v.id) / 10}, None


def sweep(out, monkeypatch, m, **kw):
    monkeypatch.setattr(xo, "measure_point", m)
    return xo.run(N=N, K=K, ms=kw.pop("ms", MS), formats=kw.pop("formats", FMTS), out=out,
                  log=lambda *a: None, **kw)


def journal_lines(out):
    return [json.loads(x) for x in (out / xo.JOURNAL).read_text().splitlines()]


def test_every_point_is_journaled_as_it_finishes(gpu, tmp_path, monkeypatch):
    m = Measure()
    res = sweep(tmp_path, monkeypatch, m)
    assert m.calls == points() and res.complete and not res.failures
    lines = journal_lines(tmp_path)
    assert lines[0]["settings"] == {"gpu": NAME, "N": N, "K": K, "ms": MS, "formats": ["fp16", "w8a16"],
                                    "iters": 30, "params": {}}
    body = lines[1:]
    assert [e["status"] for e in body] == ["started", "measured"] * len(points())
    assert [(e["kernel"], e["M"]) for e in body[1::2]] == points()
    assert (body[1]["record"]["kernel"], body[1]["record"]["M"]) == points()[0]
    assert sorted(os.listdir(tmp_path)) == sorted([*xo.FILES, xo.JOURNAL])
    assert json.loads((tmp_path / "results.json").read_text())["complete"] is True


def test_a_failing_kernel_is_recorded_and_the_rest_measured(gpu, tmp_path, monkeypatch):
    m = Measure(fail={"fp16/v02_naive"}, raises={("dequant/v08_w8a16_gemv", 4)})
    res = sweep(tmp_path, monkeypatch, m)
    assert m.calls == points()  # nothing was left out after the failures
    failed = [(f["kernel"], f["M"]) for f in res.failures if f["status"] == "failed"]
    assert failed == [("fp16/v02_naive", 1), ("fp16/v02_naive", 4), ("fp16/v02_naive", 16),
                      ("dequant/v08_w8a16_gemv", 4)]
    assert {(r["kernel"], r["M"]) for r in res.records} == set(points()) - set(failed)
    assert not res.complete
    raised = next(f for f in res.failures if f["kernel"] == "dequant/v08_w8a16_gemv")
    assert raised["reason"] == ("raised RuntimeError: CUDARuntimeError: cudaErrorIllegalAddress: an illegal "
                                "memory access was encountered")
    data = json.loads((tmp_path / "results.json").read_text())
    assert data["complete"] is False and [(f["kernel"], f["M"]) for f in data["failed"]] == failed
    text = xo.summarize(res)
    assert "INCOMPLETE: 4 kernel/M pairs FAILED" in text and "FAILED fp16/v02_naive M=16: failed its check" in text
    assert "--resume" in text
    statuses = [(e["kernel"], e["M"], e["status"]) for e in journal_lines(tmp_path)[1:] if e["status"] != "started"]
    assert ("fp16/v02_naive", 4, "failed") in statuses and ("dequant/v08_w8a16_gemv", 4, "failed") in statuses


def test_the_command_exits_1_when_a_kernel_failed(gpu, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(xo, "measure_point", Measure(fail={"fp16/v03_gemv_warp"}))
    rc = xo.main(["--n", str(N), "--k", str(K), "--ms", "1,4", "--formats", FMTS, "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert rc == 1 and "INCOMPLETE" in out and "FAILED fp16/v03_gemv_warp M=1" in out


def test_an_interrupted_sweep_writes_no_results_and_resume_measures_only_the_rest(gpu, tmp_path, monkeypatch):
    everything = points()
    first = Measure(interrupt_at=6)
    with pytest.raises(KeyboardInterrupt):
        sweep(tmp_path, monkeypatch, first)
    # Nothing that looks like a result: only the journal, with five points and the interruption.
    assert os.listdir(tmp_path) == [xo.JOURNAL]
    body = journal_lines(tmp_path)[1:]
    assert [(e["kernel"], e["M"]) for e in body if e["status"] == "measured"] == everything[:5]
    assert body[-2:] == [{**body[-2], "status": "started"}, {**body[-1], "status": "interrupted"}]
    assert (body[-1]["kernel"], body[-1]["M"]) == everything[5]

    second = Measure()
    res = sweep(tmp_path, monkeypatch, second, resume=True)
    assert second.calls == everything[5:]  # the interrupted point again, then the rest; none twice
    assert {(r["kernel"], r["M"]) for r in res.records} == set(everything) and res.complete
    assert "resumed" in res.measured_label and any("5 kernel/M points taken from it" in n for n in res.notes)
    assert sorted(os.listdir(tmp_path)) == sorted([*xo.FILES, xo.JOURNAL])
    assert len(json.loads((tmp_path / "results.json").read_text())["records"]) == len(everything)

    third = Measure()  # resuming a finished sweep measures nothing and writes the same result
    res3 = sweep(tmp_path, monkeypatch, third, resume=True)
    assert third.calls == [] and len(res3.records) == len(everything) and res3.complete


def test_ctrl_c_on_the_command_line_says_how_to_go_on(gpu, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(xo, "measure_point", Measure(interrupt_at=3))
    rc = xo.main(["--n", str(N), "--k", str(K), "--ms", "1,4", "--formats", FMTS, "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert rc == 130 and "interrupted; no results written" in err and "--resume" in err
    assert os.listdir(tmp_path) == [xo.JOURNAL]


def test_failed_points_are_measured_again_on_resume(gpu, tmp_path, monkeypatch):
    res = sweep(tmp_path, monkeypatch, Measure(fail={"fp16/v02_naive"}))
    assert not res.complete
    fixed = Measure()
    res2 = sweep(tmp_path, monkeypatch, fixed, resume=True)
    assert fixed.calls == [("fp16/v02_naive", M) for M in MS] and res2.complete and not res2.failures


def test_resume_refuses_a_journal_of_other_settings(gpu, tmp_path, monkeypatch):
    with pytest.raises(KeyboardInterrupt):
        sweep(tmp_path, monkeypatch, Measure(interrupt_at=4))
    before = (tmp_path / xo.JOURNAL).read_bytes()
    with pytest.raises(ValueError, match=r"cannot resume the crossover sweep in .*journal.jsonl.*: it was started "
                                         r"with other settings \(ms: journal \[1, 4, 16\], now \[1, 4\]\)"):
        sweep(tmp_path, monkeypatch, Measure(), ms=[1, 4], resume=True)
    with pytest.raises(ValueError, match=r"settings \(formats: journal \['fp16', 'w8a16'\], now \['fp16'\]\)"):
        sweep(tmp_path, monkeypatch, Measure(), formats="fp16", resume=True)
    with pytest.raises(ValueError, match=r"iters: journal 30, now 5"):
        sweep(tmp_path, monkeypatch, Measure(), iters=5, resume=True)
    other = device.GPU(index=0, name="NVIDIA A100-SXM4-80GB", cc=(8, 0), sms=108, l2_bytes=40 << 20,
                       mem_bytes=80 << 30, clock_mhz=1410.0, driver="13.0", runtime="13.2",
                       spec=specs.find_spec("NVIDIA A100-SXM4-80GB"))
    monkeypatch.setattr(device, "gpu", lambda: other)
    monkeypatch.setattr(rl, "measure_ceilings", lambda **k: rl.datasheet_ceilings("a100-sxm"))
    m = Measure()
    with pytest.raises(ValueError, match=r"gpu: journal 'NVIDIA H100 80GB HBM3', now 'NVIDIA A100-SXM4-80GB'"):
        sweep(tmp_path, monkeypatch, m, resume=True)
    assert m.calls == [] and (tmp_path / xo.JOURNAL).read_bytes() == before  # refused before any work
    assert os.listdir(tmp_path) == [xo.JOURNAL]


def test_the_cli_refusal_is_one_line_and_exit_2(gpu, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(xo, "measure_point", Measure())
    args = ["--n", str(N), "--k", str(K), "--formats", FMTS, "--out", str(tmp_path)]
    assert xo.main([*args, "--ms", "1,4"]) == 0
    capsys.readouterr()
    assert xo.main([*args, "--ms", "1,4,16", "--resume"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "ms: journal [1, 4], now [1, 4, 16]" in err


def test_a_point_the_process_died_in_is_retried_once_then_given_up(gpu, tmp_path, monkeypatch):
    everything = points()
    with pytest.raises(KeyboardInterrupt):
        sweep(tmp_path, monkeypatch, Measure(interrupt_at=3))
    j = tmp_path / xo.JOURNAL
    lines = j.read_text().splitlines()
    assert json.loads(lines[-1])["status"] == "interrupted"
    # Make it look as if the process had been killed in point 3 (a "started" line, no outcome).
    j.write_text("\n".join(lines[:-1]) + "\n")
    again = Measure(interrupt_at=1)  # ... and killed there once more
    with pytest.raises(KeyboardInterrupt):
        sweep(tmp_path, monkeypatch, again, resume=True)
    assert again.calls == [everything[2]]  # died there once: tried again
    lines = j.read_text().splitlines()
    j.write_text("\n".join(lines[:-1]) + "\n")  # killed, not interrupted: the second death
    last = Measure()
    res = sweep(tmp_path, monkeypatch, last, resume=True)
    assert everything[2] not in last.calls and last.calls == everything[3:]
    (dead,) = [f for f in res.failures if f["status"] == "failed"]
    assert (dead["kernel"], dead["M"]) == everything[2] and "died while measuring it 2 times" in dead["reason"]
    assert not res.complete


def test_a_torn_last_line_is_dropped_and_that_point_measured_again(gpu, tmp_path, monkeypatch):
    with pytest.raises(KeyboardInterrupt):
        sweep(tmp_path, monkeypatch, Measure(interrupt_at=4))
    j = tmp_path / xo.JOURNAL
    lines = j.read_text().splitlines()
    torn = [ln for ln in lines if json.loads(ln).get("status") != "interrupted"]
    # The third point's outcome was half written when the process died.
    third_outcome = max(i for i, ln in enumerate(torn) if json.loads(ln).get("status") == "measured")
    j.write_text("\n".join(torn[:third_outcome]) + "\n" + torn[third_outcome][:25])
    m = Measure()
    res = sweep(tmp_path, monkeypatch, m, resume=True)
    assert m.calls == points()[2:] and res.complete
    assert all(json.loads(ln) for ln in j.read_text().splitlines())


def test_a_damaged_journal_is_refused(gpu, tmp_path, monkeypatch):
    sweep(tmp_path, monkeypatch, Measure(), ms=[1])
    j = tmp_path / xo.JOURNAL
    lines = j.read_text().splitlines()
    j.write_text("\n".join([lines[0], "{oops", *lines[1:]]) + "\n")
    with pytest.raises(ValueError, match=r"is damaged at line 2"):
        sweep(tmp_path, monkeypatch, Measure(), ms=[1], resume=True)
    j.write_text('{"not": "a journal"}\n')
    with pytest.raises(ValueError, match="is not a labkernels journal"):
        sweep(tmp_path, monkeypatch, Measure(), ms=[1], resume=True)


def test_a_new_sweep_keeps_the_old_journal_and_moves_old_results_aside(gpu, tmp_path, monkeypatch):
    sweep(tmp_path, monkeypatch, Measure(), ms=[1])
    old = (tmp_path / "results.json").read_text()
    with pytest.raises(KeyboardInterrupt):
        sweep(tmp_path, monkeypatch, Measure(interrupt_at=2), ms=[1, 4])
    # The interrupted sweep left no results.json that could pass for its own.
    assert sorted(os.listdir(tmp_path)) == sorted(["journal.jsonl", "journal.prev.jsonl", "results.prev.json",
                                                   "results.prev.csv", "roofline.prev.png", "sweep.prev.png"])
    assert (tmp_path / "results.prev.json").read_text() == old
    assert journal_lines(tmp_path)[0]["settings"]["ms"] == [1, 4]


def test_resume_with_nothing_to_resume_starts_a_journal(gpu, tmp_path, monkeypatch):
    m = Measure()
    res = sweep(tmp_path, monkeypatch, m, ms=[1], resume=True)
    assert m.calls == points(ms=[1]) and res.complete and "resumed" not in res.measured_label


def test_a_workload_that_cannot_be_made_fails_its_format_only(gpu, tmp_path, monkeypatch):
    def make_workload(fmt, N, K, m_max, ms, **p):
        if fmt == "w8a16":
            raise MemoryError("out of memory allocating 8.6 GB")
        return ("inputs of", fmt, m_max)

    monkeypatch.setattr(xo, "make_workload", make_workload)
    m = Measure()
    res = sweep(tmp_path, monkeypatch, m)
    w8 = [p for p in points() if p[0] == "dequant/v08_w8a16_gemv"]
    assert m.calls == [p for p in points() if p not in w8]
    assert [(f["kernel"], f["M"], f["status"]) for f in res.failures] == [(k, M, "failed") for k, M in w8]
    assert res.failures[0]["reason"] == "raised while making the w8a16 inputs: MemoryError: out of memory allocating 8.6 GB"
    assert not res.complete


def test_resume_needs_an_output_folder_and_is_moot_without_a_gpu(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="resume needs the output folder"):
        xo.run(out=None, resume=True, measure=False, formats="fp16", ms=[1], sim_check=False, log=lambda *a: None)
    res = xo.run(out=tmp_path, resume=True, measure=False, formats="fp16", ms=[1], sim_check=False,
                 log=lambda *a: None)
    assert res.modeled and res.complete and any("--resume ignored" in n for n in res.notes)
    assert xo.JOURNAL not in os.listdir(tmp_path)


def test_journal_state_rules():
    def e(k, M, status):
        return {"kernel": k, "M": M, "status": status}

    entries = [e("a", 1, "started"), e("a", 1, "measured"),  # done
               e("b", 1, "started"), e("b", 1, "failed"),  # failed: measured again
               e("c", 1, "started"), e("c", 1, "skipped"),  # not applicable: kept
               e("d", 1, "started"), e("d", 1, "interrupted"),  # Ctrl-C: measured again
               e("x", 1, "started"),  # died once
               e("y", 1, "started"), e("y", 1, "started")]  # died twice (the second time at the end)
    kept = xo.journal_state(entries)
    assert set(kept) == {("a", 1), ("c", 1), ("y", 1)}
    assert kept[("y", 1)]["status"] == "failed" and kept[("a", 1)]["status"] == "measured"


def test_open_journal_round_trip(tmp_path):
    p = tmp_path / "j.jsonl"
    with journal.open_journal(p, {"a": (1, 2)}, resume=True) as j:  # nothing to resume: a new one
        assert not j.resumed and j.entries == []
        j.append({"kernel": "k", "M": 1, "status": "measured"})
    with journal.open_journal(p, {"a": [1, 2]}, resume=True) as j:
        assert j.resumed and j.entries == [{"kernel": "k", "M": 1, "status": "measured"}]
    assert journal.differences({"a": 1, "b": 2}, {"a": 1, "b": 3, "c": 4}) == ["b: journal 2, now 3",
                                                                            "c: journal None, now 4"]


def test_sigterm_from_a_time_limit_ends_the_sweep_like_ctrl_c(gpu, tmp_path, monkeypatch, capsys):
    import signal

    unconverted = []
    # If the command did not turn SIGTERM into an interruption, this handler would see it.
    previous = signal.signal(signal.SIGTERM, lambda *a: unconverted.append(a))
    try:
        m = Measure()

        def measure(v, M, work, ceilings, *, iters):
            if len(m.calls) == 2:
                os.kill(os.getpid(), signal.SIGTERM)
            return m(v, M, work, ceilings, iters=iters)

        monkeypatch.setattr(xo, "measure_point", measure)
        rc = xo.main(["--n", str(N), "--k", str(K), "--ms", "1,4", "--formats", FMTS, "--out", str(tmp_path)])
        assert rc == 130 and not unconverted and "--resume" in capsys.readouterr().err
        assert journal_lines(tmp_path)[-1]["status"] == "interrupted"
        assert signal.getsignal(signal.SIGTERM) is not xo._interrupt  # the command's handler is gone again
    finally:
        signal.signal(signal.SIGTERM, previous)
