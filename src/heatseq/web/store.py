"""The web app's embedded store: SQLite (stdlib ``sqlite3``) for sessions, projects, uploads,
runs, their parameters and status; files under the data dir.

Layout of the data dir::

    heatseq.sqlite3          the database (WAL journal)
    blobs/ab/abcdef...       uploads, content-addressed by SHA-256, read-only, never changed
    inputs/<upload id>/      a hard link (or copy) of a blob under a fixed name
                             (``counts.tsv.gz``, ``samples.csv``: the suffix is chosen from a
                             list of known ones, never taken from the user's file name)
    runs/<run id>/out/       the run's output folder (what ``heatseq run`` writes)
    tmp/                     uploads being received

Migrations are numbered SQL scripts (:data:`MIGRATIONS`); ``PRAGMA user_version`` holds the
number of the last one applied, so opening an older store upgrades it in place and a newer
store is refused with a message. One connection is shared by the threads of the server and
guarded by a lock: every method is one short transaction.
"""

from __future__ import annotations

import json
import os
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["MIGRATIONS", "Project", "Run", "Store", "StoreError", "Upload"]

#: (version, SQL): applied in order to bring a store to the newest schema.
MIGRATIONS: tuple[tuple[int, str], ...] = (
    (1, """
    CREATE TABLE sessions (
        id TEXT PRIMARY KEY,            -- SHA-256 of the session token (the token is not kept)
        created REAL NOT NULL
    );
    CREATE TABLE blobs (
        sha256 TEXT PRIMARY KEY,
        size INTEGER NOT NULL,
        created REAL NOT NULL
    );
    CREATE TABLE projects (
        id TEXT PRIMARY KEY,
        session_id TEXT NOT NULL REFERENCES sessions(id),
        name TEXT NOT NULL,
        created REAL NOT NULL,
        counts_upload TEXT,
        samples_upload TEXT
    );
    CREATE INDEX projects_session ON projects(session_id);
    CREATE TABLE uploads (
        id TEXT PRIMARY KEY,
        project_id TEXT NOT NULL REFERENCES projects(id),
        kind TEXT NOT NULL CHECK (kind IN ('counts', 'samples')),
        name TEXT NOT NULL,             -- the user's file name, for display only
        sha256 TEXT NOT NULL REFERENCES blobs(sha256),
        size INTEGER NOT NULL,
        created REAL NOT NULL
    );
    CREATE INDEX uploads_project ON uploads(project_id);
    CREATE TABLE runs (
        id TEXT PRIMARY KEY,
        project_id TEXT NOT NULL REFERENCES projects(id),
        status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed')),
        stage TEXT,
        params TEXT NOT NULL,           -- JSON
        counts_upload TEXT NOT NULL REFERENCES uploads(id),
        samples_upload TEXT NOT NULL REFERENCES uploads(id),
        created REAL NOT NULL,
        started REAL,
        finished REAL,
        error TEXT,
        summary TEXT                    -- JSON, when done
    );
    CREATE INDEX runs_project ON runs(project_id);
    CREATE INDEX runs_status ON runs(status);
    """),
    (2, """
    -- every stage a run entered, with its time: the page's progress and the run's history
    CREATE TABLE run_events (
        run_id TEXT NOT NULL REFERENCES runs(id),
        at REAL NOT NULL,
        stage TEXT NOT NULL
    );
    CREATE INDEX run_events_run ON run_events(run_id);
    ALTER TABLE runs ADD COLUMN worker_pid INTEGER;
    """),
)

SCHEMA_VERSION = MIGRATIONS[-1][0]


class StoreError(Exception):
    """The data dir cannot be used (e.g. made by a newer heatseq)."""


def _new_id() -> str:
    return secrets.token_hex(8)


def token_key(token: str) -> str:
    """The stored key of a session token (its SHA-256): a leaked database does not give
    working tokens."""
    import hashlib

    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Upload:
    """One uploaded file: its display name, kind and blob."""

    id: str
    project_id: str
    kind: str
    name: str
    sha256: str
    size: int
    created: float


@dataclass(frozen=True)
class Project:
    """A project: its name, owner session and current counts and sample-sheet uploads."""

    id: str
    session_id: str
    name: str
    created: float
    counts_upload: str | None
    samples_upload: str | None


@dataclass(frozen=True)
class Run:
    """One analysis: its parameters, inputs, status and, when done, its summary."""

    id: str
    project_id: str
    status: str
    stage: str | None
    params: Mapping[str, Any]
    counts_upload: str
    samples_upload: str
    created: float
    started: float | None
    finished: float | None
    error: str | None
    summary: Mapping[str, Any] | None
    worker_pid: int | None


