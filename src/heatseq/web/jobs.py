"""Background analyses: a bounded pool of worker processes fed from the store's queue.

Each run is one ``python -m heatseq.web.worker`` process (:mod:`heatseq.web.worker`); at most
``workers`` run at once and the others wait in the ``queued`` state, oldest first. A thread
per running job reads the worker's JSON events and records the stage, the summary or the
error in the store. Whatever the worker does (a user's mistake, a bug, a crash, running out of
memory, a time-out) the run ends ``failed`` with a message for the page, and the server
carries on.

When the server starts, runs left ``running`` by a server that stopped (a restart, a crash,
``kill -9``) are marked failed with a message saying so and their partial outputs are
removed; runs still ``queued`` are picked up again.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from heatseq.web.store import Run, Store
from heatseq.web.uploads import input_path

__all__ = ["INTERRUPTED", "JobRunner"]

log = logging.getLogger(__name__)

INTERRUPTED = ("The server stopped while this run was in progress (it was restarted or "
               "crashed), so the run did not finish and its partial outputs were removed. "
               "Your uploads are kept: press 'Run again' to start it anew.")


class JobRunner:
    """Runs queued analyses in worker processes.

    Parameters
    ----------
    store
        The store whose queue is served.
    workers
        Largest number of analyses running at once.
    timeout
        Seconds after which a running analysis is stopped and marked failed.
    """

    def __init__(self, store: Store, *, workers: int = 2, timeout: float = 3600.0) -> None:
        self.store = store
        self.workers = max(1, int(workers))
        self.timeout = timeout
        self._wake = threading.Condition()
        self._active: dict[str, subprocess.Popen[str]] = {}
        self._threads: list[threading.Thread] = []
        self._stopped = False
        self._dispatcher: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        """Recover from a previous server, then serve the queue in a background thread."""
        for run_id in self.store.fail_interrupted(error=INTERRUPTED):
            shutil.rmtree(self.store.run_dir(run_id) / "out", ignore_errors=True)
            log.warning("run %s was interrupted by a server stop; marked failed", run_id)
        self._dispatcher = threading.Thread(target=self._dispatch, name="heatseq-jobs",
                                            daemon=True)
        self._dispatcher.start()

    def stop(self) -> None:
        """Stop serving the queue and end the running workers (their runs are marked
        failed when the server starts next)."""
        with self._wake:
            self._stopped = True
            self._wake.notify_all()
            procs = list(self._active.values())
        for proc in procs:
            proc.terminate()
        for t in list(self._threads):
            t.join(timeout=10)
        if self._dispatcher is not None:
            self._dispatcher.join(timeout=5)

    def submit(self) -> None:
        """A run was queued: wake the dispatcher."""
        with self._wake:
            self._wake.notify_all()

    @property
    def n_running(self) -> int:
        """Analyses running now."""
        with self._wake:
            return len(self._active)

    # ------------------------------------------------------------------ the queue
    def _dispatch(self) -> None:
        while True:
            with self._wake:
                if self._stopped:
                    return
                free = self.workers - len(self._active)
            started = 0
            if free > 0:
                for run in self.store.queued_runs()[:free]:
                    if self.store.claim_run(run.id):
                        self._start(run)
                        started += 1
            with self._wake:
                if self._stopped:
                    return
                if not started:
                    self._wake.wait(timeout=1.0)

    def _start(self, run: Run) -> None:
        t = threading.Thread(target=self._execute, args=(run,), name=f"heatseq-run-{run.id}",
                             daemon=True)
        with self._wake:
            self._threads = [x for x in self._threads if x.is_alive()]
            self._threads.append(t)
        t.start()

    def _job(self, run: Run) -> dict[str, Any]:
        counts = self.store.upload(run.counts_upload)
        samples = self.store.upload(run.samples_upload)
        if counts is None or samples is None:
            raise FileNotFoundError("the run's uploads are missing from the store")
        folder = self.store.run_dir(run.id)
        folder.mkdir(parents=True, exist_ok=True)
        return {"counts": str(input_path(self.store, counts)),
                "samples": str(input_path(self.store, samples)),
                "outdir": str(folder / "out"), "params": dict(run.params),
                "command": "heatseq serve (web app)",
                "names": {"counts": counts.name, "samples": samples.name}}

    def _execute(self, run: Run) -> None:
        try:
            self._work(run)
        except Exception as exc:  # never let a job take the dispatcher or the server down
            log.exception("run %s failed in the job runner", run.id)
            self.store.fail_run(run.id, error=f"The run could not be started or followed "
                                              f"({type(exc).__name__}: {exc}).")
        finally:
            with self._wake:
                self._active.pop(run.id, None)
                self._wake.notify_all()

    def _work(self, run: Run) -> None:
        job = self._job(run)
        folder = self.store.run_dir(run.id)
        env = dict(os.environ, MPLBACKEND="Agg", PYTHONUNBUFFERED="1")
        with open(folder / "worker.log", "w", encoding="utf-8") as err:
            proc = subprocess.Popen([sys.executable, "-m", "heatseq.web.worker"],
                                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err,
                                    text=True, env=env, cwd=folder)
            with self._wake:
                self._active[run.id] = proc
            self.store.set_worker_pid(run.id, proc.pid)
            timed_out = threading.Event()

            def stop_late() -> None:
                timed_out.set()
                proc.kill()

            timer = threading.Timer(self.timeout, stop_late)
            timer.daemon = True
            timer.start()
            outcome: dict[str, Any] | None = None
            try:
                assert proc.stdin is not None and proc.stdout is not None
                proc.stdin.write(json.dumps({k: v for k, v in job.items() if k != "names"}))
                proc.stdin.close()
                for line in proc.stdout:
                    try:
                        event = json.loads(line)
                    except json.JSONDecodeError:
                        continue
                    if event.get("event") == "stage":
                        self.store.set_stage(run.id, str(event.get("stage")))
                    elif event.get("event") in ("done", "error"):
                        outcome = event
                code = proc.wait()
            finally:
                timer.cancel()
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
        if outcome is not None and outcome["event"] == "done" and code == 0:
            self.store.finish_run(run.id, summary=outcome["summary"])
            return
        if outcome is not None and outcome["event"] == "error":
            message = str(outcome.get("message"))
        elif timed_out.is_set():
            message = (f"The analysis took longer than {self.timeout:.0f} s and was stopped. "
                       "Try fewer genes in the heatmaps, or start the server with a longer "
                       "--job-timeout.")
        else:
            message = (f"The analysis process stopped unexpectedly ({_exit_words(code)}) before "
                       "it finished; this can mean the machine ran out of memory. The server "
                       "log (worker.log of the run) has the details.")
        shutil.rmtree(folder / "out", ignore_errors=True)
        self.store.fail_run(run.id, error=_user_text(message, job))

    def worker_pid(self, run_id: str) -> int | None:
        """The process ID of a running analysis."""
        with self._wake:
            proc = self._active.get(run_id)
        return None if proc is None else proc.pid


def _exit_words(code: int) -> str:
    if code < 0:
        import signal

        try:
            return f"killed by signal {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


def _user_text(message: str, job: dict[str, Any]) -> str:
    """A worker's message with the store's internal paths replaced by plain words."""
    for key in ("counts", "samples"):
        name = job["names"][key]
        message = message.replace(job[key], name).replace(Path(job[key]).name, name)
    return message.replace(job["outdir"], "the run's folder")
