"""A throwaway PostgreSQL cluster for the real-Airflow tests: Debian's binaries, a temp data dir, a free loopback
port, trust auth on 127.0.0.1 only, stopped and deleted at the end.

PostgreSQL refuses to run as root: as root the cluster belongs to the ``postgres`` system user (created when
the package did not create it), and every server command runs through ``runuser``.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

from airflow_provider_batchorch.local.emulator import free_port

ROOT = Path(__file__).resolve().parents[2]
INSTALL_SCRIPT = ROOT / "scripts" / "install_postgres.sh"
SUPERUSER = "airflow"
DATABASE = "airflow"
SYSTEM_USER = "postgres"


class PostgresUnavailable(RuntimeError):
    """PostgreSQL could not be installed or started here: the caller skips."""


def find_bin_dir() -> Path | None:
    """The newest /usr/lib/postgresql/<major>/bin holding initdb and pg_ctl."""
    candidates = [Path(d) for d in glob.glob("/usr/lib/postgresql/*/bin")
                  if (Path(d) / "initdb").exists() and (Path(d) / "pg_ctl").exists()]
    candidates.sort(key=lambda d: int(d.parent.name) if d.parent.name.isdigit() else 0)
    return candidates[-1] if candidates else None


def ensure_installed() -> Path:
    """The server binaries, installed with scripts/install_postgres.sh when missing."""
    bin_dir = find_bin_dir()
    if bin_dir is not None:
        return bin_dir
    if shutil.which("apt-get") is None:
        raise PostgresUnavailable("PostgreSQL is not installed and this machine has no apt-get to install it")
    try:
        result = subprocess.run(["sh", str(INSTALL_SCRIPT)], capture_output=True, text=True, timeout=600)
    except subprocess.TimeoutExpired as exc:
        raise PostgresUnavailable(f"{INSTALL_SCRIPT.name} did not finish within 600 s") from exc
    bin_dir = find_bin_dir()
    if result.returncode != 0 or bin_dir is None:
        tail = (result.stdout + result.stderr).strip().splitlines()[-5:]
        raise PostgresUnavailable(f"{INSTALL_SCRIPT.name} could not install PostgreSQL: {' | '.join(tail)}")
    return bin_dir


def _server_user() -> str | None:
    """Who runs the server: None = the current (non-root) user; as root the postgres system user."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", SYSTEM_USER],
                       check=True, capture_output=True)
    return SYSTEM_USER


class ThrowawayPostgres:
    def __init__(self, bin_dir: Path) -> None:
        self.bin_dir = bin_dir
        self.user = _server_user()
        self.root = Path(tempfile.mkdtemp(prefix="batchorch-pg-"))
        self.data_dir = self.root / "data"
        self.log_file = self.root / "postgres.log"
        self.port = 0

    @property
    def url(self) -> str:
        """The SQLAlchemy URL of the test database, for Airflow's ``sql_alchemy_conn``."""
        return f"postgresql+psycopg2://{SUPERUSER}@127.0.0.1:{self.port}/{DATABASE}"

    def _run(self, *command: str, timeout: float = 120) -> None:
        prefix = ["runuser", "-u", self.user, "--"] if self.user else []
        result = subprocess.run([*prefix, *command], capture_output=True, text=True, timeout=timeout, cwd=self.root)
        if result.returncode != 0:
            log = self.log_file.read_text(errors="replace")[-2000:] if self.log_file.exists() else ""
            raise PostgresUnavailable(f"{Path(command[0]).name} failed ({result.returncode}): "
                                      f"{result.stderr.strip()[-2000:]}\n{log}")

    def start(self) -> "ThrowawayPostgres":
        if self.user:
            shutil.chown(self.root, self.user)
        self._run(str(self.bin_dir / "initdb"), "-D", str(self.data_dir), "-U", SUPERUSER, "--auth=trust",
                  "--encoding=UTF8", "--locale=C.UTF-8" if _has_c_utf8() else "--locale=C")
        self.port = free_port()
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
        self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), "-l", str(self.log_file), "-o", options,
                  "-w", "-t", "60", "start")
        self._run(str(self.bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", SUPERUSER, DATABASE)
        return self

    def stop(self) -> None:
        if self.data_dir.exists() and (self.data_dir / "postmaster.pid").exists():
            try:
                self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), "-m", "immediate", "-w", "stop",
                          timeout=60)
            except PostgresUnavailable:
                pass
        shutil.rmtree(self.root, ignore_errors=True)


def _has_c_utf8() -> bool:
    try:
        locales = subprocess.run(["locale", "-a"], capture_output=True, text=True, timeout=10).stdout.lower()
    except (OSError, subprocess.TimeoutExpired):
        return False
    return "c.utf8" in locales or "c.utf-8" in locales
