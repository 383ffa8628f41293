"""A real one-node Slurm cluster for tests: munged, slurmctld and slurmd on 127.0.0.1.

Debian's Slurm 22.05 (packages slurmctld, slurmd, slurm-client, munge; `make system-deps`
installs them) is started from a temporary folder that holds everything the daemons write:
the config, a private MUNGE key and socket, StateSaveLocation, SlurmdSpoolDir, logs and pid
files. The daemons run in the foreground (`-D`, `-F`) as children of this process, so their
PIDs are known exactly; `stop()` cancels the cluster's jobs and ends only those PIDs.

Outside the temporary folder there are only /tmp/decaylm-slurm.lock (a flock, so that two
test runs on one machine take turns) and /etc/slurm/slurm.conf, which becomes a symlink to
the temporary config while the cluster runs: the job step of
snakemake-executor-plugin-slurm-jobstep drops every SLURM_* variable (SLURM_CONF too) before
it calls `srun`, which then reads that compiled-in default path. A file there that this
harness did not make is never touched (`usable()` says why not); a symlink that a killed run
left is replaced. No system service is started or stopped, and the daemons get SIGTERM if
the test process dies (PR_SET_PDEATHSIG).

Slurm has no accounting here (no slurmdbd), so `sacct` never sees a job end: workflows must
use the plugin's `--slurm-status-command squeue`; MinJobAge is an hour so that `squeue` still
shows finished jobs (the plugin falls back to sacct below 3 x its first check interval).

Use:
    with SlurmCluster(tempfile.mkdtemp(prefix=TMP_MARK)) as cluster:
        subprocess.run([...], env=cluster.env())
        cluster.allocated_job_ids()
or by hand, as root: `.venv/bin/python tests/helpers/slurm_cluster.py` keeps a cluster up until
Ctrl-C; meanwhile `make slurm` in another shell runs the pipeline on it. By default the
cluster has no GRES at all, like Debian's Slurm out of the box (a GPU request is refused:
"Invalid generic resource (gres) specification"); `--gpu` gives it one fake GPU, for
`make slurm-gpu`.
"""

from __future__ import annotations

import ctypes
import fcntl
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SYSTEM_CONF = Path("/etc/slurm/slurm.conf")
# Marker in the temporary folder's name: a leftover symlink into such a folder is ours.
TMP_MARK = "decaylm-slurm-"
PARTITION = "debug"
# Held while a cluster runs: two test runs on one machine would fight over SYSTEM_CONF.
LOCK_FILE = Path("/tmp/decaylm-slurm.lock")
NEEDED = ("munged", "slurmctld", "slurmd", "sbatch", "squeue", "srun", "scontrol", "sinfo")


def missing_binaries() -> list[str]:
    return [name for name in NEEDED if not _which(name)]


def _which(name: str) -> str | None:
    # munged/slurmctld/slurmd live in /usr/sbin, which a non-login PATH may lack.
    path = os.environ.get("PATH", "") + os.pathsep + "/usr/sbin:/sbin"
    return shutil.which(name, path=path)


def _is_ours(path: Path) -> bool:
    return path.is_symlink() and TMP_MARK in os.readlink(path)


def usable() -> tuple[bool, str]:
    """Whether a cluster can be started here; if not, the reason (for pytest.skip)."""
    if os.geteuid() != 0:
        return False, ("the SLURM test needs root (slurmd launches jobs as root and the "
                       "job step reads /etc/slurm/slurm.conf)")
    missing = missing_binaries()
    if missing:
        return False, ("Slurm is not installed (missing: " + ", ".join(missing)
                       + "); `make system-deps` installs slurmctld slurmd slurm-client munge")
    if (SYSTEM_CONF.exists() or SYSTEM_CONF.is_symlink()) and not _is_ours(SYSTEM_CONF):
        return False, (f"{SYSTEM_CONF} exists and was not made by this test: a real Slurm "
                       "setup is here, which the test will not overwrite")
    return True, ""


