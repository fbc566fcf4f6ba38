"""Peak resident memory of process trees, sampled from /proc while the load runs."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path


def _status_kib(pid: int, key: str, source: str = "status") -> int:
    try:
        text = Path(f"/proc/{pid}/{source}").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return 0
    for line in text.splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def pss_kib(pid: int) -> int:
    """Proportional set size: each page shared by n processes counts 1/n in each, so a sum
    over a tree counts forked and shared pages once, as the pod's memory cgroup does (RSS
    counts them in every process that maps them)."""
    return _status_kib(pid, "Pss", "smaps_rollup")


def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    return children


def tree(root: int, children: dict[int, list[int]]) -> list[int]:
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, ()))
    return found


@dataclass
class RoleMemory:
    """Peaks of one role (api, payment, worker, renew …): every pid under its roots."""

    roots: list[int] = field(default_factory=list)
    peak_tree_kib: int = 0  # largest sum of VmRSS over the tree seen at one instant
    peak_pss_kib: int = 0  # largest sum of Pss over the tree seen at one instant
    hwm_kib: dict[int, int] = field(default_factory=dict)  # each pid's VmHWM, last seen

    @property
    def largest_process_kib(self) -> int:
        return max(self.hwm_kib.values(), default=0)

    @property
    def processes(self) -> int:
        return len(self.hwm_kib)


class MemorySampler:
    """Samples the registered roles every `interval` seconds from a daemon thread."""

    def __init__(self, interval: float = 0.25) -> None:
        self.interval = interval
        self.roles: dict[str, RoleMemory] = {}
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="memory-sampler", daemon=True)

    def watch(self, role: str, pid: int) -> None:
        with self._lock:
            self.roles.setdefault(role, RoleMemory()).roots.append(pid)

    def start(self) -> MemorySampler:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.sample()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def sample(self) -> None:
        children = _children_map()
        with self._lock:
            for memory in self.roles.values():
                total = pss = 0
                for root in memory.roots:
                    for pid in tree(root, children):
                        rss = _status_kib(pid, "VmRSS")
                        if rss == 0:
                            continue
                        total += rss
                        pss += pss_kib(pid)
                        hwm = _status_kib(pid, "VmHWM")
                        memory.hwm_kib[pid] = max(memory.hwm_kib.get(pid, 0), hwm)
                memory.peak_tree_kib = max(memory.peak_tree_kib, total)
                memory.peak_pss_kib = max(memory.peak_pss_kib, pss)
