"""Progress bars and logging: a live bar where someone watches, nothing left behind.

- :func:`progress_bar` wraps every loop over files that can take more than a few seconds
  (caching, alignment, prediction on a folder). Where it draws:

  - in a terminal: a tqdm bar on stderr;
  - in a Jupyter notebook: one tqdm.notebook widget (needs ipywidgets), which removes itself when
    the loop ends, so a saved notebook keeps no bar (run papermill quiet, as `make demo` does:
    it would also save the widget's state into the executed notebook);
  - nowhere else: not in CI or with ``FACETRANSFER_QUIET=1``, not into a log file or a pipe, not
    in a notebook without ipywidgets (a text bar there is one pink line per update).

  A bar is drawn only once its loop has run :data:`DELAY` seconds, so a short loop leaves nothing
  (no bars frozen at 0%).
- :func:`keras_verbose` is what ``model.fit(verbose=...)`` should get: Keras' own progress bar
  when someone watches, one line per epoch otherwise (a bar redrawn hundreds of times fills a log).
- :func:`setup_logging` makes the package's messages concise by default (INFO lines of our own,
  warnings from libraries) and verbose with ``-v``/``verbose=True``; it also keeps TensorFlow's
  start-up notices and one misleading TensorFlow warning out of the way.
"""

from __future__ import annotations

import functools
import importlib
import logging
import os
import sys
import time

from tqdm.std import tqdm

NOISY_LOGGERS = ("tensorflow", "absl", "h5py", "matplotlib", "PIL", "keras")
DELAY = 1.0  # seconds a loop runs before its bar is drawn


def quiet() -> bool:
    """CI and FACETRANSFER_QUIET=1 get no progress bars (they would fill logs with redraws)."""
    return bool(os.environ.get("CI")) or os.environ.get("FACETRANSFER_QUIET") == "1"


def in_notebook() -> bool:
    """True inside a Jupyter kernel (a notebook, JupyterLab, VS Code, Colab, papermill)."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return any(kind.__name__ == "ZMQInteractiveShell" for kind in type(shell).__mro__)


def _terminal() -> bool:
    """A person at a terminal sees stderr (not a log file, a pipe or a captured stream)."""
    return sys.stderr is not None and sys.stderr.isatty()


def progress_bar(
    iterable, total: int | None = None, desc: str = "", enabled: bool = True, *, unit: str = "it"
):
    """A bar over `iterable` where someone watches (see the module's docstring), else the
    iterable itself. With ``iterable=None`` and a `total`, a bar to ``update()`` and ``close()``
    by hand, or None where none is drawn.

    The bar disappears when done (``leave=False``): a notebook or a shell keeps only the summary
    lines the caller logs.
    """
    if not enabled or quiet():
        return iterable
    options = {
        "total": total,
        "desc": desc,
        "unit": unit,
        "leave": False,
        "mininterval": 0.5,
        "delay": DELAY,
    }
    if in_notebook():
        bar = _notebook_bar()
        return iterable if bar is None else bar(iterable, **options)
    if _terminal():
        return tqdm(iterable, **options)
    return iterable


@functools.cache
def _notebook_bar():
    """tqdm.notebook's widget bar, shown under a display handle once it has run DELAY seconds
    and blanked when it closes (a widget's output would otherwise stay in the saved notebook,
    a dead "Error displaying widget" on reopening). None without ipywidgets.

    Imported here, not at the top: IPython and ipywidgets would slow the CLI's start-up.
    """
    notebook = importlib.import_module("tqdm.notebook")
    if notebook.IProgress is None:  # no ipywidgets: no bar rather than a text bar in pink
        logging.getLogger(__name__).debug("no progress bars: ipywidgets is not installed")
        return None
    display = importlib.import_module("IPython.display").display

    class NotebookBar(notebook.tqdm):
        def __init__(self, *args, **kwargs):
            self._handle = None
            self._ready = False
            super().__init__(*args, display=False, **kwargs)
            self._ready = True

        def display(self, msg=None, pos=None, *, close=False, bar_style=None, check_delay=True):
            super().display(msg, pos, close=close, bar_style=bar_style, check_delay=False)
            if not self._ready:  # tqdm draws the first state while it sets up: not shown yet
                return
            if close:
                if self._handle is not None:
                    self._handle.update({"text/plain": ""}, raw=True)
            elif self._handle is None and time.time() - self.start_t >= self.delay:
                self._handle = display(self.container, display_id=True)

    return NotebookBar


def keras_verbose(verbose: bool = False):
    """Keras' ``verbose`` for fit/predict: "auto" (its progress bar) where someone watches (a
    terminal or a notebook), else 2 (one line per epoch: CI, quiet runs, logs);
    ``verbose`` asks for the one-line-per-epoch log explicitly."""
    watched = in_notebook() or _terminal()
    return 2 if verbose or quiet() or not watched else "auto"


class _DropRetracingNotice(logging.Filter):
    """TensorFlow warns "N out of the last M calls to <function ...> triggered tf.function
    retracing" when several Keras models are trained or run in one process (a notebook training
    three configs, predict with several models): each model traces its own functions once, and
    TensorFlow counts those first traces together because they share Keras' source code. Nothing
    is retraced needlessly, so the advice it gives does not apply."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "triggered tf.function retracing" not in record.getMessage()


class _BelowWarning(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno < logging.WARNING


def setup_logging(verbose: bool = False) -> None:
    """Concise by default (warnings and our own INFO lines), everything with verbose.

    In a notebook, INFO lines print as plain output (stdout) and warnings keep stderr, so a
    notebook shows its results in black and only what went wrong in pink; elsewhere everything
    goes to stderr, leaving stdout to the answers (--json, CSV).

    Also lowers TensorFlow's C++ log level (its start-up notices about CPU instructions and
    oneDNN) unless verbose: call it before TensorFlow is imported, as the notebooks' first cell
    after the parameters does.
    """
    level = logging.DEBUG if verbose else logging.INFO
    detailed = logging.Formatter("%(levelname)s %(name)s: %(message)s")
    if in_notebook():
        plain = logging.StreamHandler(sys.stdout)
        plain.addFilter(_BelowWarning())
        plain.setFormatter(logging.Formatter("%(message)s"))
        problems = logging.StreamHandler(sys.stderr)
        problems.setLevel(logging.WARNING)
        problems.setFormatter(detailed)
        handlers = [plain, problems]
    else:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(detailed)
        handlers = [handler]
    logging.basicConfig(level=level, handlers=handlers, force=True)
    if not verbose:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    for noisy in NOISY_LOGGERS:  # NOTSET: a verbose call after a concise one lets them through
        logging.getLogger(noisy).setLevel(logging.NOTSET if verbose else logging.WARNING)
    tensorflow = logging.getLogger("tensorflow")
    for old in [f for f in tensorflow.filters if isinstance(f, _DropRetracingNotice)]:
        tensorflow.removeFilter(old)
    if not verbose:
        tensorflow.addFilter(_DropRetracingNotice())
