"""Tests for facetransfer.progress: a bar only where someone watches and only for a loop that
takes a while, none left in a notebook; Keras verbosity; logging levels and where lines go."""

from __future__ import annotations

import logging
import os
import time

import pytest

from facetransfer import progress


@pytest.fixture
def interactive(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("FACETRANSFER_QUIET", raising=False)
    monkeypatch.setattr(progress, "_terminal", lambda: True)


@pytest.fixture
def restore_logging():
    yield
    progress.setup_logging()


def test_bars_are_off_in_ci(monkeypatch, interactive):
    items = [1, 2, 3]
    monkeypatch.setenv("CI", "true")
    assert progress.quiet()
    assert progress.progress_bar(items, desc="caching") is items  # no wrapper at all
    assert progress.progress_bar(None, total=3) is None  # a bar updated by hand: none
    assert progress.keras_verbose() == 2  # one line per epoch in a CI log


def test_bars_are_on_when_someone_watches(interactive):
    items = [1, 2, 3]
    bar = progress.progress_bar(items, total=3, desc="aligning", unit="photo")
    assert bar is not items and list(bar) == items
    assert progress.progress_bar(items, enabled=False) is items
    assert progress.keras_verbose() == "auto"
    assert progress.keras_verbose(verbose=True) == 2


def test_no_bar_into_a_log_file_or_a_pipe(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("FACETRANSFER_QUIET", raising=False)
    monkeypatch.setattr(progress, "_terminal", lambda: False)
    items = [1, 2, 3]
    assert progress.progress_bar(items, desc="caching") is items
    assert progress.keras_verbose() == 2


def test_a_short_loop_draws_nothing_a_long_one_draws_and_clears(interactive, capsys):
    assert list(progress.progress_bar(range(50), desc="quick")) == list(range(50))
    assert capsys.readouterr().err == ""  # no bar frozen at 0%

    def slow():
        for i in range(3):
            time.sleep(0.6)
            yield i

    assert list(progress.progress_bar(slow(), total=3, desc="slow")) == [0, 1, 2]
    drawn = capsys.readouterr().err
    assert "slow" in drawn  # drawn once DELAY had passed
    assert drawn.endswith("\r")  # and cleared at the end (leave=False): nothing stays on screen


def test_quiet_variable(monkeypatch, interactive):
    monkeypatch.setenv("FACETRANSFER_QUIET", "1")
    assert progress.quiet()
    monkeypatch.setenv("FACETRANSFER_QUIET", "0")
    assert not progress.quiet()


def test_in_a_notebook_without_ipywidgets_no_text_bar(monkeypatch, interactive):
    monkeypatch.setattr(progress, "in_notebook", lambda: True)
    monkeypatch.setattr(progress, "_notebook_bar", lambda: None)
    items = [1, 2, 3]
    assert progress.progress_bar(items, desc="caching") is items
    assert progress.progress_bar(None, total=3) is None


def test_the_notebook_bar_shows_after_the_delay_and_leaves_nothing(monkeypatch, interactive):
    pytest.importorskip("ipywidgets")
    pytest.importorskip("IPython.display")
    import IPython.display

    shown = []

    class Handle:
        def __init__(self):
            self.data = "widget"

        def update(self, data, raw=False):
            self.data = data

    def display(obj, display_id=False):
        assert display_id is True  # under a handle, so that it can be blanked
        shown.append(Handle())
        return shown[-1]

    monkeypatch.setattr(IPython.display, "display", display)
    bar_class = progress._notebook_bar.__wrapped__()  # built afresh: takes the display above
    monkeypatch.setattr(progress, "_notebook_bar", lambda: bar_class)
    monkeypatch.setattr(progress, "in_notebook", lambda: True)

    assert list(progress.progress_bar(range(20), desc="quick")) == list(range(20))
    assert shown == []  # a short loop never shows a widget

    monkeypatch.setattr(progress, "DELAY", 0.05)

    def slow():
        for i in range(4):
            time.sleep(0.6)
            yield i

    assert list(progress.progress_bar(slow(), total=4, desc="slow")) == [0, 1, 2, 3]
    assert len(shown) == 1  # one widget, updated in place
    assert shown[0].data == {"text/plain": ""}  # blanked when done: nothing in a saved notebook


def test_logging_concise_by_default_verbose_with_a_flag(restore_logging, monkeypatch):
    monkeypatch.delenv("TF_CPP_MIN_LOG_LEVEL", raising=False)
    progress.setup_logging()
    assert logging.getLogger().level == logging.INFO
    assert logging.getLogger("tensorflow").level == logging.WARNING
    assert not logging.getLogger("facetransfer.data.cache").isEnabledFor(logging.DEBUG)
    assert os.environ["TF_CPP_MIN_LOG_LEVEL"] == "2"
    progress.setup_logging(verbose=True)
    assert logging.getLogger().level == logging.DEBUG
    assert logging.getLogger("tensorflow").isEnabledFor(logging.DEBUG)  # let through again


def test_in_a_notebook_info_is_output_and_warnings_stay_on_stderr(
    restore_logging, monkeypatch, capsys
):
    monkeypatch.setattr(progress, "in_notebook", lambda: True)
    progress.setup_logging()
    log = logging.getLogger("facetransfer.data.intake")
    log.info("aligned 3 of 3 photos")
    log.warning("aligned 2 of 3 photos; skipped 1: 1 no face found")
    out, err = capsys.readouterr()
    assert out == "aligned 3 of 3 photos\n"
    assert err == (
        "WARNING facetransfer.data.intake: aligned 2 of 3 photos; skipped 1: 1 no face found\n"
    )


def test_outside_a_notebook_every_line_goes_to_stderr(restore_logging, monkeypatch, capsys):
    monkeypatch.setattr(progress, "in_notebook", lambda: False)
    progress.setup_logging()
    logging.getLogger("facetransfer.data.intake").info("aligned 3 of 3 photos")
    out, err = capsys.readouterr()
    assert out == "" and err == "INFO facetransfer.data.intake: aligned 3 of 3 photos\n"


def test_tensorflows_retracing_notice_is_dropped_unless_verbose(restore_logging, capsys):
    progress.setup_logging()
    tensorflow = logging.getLogger("tensorflow")
    notice = (
        "5 out of the last 17 calls to <function f at 0x1> triggered tf.function retracing. "
        "Tracing is expensive"
    )
    tensorflow.warning(notice)
    tensorflow.warning("something else")
    err = capsys.readouterr().err
    assert "retracing" not in err and "something else" in err
    progress.setup_logging(verbose=True)
    tensorflow.warning(notice)
    assert "retracing" in capsys.readouterr().err
    progress.setup_logging()
    assert sum(isinstance(f, progress._DropRetracingNotice) for f in tensorflow.filters) == 1


def test_a_plain_python_process_is_not_a_notebook():
    assert not progress.in_notebook()