def die_with_parent(sig: int = signal.SIGTERM):
    """A preexec_fn: the child gets `sig` when this process dies (Linux), so a killed
    test run leaves no daemon or snakemake behind."""
    def preexec() -> None:
        try:
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, int(sig))  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass
    return preexec


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def node_hardware() -> dict[str, str]:
    """The node line that `slurmd -C` reports, as a dict (NodeName, CPUs, ..., RealMemory)."""
    out = subprocess.run([_which("slurmd"), "-C"], capture_output=True, text=True,
                         check=True, timeout=30).stdout
    line = next(ln for ln in out.splitlines() if ln.startswith("NodeName="))
    return dict(field.split("=", 1) for field in line.split())


class SlurmCluster:
    """A one-node Slurm cluster whose files all live in `root` (made if missing)."""

    def __init__(self, root: Path, min_job_age: int = 3600, def_mem_per_cpu: int = 1024,
                 fake_gpu: bool = False, extra_partitions: tuple[str, ...] = ()):
        self.root = Path(root).resolve()
        # fake_gpu: a fake GPU GRES whose "device" is /dev/null (slurmd drops a GPU without a
        # device file; with task/none nothing is constrained): jobs that ask for
        # `--gpus=1` are scheduled as on a GPU node and run on the CPU.
        self.fake_gpu = fake_gpu
        # More partitions of the same node, as slurm.conf lines after "PartitionName=NAME Nodes=<node> ", e.g.
        # "small MaxMemPerNode=500 MaxTime=5": limits that leave a job over them pending (EnforcePartLimits=NO).
        self.extra_partitions = extra_partitions
        self.min_job_age = min_job_age
        self.def_mem_per_cpu = def_mem_per_cpu
        self.conf = self.root / "etc" / "slurm.conf"
        self.procs: dict[str, subprocess.Popen] = {}
        self._made_system_conf = False
        self._lock = None
        self.node = ""
        self.cpus = 0
        self.real_memory = 0

    # ---------------------------------------------------------------- paths
    def path(self, *parts: str) -> Path:
        return self.root.joinpath(*parts)

    @property
    def ctld_log(self) -> Path:
        return self.path("log", "slurmctld.log")

    @property
    def slurmd_log(self) -> Path:
        return self.path("log", "slurmd.log")

    def env(self, base: dict[str, str] | None = None) -> dict[str, str]:
        """An environment for Slurm clients (and snakemake) that talks to this cluster."""
        env = dict(os.environ if base is None else base)
        env["PATH"] = env.get("PATH", "") + os.pathsep + "/usr/sbin:/sbin"
        # Variables of an enclosing Slurm job would confuse clients and the plugin.
        for var in list(env):
            if var.startswith(("SLURM_", "SBATCH_", "SRUN_", "SALLOC_")):
                del env[var]
        env["SLURM_CONF"] = str(self.conf)
        return env

    # ---------------------------------------------------------------- set-up
    def _write_files(self) -> None:
        if TMP_MARK not in str(self.root):
            # The marker lets a later run recognise (and replace) a symlink left by a crash.
            raise ValueError(f"cluster root {self.root} must contain {TMP_MARK!r}")
        for sub in ("etc", "munge", "state", "spool", "log", "run"):
            self.path(sub).mkdir(parents=True, exist_ok=True)
        # munged insists that everyone may reach its socket (o+x on every folder above it).
        self.root.chmod(0o755)
        self.path("munge").chmod(0o755)
        key = self.path("munge", "munge.key")
        key.write_bytes(os.urandom(1024))
        key.chmod(0o600)

        hw = node_hardware()
        self.node = hw["NodeName"]
        self.cpus = int(hw["CPUs"])
        total = int(hw["RealMemory"])
        # Below the machine's memory (slurmd drains a node that reports less than
        # configured), leaving room for the daemons and the workflow's own process.
        self.real_memory = max(1024, min(total - 1024, int(total * 0.8)))
        geometry = " ".join(f"{k}={hw[k]}" for k in
                            ("CPUs", "Boards", "SocketsPerBoard", "CoresPerSocket",
                             "ThreadsPerCore") if k in hw)
        p = self.path
        ctld_port = _free_port()
        slurmd_port = _free_port()
        while slurmd_port == ctld_port:
            slurmd_port = _free_port()
        gres_line = node_gres = ""
        if self.fake_gpu:
            gres_line = "GresTypes=gpu"
            node_gres = "Gres=gpu:1 "
            # slurmd reads gres.conf beside the slurm.conf it was started with.
            self.conf.with_name("gres.conf").write_text(
                f"NodeName={self.node} Name=gpu File=/dev/null\n")
        self.conf.write_text(f"""\
# One-node test cluster written by tests/helpers/slurm_cluster.py; everything lives in {self.root}.
ClusterName=decaylm
SlurmctldHost={self.node}(127.0.0.1)
SlurmctldPort={ctld_port}
SlurmdPort={slurmd_port}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={p('munge', 'munge.socket')}
StateSaveLocation={p('state')}
SlurmdSpoolDir={p('spool')}
SlurmctldPidFile={p('run', 'slurmctld.pid')}
SlurmdPidFile={p('run', 'slurmd.pid')}
SlurmctldLogFile={self.ctld_log}
SlurmdLogFile={self.slurmd_log}
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SwitchType=switch/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
# No slurmdbd: finished jobs are only visible to squeue/scontrol for MinJobAge seconds.
MinJobAge={self.min_job_age}
DefMemPerCPU={self.def_mem_per_cpu}
ReturnToService=2
SlurmdTimeout=300
# Time limits are scheduled by but not enforced: on a loaded test machine a job's wall time can be many times
# its CPU time, which is what its request is sized from (decaylm/resources.py).
OverTimeLimit=UNLIMITED
{gres_line}
NodeName={self.node} NodeAddr=127.0.0.1 {geometry} RealMemory={self.real_memory} {node_gres}State=UNKNOWN
PartitionName={PARTITION} Nodes={self.node} Default=YES MaxTime=INFINITE State=UP
""" + "".join(f"PartitionName={name} Nodes={self.node} State=UP {limits}\n"
              for name, _, limits in (line.partition(" ") for line in self.extra_partitions)))

    def _acquire_lock(self, timeout: float) -> None:
        self._lock = open(LOCK_FILE, "a")
        end = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() > end:
                    self._lock.close()
                    self._lock = None
                    raise RuntimeError(f"another test cluster holds {LOCK_FILE}")
                time.sleep(1)

    def _link_system_conf(self) -> None:
        ok, why = usable()
        if not ok:
            raise RuntimeError(why)
        SYSTEM_CONF.parent.mkdir(parents=True, exist_ok=True)
        if SYSTEM_CONF.is_symlink():  # ours, left by a crashed run (usable() checked)
            SYSTEM_CONF.unlink()
        SYSTEM_CONF.symlink_to(self.conf)
        self._made_system_conf = True

    def _spawn(self, name: str, argv: list[str]) -> None:
        log = open(self.path("log", f"{name}.stdout"), "ab")
        self.procs[name] = subprocess.Popen(
            argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env=self.env(), cwd=self.root, start_new_session=True, preexec_fn=die_with_parent())
        log.close()

    def _wait(self, what: str, ok, timeout: float) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            for name, proc in self.procs.items():
                if proc.poll() is not None:
                    raise RuntimeError(f"{name} exited with {proc.returncode} while waiting "
                                       f"for {what}:\n{self.diagnostics()}")
            if ok():
                return
            time.sleep(0.5)
        raise RuntimeError(f"timed out after {timeout:.0f} s waiting for {what}:\n"
                           f"{self.diagnostics()}")

    def _run(self, *argv: str, timeout: float = 30) -> subprocess.CompletedProcess:
        return subprocess.run([_which(argv[0]) or argv[0], *argv[1:]], capture_output=True,
                              text=True, env=self.env(), timeout=timeout)

    def start(self, timeout: float = 90, lock_timeout: float = 1800) -> "SlurmCluster":
        """Start munged, slurmctld and slurmd; wait until the node is idle. Waits for
        another test cluster on this machine to stop first."""
        self._write_files()
        self._acquire_lock(lock_timeout)
        try:
            self._link_system_conf()
            sock = self.path("munge", "munge.socket")
            self._spawn("munged", [
                _which("munged"), "--foreground", f"--socket={sock}",
                f"--key-file={self.path('munge', 'munge.key')}",
                f"--log-file={self.path('log', 'munged.log')}",
                f"--pid-file={self.path('run', 'munged.pid')}",
                f"--seed-file={self.path('munge', 'munged.seed')}"])
            self._wait("munged's socket", sock.exists, timeout)
            conf = str(self.conf)  # absolute, as the daemons want
            self._spawn("slurmctld", [_which("slurmctld"), "-D", "-f", conf])
            self._wait("slurmctld", lambda: "UP" in self._run("scontrol", "ping").stdout,
                       timeout)
            self._spawn("slurmd", [_which("slurmd"), "-D", "-f", conf])
            self._wait("the node to be idle", lambda: self.node_state() == "idle", timeout)
        except BaseException:
            self.stop()
            raise
        return self

    # ---------------------------------------------------------------- queries
    def node_state(self) -> str:
        out = self._run("sinfo", "-h", "-N", "-o", "%T").stdout.split()
        return out[0] if out else ""

    def allocated_job_ids(self) -> list[str]:
        """Job ids that slurmctld started on a node, from its log: the main scheduler logs
        "sched: Allocate JobId=N ...", the backfill scheduler "... Started JobId=N ..."."""
        if not self.ctld_log.exists():
            return []
        return re.findall(r"(?:sched: Allocate|backfill.*: Started) JobId=(\d+)",
                          self.ctld_log.read_text())

    def job_info(self, job_id: str) -> dict[str, str]:
        """`scontrol -d show job` as a dict (finished jobs stay for MinJobAge seconds);
        JOB_GRES is what the job was allocated, e.g. gpu:1."""
        out = self._run("scontrol", "-d", "-o", "show", "job", str(job_id)).stdout
        return dict(f.split("=", 1) for f in out.split() if "=" in f)

    def diagnostics(self, tail: int = 40) -> str:
        parts = []
        # In the foreground each daemon logs to stderr too: its .stdout file has it all.
        for f in sorted(self.path("log").glob("*.stdout")):
            lines = f.read_text(errors="replace").splitlines()[-tail:]
            parts.append(f"--- {f.name} (last {len(lines)} lines)\n" + "\n".join(lines))
        return "\n".join(parts)

    # ---------------------------------------------------------------- tear-down
    def stop(self) -> None:
        """Cancel the cluster's jobs, end the daemons this object started, undo the symlink."""
        try:
            if "slurmctld" in self.procs and self.procs["slurmctld"].poll() is None:
                for name in (PARTITION, *(line.split()[0] for line in self.extra_partitions)):
                    self._run("scancel", "--partition", name, timeout=15)
                end = time.monotonic() + 20
                while time.monotonic() < end:
                    q = self._run("squeue", "-h", "-t", "PD,R,CG,CF", "-o", "%i", timeout=15)
                    if q.returncode != 0 or not q.stdout.strip():
                        break
                    time.sleep(0.5)
        except (subprocess.SubprocessError, OSError):
            pass
        finally:
            # Reverse start order: slurmd, slurmctld, then munged; each by its own PID.
            for name in ("slurmd", "slurmctld", "munged"):
                proc = self.procs.pop(name, None)
                if proc is None:
                    continue
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
                    try:
                        proc.wait(timeout=20)
                    except subprocess.TimeoutExpired:
                        proc.kill()
                        proc.wait(timeout=10)
            if self._made_system_conf and _is_ours(SYSTEM_CONF) \
                    and os.readlink(SYSTEM_CONF) == str(self.conf):
                SYSTEM_CONF.unlink()
            self._made_system_conf = False
            if self._lock is not None:
                self._lock.close()  # releases the flock
                self._lock = None

    def __enter__(self) -> "SlurmCluster":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


if __name__ == "__main__":
    ok, why = usable()
    if not ok:
        sys.exit(f"cannot start a test cluster: {why}")
    gpu = "--gpu" in sys.argv[1:]
    root = Path(tempfile.mkdtemp(prefix=TMP_MARK))
    with SlurmCluster(root, fake_gpu=gpu) as cluster:
        print(f"one-node cluster up: node {cluster.node}, partition {PARTITION}, "
              f"{'one fake GPU' if gpu else 'no GRES (--gpu: one fake GPU)'}, files in "
              f"{root}\n/etc/slurm/slurm.conf points at it until Ctrl-C", flush=True)
        try:
            signal.pause()
        except KeyboardInterrupt:
            pass
    shutil.rmtree(root, ignore_errors=True)