def _run(row: sqlite3.Row) -> Run:
    return Run(id=row["id"], project_id=row["project_id"], status=row["status"],
               stage=row["stage"], params=json.loads(row["params"]),
               counts_upload=row["counts_upload"], samples_upload=row["samples_upload"],
               created=row["created"], started=row["started"], finished=row["finished"],
               error=row["error"],
               summary=json.loads(row["summary"]) if row["summary"] else None,
               worker_pid=row["worker_pid"])


class Store:
    """The SQLite store and the file tree of a data dir.

    Parameters
    ----------
    data_dir
        Created when missing.
    """

    def __init__(self, data_dir: str | os.PathLike[str]) -> None:
        self.root = Path(data_dir).resolve()
        for sub in ("blobs", "inputs", "runs", "tmp"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(self.root / "heatseq.sqlite3", check_same_thread=False,
                                   isolation_level=None, timeout=30)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self.migrate()

    # ------------------------------------------------------------------ plumbing
    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _one(self, sql: str, args: Sequence[Any] = ()) -> sqlite3.Row | None:
        with self._lock:
            return self._db.execute(sql, args).fetchone()

    def _all(self, sql: str, args: Sequence[Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    @property
    def version(self) -> int:
        """The schema version of the database (the last migration applied)."""
        row = self._one("PRAGMA user_version")
        return int(row[0]) if row else 0

    def migrate(self) -> None:
        """Apply the migrations newer than the database's version, each in one transaction."""
        current = self.version
        if current > SCHEMA_VERSION:
            raise StoreError(f"The data dir {self.root} was made by a newer heatseq (schema "
                             f"version {current}; this heatseq knows up to {SCHEMA_VERSION}). "
                             "Upgrade heatseq or give another --data-dir.")
        for version, sql in MIGRATIONS:
            if version <= current:
                continue
            with self._lock:
                self._db.executescript(f"BEGIN IMMEDIATE;\n{sql}\nPRAGMA user_version = "
                                       f"{version};\nCOMMIT;")

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._db.close()

    # ------------------------------------------------------------------ sessions
    def new_session(self) -> str:
        """A new session; returns its token (only its hash is stored)."""
        token = secrets.token_urlsafe(32)
        with self._tx() as db:
            db.execute("INSERT INTO sessions (id, created) VALUES (?, ?)",
                       (token_key(token), time.time()))
        return token

    def session_exists(self, token: str) -> bool:
        """Whether ``token`` is a session of this store."""
        return self._one("SELECT 1 FROM sessions WHERE id = ?", (token_key(token),)) is not None

    # ------------------------------------------------------------------ projects
    def create_project(self, session_token: str, name: str) -> Project:
        """A new, empty project of the session."""
        pid = _new_id()
        with self._tx() as db:
            db.execute("INSERT INTO projects (id, session_id, name, created) VALUES (?, ?, ?, ?)",
                       (pid, token_key(session_token), name, time.time()))
        project = self.project(session_token, pid)
        assert project is not None
        return project

    def project(self, session_token: str, project_id: str) -> Project | None:
        """The project, or None when it does not exist or belongs to another session."""
        row = self._one("SELECT * FROM projects WHERE id = ? AND session_id = ?",
                        (project_id, token_key(session_token)))
        return None if row is None else Project(**dict(row))

    def projects(self, session_token: str) -> list[Project]:
        """The session's projects, newest first."""
        rows = self._all("SELECT * FROM projects WHERE session_id = ? ORDER BY created DESC, id",
                         (token_key(session_token),))
        return [Project(**dict(r)) for r in rows]

    # ------------------------------------------------------------------ uploads
    def blob_path(self, sha256: str) -> Path:
        """Where the blob of a SHA-256 lives."""
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise ValueError(f"not a SHA-256: {sha256!r}")
        return self.root / "blobs" / sha256[:2] / sha256

    def tmp_file(self) -> Path:
        """A fresh path under ``tmp/`` for a file being received."""
        return self.root / "tmp" / f"upload-{secrets.token_hex(12)}"

    def add_blob(self, tmp: Path, sha256: str, size: int) -> Path:
        """Move a received file into the blob store (or drop it when the blob exists);
        the blob is made read-only."""
        dest = self.blob_path(sha256)
        dest.parent.mkdir(parents=True, exist_ok=True)
        with self._lock:
            if dest.exists():
                tmp.unlink(missing_ok=True)
            else:
                os.chmod(tmp, 0o444)
                os.replace(tmp, dest)
            with self._tx() as db:
                db.execute("INSERT OR IGNORE INTO blobs (sha256, size, created) VALUES (?, ?, ?)",
                           (sha256, size, time.time()))
        return dest

    def add_upload(self, project_id: str, *, kind: str, name: str, sha256: str,
                   size: int) -> Upload:
        """Record an upload of a stored blob and make it the project's current one of its
        kind."""
        uid = _new_id()
        column = "counts_upload" if kind == "counts" else "samples_upload"
        with self._tx() as db:
            db.execute("INSERT INTO uploads (id, project_id, kind, name, sha256, size, created) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?)",
                       (uid, project_id, kind, name, sha256, size, time.time()))
            db.execute(f"UPDATE projects SET {column} = ? WHERE id = ?", (uid, project_id))
        up = self.upload(uid)
        assert up is not None
        return up

    def upload(self, upload_id: str) -> Upload | None:
        """An upload by ID (callers check that its project is the session's)."""
        row = self._one("SELECT * FROM uploads WHERE id = ?", (upload_id,))
        return None if row is None else Upload(**dict(row))

    def uploads(self, project_id: str) -> list[Upload]:
        """Every upload of a project, oldest first."""
        rows = self._all("SELECT * FROM uploads WHERE project_id = ? ORDER BY created, id",
                         (project_id,))
        return [Upload(**dict(r)) for r in rows]

    # ------------------------------------------------------------------ runs
    def create_run(self, project_id: str, *, params: Mapping[str, Any], counts_upload: str,
                   samples_upload: str) -> Run:
        """A queued run."""
        rid = _new_id()
        with self._tx() as db:
            db.execute("INSERT INTO runs (id, project_id, status, params, counts_upload, "
                       "samples_upload, created) VALUES (?, ?, 'queued', ?, ?, ?, ?)",
                       (rid, project_id, json.dumps(dict(params), sort_keys=True),
                        counts_upload, samples_upload, time.time()))
        run = self.run(rid)
        assert run is not None
        return run

    def run(self, run_id: str) -> Run | None:
        """A run by ID (callers check that its project is the session's)."""
        row = self._one("SELECT * FROM runs WHERE id = ?", (run_id,))
        return None if row is None else _run(row)

    def runs(self, project_id: str) -> list[Run]:
        """The runs of a project, newest first."""
        rows = self._all("SELECT * FROM runs WHERE project_id = ? ORDER BY created DESC, id",
                         (project_id,))
        return [_run(r) for r in rows]

    def queued_runs(self) -> list[Run]:
        """Runs waiting for a worker, oldest first."""
        rows = self._all("SELECT * FROM runs WHERE status = 'queued' ORDER BY created, id")
        return [_run(r) for r in rows]

    def claim_run(self, run_id: str, *, pid: int | None = None) -> bool:
        """Mark a queued run running; False when it was not queued any more."""
        with self._tx() as db:
            cur = db.execute("UPDATE runs SET status = 'running', started = ?, stage = NULL, "
                             "worker_pid = ? WHERE id = ? AND status = 'queued'",
                             (time.time(), pid, run_id))
            return cur.rowcount == 1

    def set_worker_pid(self, run_id: str, pid: int) -> None:
        """Record the process running a run."""
        with self._tx() as db:
            db.execute("UPDATE runs SET worker_pid = ? WHERE id = ?", (pid, run_id))

    def set_stage(self, run_id: str, stage: str) -> None:
        """A running run entered ``stage``."""
        with self._tx() as db:
            db.execute("UPDATE runs SET stage = ? WHERE id = ? AND status = 'running'",
                       (stage, run_id))
            db.execute("INSERT INTO run_events (run_id, at, stage) VALUES (?, ?, ?)",
                       (run_id, time.time(), stage))

    def events(self, run_id: str) -> list[tuple[float, str]]:
        """(time, stage) of every stage a run entered."""
        rows = self._all("SELECT at, stage FROM run_events WHERE run_id = ? ORDER BY at, rowid",
                         (run_id,))
        return [(r["at"], r["stage"]) for r in rows]

    def finish_run(self, run_id: str, *, summary: Mapping[str, Any]) -> None:
        """A running run succeeded."""
        with self._tx() as db:
            db.execute("UPDATE runs SET status = 'done', finished = ?, summary = ?, error = NULL "
                       "WHERE id = ? AND status = 'running'",
                       (time.time(), json.dumps(dict(summary)), run_id))

    def fail_run(self, run_id: str, *, error: str) -> None:
        """A queued or running run failed, with the message for the page."""
        with self._tx() as db:
            db.execute("UPDATE runs SET status = 'failed', finished = ?, error = ? "
                       "WHERE id = ? AND status IN ('queued', 'running')",
                       (time.time(), error, run_id))

    def fail_interrupted(self, *, error: str) -> list[str]:
        """Mark every run left ``running`` (by a server that stopped) failed; their IDs."""
        with self._tx() as db:
            ids = [r["id"] for r in db.execute("SELECT id FROM runs WHERE status = 'running'")]
            db.execute("UPDATE runs SET status = 'failed', finished = ?, error = ? "
                       "WHERE status = 'running'", (time.time(), error))
        return ids

    def run_dir(self, run_id: str) -> Path:
        """The folder of a run (its inputs' links and ``out/``)."""
        if not run_id.isalnum():
            raise ValueError(f"not a run ID: {run_id!r}")
        return self.root / "runs" / run_id
