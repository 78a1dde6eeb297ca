"""A throwaway PostgreSQL + PostGIS cluster on 127.0.0.1, for this run's user only.

The cluster lives in a temporary folder, listens only on loopback, runs with
``fsync=off`` (it holds nothing that outlives it) and is removed on :meth:`stop`.
Loopback is not private on a shared machine (a JupyterHub node, a lab server), so the
superuser has a random password (``scram-sha-256``) that only the processes of this run
are given, and the Unix socket lies in the cluster's own folder, which no other user
may enter: another local user, or a connection without the password, is refused.
PostgreSQL refuses to run as root, so when cropkit runs as root the server programs
run as the ``postgres`` system user.
"""

from __future__ import annotations

import glob
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

from ..core.errors import MissingDependencyError, ServerError

__all__ = ["PostgresCluster", "find_postgres", "free_port"]

_INSTALL_HINT = (
    "Install PostgreSQL and PostGIS: on Debian/Ubuntu `apt-get install postgresql "
    "postgresql-15-postgis-3` (match your PostgreSQL version), with conda "
    "`conda install -c conda-forge postgresql postgis`, or run `make demo`, which installs them."
)


def free_port() -> int:
    """An unused TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def find_postgres() -> Path:
    """Return the folder of the PostgreSQL server programs that have PostGIS.

    Looks at ``$CROPKIT_PG_BINDIR``, then ``pg_config`` on the PATH (conda), then
    Debian's ``/usr/lib/postgresql/<version>/bin`` (newest first).

    Raises
    ------
    MissingDependencyError
        If no PostgreSQL server is found, or none has the PostGIS extension.
    """
    candidates = []
    if os.environ.get("CROPKIT_PG_BINDIR"):
        candidates.append(Path(os.environ["CROPKIT_PG_BINDIR"]))
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True)
        if out.returncode == 0:
            candidates.append(Path(out.stdout.strip()))
    candidates += [Path(p) for p in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)]
    servers = [c for c in candidates if (c / "postgres").is_file() and (c / "initdb").is_file()]
    if not servers:
        raise MissingDependencyError(
            f"No PostgreSQL server (initdb, postgres) was found. {_INSTALL_HINT}"
        )
    for bindir in servers:
        share = _sharedir(bindir)
        if share and (share / "extension" / "postgis.control").is_file():
            return bindir
    raise MissingDependencyError(
        f"PostgreSQL was found in {servers[0]} but without the PostGIS extension. {_INSTALL_HINT}"
    )


def _sharedir(bindir: Path) -> Path | None:
    pg_config = bindir / "pg_config"
    if pg_config.is_file():
        out = subprocess.run([str(pg_config), "--sharedir"], capture_output=True, text=True)
        if out.returncode == 0:
            return Path(out.stdout.strip())
    version = bindir.parent.name  # Debian layout: /usr/lib/postgresql/15/bin
    debian = Path("/usr/share/postgresql") / version
    return debian if debian.is_dir() else None


class PostgresCluster:
    """A temporary PostgreSQL cluster.

    Parameters
    ----------
    port : int, optional
        TCP port on 127.0.0.1 (a free one by default).

    Examples
    --------
    >>> with PostgresCluster() as pg:  # doctest: +SKIP
    ...     print(pg.dsn)
    postgresql://postgres:<password>@127.0.0.1:54321/postgres
    """

    def __init__(self, port: int | None = None) -> None:
        self.bindir = find_postgres()
        self.port = port or free_port()
        self.root: Path | None = None
        self.password = secrets.token_urlsafe(24)  # URL-safe: no quoting in the DSN
        self._as_postgres = os.geteuid() == 0

    @property
    def dsn(self) -> str:
        """Libpq connection string of the cluster's ``postgres`` database (with the password)."""
        return f"postgresql://postgres:{self.password}@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> subprocess.CompletedProcess:
        cmd = [str(self.bindir / args[0]), *args[1:]]
        if self._as_postgres:
            if shutil.which("runuser") is None:
                raise MissingDependencyError(
                    "cropkit runs as root and needs `runuser` (util-linux) to start PostgreSQL "
                    "as the 'postgres' user; install util-linux or run as an ordinary user."
                )
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        out = subprocess.run(cmd, capture_output=True, text=True)
        if out.returncode != 0:
            raise ServerError(
                f"`{' '.join(args[:2])}` failed:\n{out.stderr.strip() or out.stdout.strip()}"
            )
        return out

    @classmethod
    def attach(cls, root: Path, port: int) -> PostgresCluster:
        """A handle on a cluster started elsewhere (to stop it; it holds no password)."""
        cluster = cls(port=port)
        cluster.root = Path(root)
        return cluster

    def start(self) -> PostgresCluster:
        """Create the cluster and start the server (about 1 s).

        On failure the half-made cluster is stopped and removed before the error is
        raised.
        """
        self.root = Path(tempfile.mkdtemp(prefix="cropkit-pg-"))  # mode 0700: ours only
        try:
            secret = self.root / "password"
            secret.write_text(self.password)
            if self._as_postgres:
                try:
                    for path in (self.root, secret):
                        shutil.chown(path, "postgres", "postgres")
                except LookupError as err:
                    raise MissingDependencyError(
                        "cropkit runs as root, and PostgreSQL refuses root, but there is no "
                        f"'postgres' system user to run it as. {_INSTALL_HINT}"
                    ) from err
            data = self.root / "data"
            try:
                self._run(
                    "initdb",
                    "-D",
                    str(data),
                    "-U",
                    "postgres",
                    "--auth=scram-sha-256",  # socket and TCP: the password, or nothing
                    f"--pwfile={secret}",
                    "-E",
                    "UTF8",
                    "--no-instructions",
                    "--locale=C",
                )
            finally:
                secret.unlink(missing_ok=True)
            options = (
                f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
                "-c synchronous_commit=off -c full_page_writes=off -c max_connections=50"
            )
            self._run(
                "pg_ctl",
                "-D",
                str(data),
                "-l",
                str(self.root / "postgres.log"),
                "-o",
                options,
                "-w",
                "-t",
                "30",
                "start",
            )
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop the server and delete the cluster."""
        if self.root is None:
            return
        data = self.root / "data"
        if (data / "postmaster.pid").exists():
            try:
                self._run("pg_ctl", "-D", str(data), "-m", "fast", "-w", "-t", "30", "stop")
            except ServerError:
                pass
        shutil.rmtree(self.root, ignore_errors=True)
        self.root = None

    def __enter__(self) -> PostgresCluster:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
