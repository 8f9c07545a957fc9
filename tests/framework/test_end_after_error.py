"""`session.end_after_error`: how both entries end a run when training raises."""

from __future__ import annotations

from pathlib import Path

import pytest

from torchx.events import read_events
from torchx.recorder import RunRecorder
from torchx.session import FORCED_STOP_EXIT, end_after_error
from torchx.stopping import StopRequest


def stop_after(signal_name: str | None) -> StopRequest:
    """A stop request as the signal handler leaves it (no handler is installed in the test process)."""
    stop = StopRequest()
    stop.signal_name = signal_name
    return stop


def end_event(run_dir: Path) -> dict:
    events, bad = read_events(run_dir / "events.jsonl")
    assert not bad and [e["event"] for e in events] == ["end"]  # no `start`: it failed before one
    return events[0]


def test_an_error_is_recorded_as_failed_and_raised_again(tmp_path: Path) -> None:
    error = RuntimeError("out of memory")
    with pytest.raises(RuntimeError) as raised:
        try:
            raise error
        except RuntimeError as exc:
            end_after_error(RunRecorder(tmp_path), exc, stop_after(None))
    assert raised.value is error
    end = end_event(tmp_path)
    assert end["status"] == "failed" and end["reason"] is None
    assert end["error"]["type"] == "RuntimeError" and end["error"]["message"] == "out of memory"
    assert "error: RuntimeError: out of memory" in (tmp_path / "log.txt").read_text()


@pytest.mark.parametrize("exc", [KeyboardInterrupt("second SIGINT"), SystemExit(1)])
def test_a_second_stop_signal_is_a_forced_stop(tmp_path: Path, exc: BaseException) -> None:
    assert end_after_error(RunRecorder(tmp_path), exc, stop_after("SIGINT")) == FORCED_STOP_EXIT
    end = end_event(tmp_path)
    assert end["status"] == "stopped" and end["reason"] == "SIGINT (forced)" and end["error"] is None


def test_an_interrupt_without_a_stop_request_is_a_failure(tmp_path: Path) -> None:
    with pytest.raises(KeyboardInterrupt):
        end_after_error(RunRecorder(tmp_path), KeyboardInterrupt(), stop_after(None))
    assert end_event(tmp_path)["status"] == "failed"
