"""The reading processes (``vraagbaak.isolation``): a worker that dies or hangs costs its item only."""


from vraagbaak.isolation import Failed, IsolationSettings, Workers, size_nl

import tasks
from helpers import within


def test_results_come_back_in_order_with_progress():
    seen = []
    with Workers(2) as workers:
        out = within(60, lambda: workers.map(tasks.echo, range(20), on_progress=lambda position, *args: seen.append((position, args))))
    assert out == list(range(20))
    assert sorted(seen) == [(n, (n, "begonnen")) for n in range(20)]


def test_a_worker_killed_mid_batch_costs_only_the_item_it_was_on():
    items = [f"tekst-{n}" for n in range(30)]
    items[13] = "bom"
    with Workers(2, IsolationSettings(batch=8)) as workers:
        out = within(60, lambda: workers.map(tasks.die_on_bomb, items))
    assert out[:13] == items[:13] and out[14:] == items[14:]
    assert out[13] == Failed("kon niet gelezen worden: het leesproces werd gestopt (SIGKILL; vaak omdat het geheugen van de computer opraakte)")


def test_a_worker_that_runs_out_of_memory_reports_it_and_a_fresh_one_goes_on():
    with Workers(1, IsolationSettings(memory_bytes=300 * 1024**2)) as workers:
        out = within(60, lambda: workers.map(tasks.allocate, [10, 2000, 10, 20]))
    assert out == [10, Failed("te groot om te lezen: meer dan 300 MB geheugen nodig"), 10, 20]


def test_a_worker_silent_too_long_is_stopped_and_the_pool_goes_on():
    with Workers(1, IsolationSettings(stall_seconds=1, batch=1)) as workers:
        out = within(60, lambda: workers.map(tasks.hang, ["a", "hang", "b"]))
    assert out == ["a", Failed("te traag om te lezen: na 1 seconden zonder voortgang gestopt"), "b"]


def test_a_pool_keeps_its_workers_between_runs_and_leaves_them_to_the_next_pool(monkeypatch, tmp_path):
    with Workers(1) as workers:
        first = within(60, lambda: workers.map(tasks.pid, [1]))
        second = within(60, lambda: workers.map(tasks.pid, [2]))
    with Workers(1) as workers:
        third = within(60, lambda: workers.map(tasks.pid, [3]))
    assert first == second == third  # one process: started once
    monkeypatch.setenv("VRAAGBAAK_OCR_CACHE", "/elders")  # the environment changed: the same worker sees it
    with Workers(1) as workers:
        assert within(60, lambda: workers.map(tasks.environment, ["VRAAGBAAK_OCR_CACHE"])) == ["/elders"]
        assert within(60, lambda: workers.map(tasks.pid, [4])) == first
    monkeypatch.syspath_prepend(str(tmp_path))  # another import path: another worker
    with Workers(1) as workers:
        assert within(60, lambda: workers.map(tasks.pid, [5])) != first


def test_items_passed_over_are_not_run():
    with Workers(2) as workers:
        out = within(60, lambda: dict(workers.run(tasks.echo, range(10), skip=lambda item: item >= 5)))
    assert out == {**{n: n for n in range(5)}, **{n: None for n in range(5, 10)}}
    with Workers(1) as workers:
        assert within(60, lambda: dict(workers.run(tasks.echo, range(3), skip=lambda item: True))) == {0: None, 1: None, 2: None}


def test_sizes_in_dutch():
    assert [size_nl(n) for n in (435, 1536, 200 * 1024**2, int(1.5 * 1024**3), 12 * 1024**3)] == ["435 bytes", "1,5 KB", "200 MB", "1,5 GB", "12 GB"]
