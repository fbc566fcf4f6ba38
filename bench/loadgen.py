"""Loopback load, bounded in requests and time: wrk (with a Lua script) or a threaded fallback."""

from __future__ import annotations

import http.client
import json
import shutil
import statistics
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

# One request: (method, path, headers, body). A body file holds one body per line.
Request = tuple[str, str, dict[str, str], str]

_LUA = r"""
local ffi = require("ffi")
ffi.cdef[[
  typedef struct { long tv_sec; long tv_usec; } bench_timeval;
  int gettimeofday(bench_timeval *tv, void *tz);
]]
local function now_us()
  local tv = ffi.new("bench_timeval")
  ffi.C.gettimeofday(tv, nil)
  return tonumber(tv.tv_sec) * 1000000 + tonumber(tv.tv_usec)
end
local method, path, expected = %(method)s, %(path)s, %(expected)d
local headers = %(headers)s
local key_header, key_prefix = %(key_header)s, %(key_prefix)s
local bodies_file = %(bodies_file)s
local threads, next_tid = {}, 0

function setup(thread)
  thread:set("tid", next_tid)
  next_tid = next_tid + 1
  table.insert(threads, thread)
end

function init(args)
  nthreads, limit = tonumber(args[1]), tonumber(args[2])
  idx, responses, bad = tid, 0, 0
  first_us, last_us = now_us(), 0
  bodies = {}
  if bodies_file ~= "" then
    for line in io.lines(bodies_file) do bodies[#bodies + 1] = line end
  end
end

function request()
  local h = {}
  for k, v in pairs(headers) do h[k] = v end
  if key_header ~= "" then h[key_header] = key_prefix .. tid .. "-" .. idx end
  local body = nil
  if #bodies > 0 then body = bodies[(idx %% #bodies) + 1] end
  idx = idx + nthreads
  return wrk.format(method, path, h, body)
end

function response(status, hdrs, body)
  responses = responses + 1
  if status ~= expected then bad = bad + 1 end
  if responses >= limit then
    last_us = now_us()  -- wrk's own duration would run on to -d after the stop
    wrk.thread:stop()
  end
end

function done(summary, latency, requests)
  local wrong, first, last, all_stopped = 0, nil, 0, true
  for _, t in ipairs(threads) do
    wrong = wrong + (t:get("bad") or 0)
    local f, l = t:get("first_us"), t:get("last_us") or 0
    if first == nil or f < first then first = f end
    if l == 0 then all_stopped = false elseif l > last then last = l end
  end
  local duration = summary.duration
  if all_stopped and first ~= nil then duration = last - first end
  local e = summary.errors
  io.write(string.format(
    'BENCHJSON {"requests":%%d,"duration_us":%%d,"p50_us":%%d,"p99_us":%%d,"wrong":%%d,' ..
    '"socket_errors":%%d}\n',
    summary.requests, duration, latency:percentile(50), latency:percentile(99),
    wrong, e.connect + e.read + e.write + e.timeout))
end
"""


@dataclass(frozen=True)
class LoadResult:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    wrong: int  # answered with another status than expected
    errors: int  # socket errors and timeouts
    tool: str

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def _lua_str(text: str) -> str:
    return json.dumps(text)  # a JSON string literal is a valid Lua string literal here


_choice = {"python": False}


def use_python_generator() -> None:
    """Load with the threaded Python generator even where wrk is installed."""
    _choice["python"] = True


def have_wrk() -> bool:
    return not _choice["python"] and shutil.which("wrk") is not None


@dataclass(frozen=True)
class Load:
    """What to send: one method and path, fixed headers, optional per-request bodies."""

    url: str  # http://127.0.0.1:PORT
    method: str
    path: str
    expected: int
    headers: dict[str, str]
    bodies: list[str] | None = None
    key_header: str = ""  # a header given a unique value per request (Idempotency-Key)


def run_load(load: Load, *, connections: int, max_requests: int, max_seconds: float,
             workdir: Path, label: str) -> LoadResult:
    if have_wrk():
        return _run_wrk(load, connections, max_requests, max_seconds, workdir, label)
    return _run_threads(load, connections, max_requests, max_seconds, label)


def _run_wrk(load: Load, connections: int, max_requests: int, max_seconds: float,
             workdir: Path, label: str) -> LoadResult:
    threads = min(2, connections)
    bodies_file = ""
    if load.bodies:
        body_path = workdir / f"{label}.bodies"
        body_path.write_text("\n".join(load.bodies) + "\n")
        bodies_file = str(body_path)
    headers = "{" + ", ".join(f"[{_lua_str(k)}] = {_lua_str(v)}"
                              for k, v in load.headers.items()) + "}"
    script = workdir / f"{label}.lua"
    script.write_text(_LUA % {
        "method": _lua_str(load.method), "path": _lua_str(load.path),
        "expected": load.expected, "headers": headers,
        "key_header": _lua_str(load.key_header), "key_prefix": _lua_str(f"bench-{label}-"),
        "bodies_file": _lua_str(bodies_file),
    })
    per_thread = max(1, max_requests // threads)
    argv = ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{max_seconds:.0f}s",
            "--timeout", "10s", "-s", str(script), load.url, "--", str(threads), str(per_thread)]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=max_seconds + 60,
                          check=False)
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("BENCHJSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk failed: {done.stdout[-1500:]} {done.stderr[-1500:]}")
    data = json.loads(line.split(" ", 1)[1])
    return LoadResult(data["requests"], data["duration_us"] / 1e6, data["p50_us"] / 1e3,
                      data["p99_us"] / 1e3, data["wrong"], data["socket_errors"], "wrk")


def _run_threads(load: Load, connections: int, max_requests: int, max_seconds: float,
                 label: str) -> LoadResult:
    """The fallback when wrk is missing: threads with http.client (costs more client CPU)."""
    host, port = load.url.removeprefix("http://").split(":")
    counter = iter(range(max_requests))
    lock = threading.Lock()
    latencies: list[float] = []
    wrong = errors = 0
    deadline = time.monotonic() + max_seconds

    def one(index: int) -> None:
        nonlocal wrong, errors
        headers = dict(load.headers)
        if load.key_header:
            headers[load.key_header] = f"bench-{label}-{index}"
        body = load.bodies[index % len(load.bodies)] if load.bodies else None
        started = time.perf_counter()
        try:
            conn = http.client.HTTPConnection(host, int(port), timeout=10)
            conn.request(load.method, load.path, body=body, headers=headers)
            status = conn.getresponse().status
            conn.close()
        except OSError:
            with lock:
                errors += 1
            return
        with lock:
            latencies.append(time.perf_counter() - started)
            wrong += status != load.expected

    def loop() -> None:
        while time.monotonic() < deadline:
            with lock:
                index = next(counter, None)
            if index is None:
                return
            one(index)

    started = time.perf_counter()
    _run_all([threading.Thread(target=loop) for _ in range(connections)])
    seconds = time.perf_counter() - started
    return LoadResult(len(latencies), seconds, _pct(latencies, 50), _pct(latencies, 99),
                      wrong, errors, "python-threads")


def _run_all(threads: list[threading.Thread]) -> None:
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def _pct(values: list[float], pct: int) -> float:
    if not values:
        return 0.0
    if len(values) == 1:
        return values[0] * 1e3
    return statistics.quantiles(values, n=100, method="inclusive")[pct - 1] * 1e3


def percentile_ms(values: list[float], pct: int) -> float:
    """Percentile of `values` given in seconds, in milliseconds."""
    return _pct(values, pct)

