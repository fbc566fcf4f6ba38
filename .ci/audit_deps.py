"""pip-audit over requirements.lock: fail on a known vulnerability; where the advisory data
cannot be read from this machine, say so plainly and skip, never pass as if audited."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

UNREACHABLE = ("ConnectionError", "NameResolutionError", "Max retries exceeded", "timed out")


def _fixes(vuln: dict[str, Any]) -> str:
    return ", ".join(vuln.get("fix_versions") or []) or "no release yet"


def verdict(report: dict[str, Any]) -> tuple[int, str]:
    """Exit code and message for pip-audit's JSON report."""
    deps = report.get("dependencies", [])
    found = [f"{d['name']} {d['version']}: {v['id']} (fixed in {_fixes(v)})"
             for d in deps for v in d.get("vulns", [])]
    skipped = [d for d in deps if d.get("skip_reason")]
    if found:
        return 1, "pip-audit: known vulnerabilities in locked packages:\n  " + "\n  ".join(found)
    if deps and len(skipped) == len(deps):
        return 0, (f"pip-audit: SKIPPED — no advisory data could be read here for any of the "
                   f"{len(deps)} locked packages ({skipped[0]['skip_reason']}). The lock was "
                   "NOT audited; run CI where the PyPI advisory data is reachable.")
    message = f"pip-audit: {len(deps) - len(skipped)} locked packages audited, none vulnerable"
    if skipped:
        message += (f"; {len(skipped)} could not be audited: "
                    + ", ".join(d["name"] for d in skipped))
    return 0, message


def main(lock: str) -> int:
    pip_audit = Path(sys.executable).with_name("pip-audit")
    result = subprocess.run(  # noqa: S603 - our own venv's pip-audit on our own lock file
        [str(pip_audit), "--requirement", lock, "--require-hashes", "--disable-pip",
         "--no-deps", "--format", "json", "--progress-spinner", "off"],
        capture_output=True, text=True, timeout=900, check=False)
    try:
        report = json.loads(result.stdout)
    except ValueError:
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        if any(sign in result.stderr for sign in UNREACHABLE):
            print(f"pip-audit: SKIPPED — the advisory service is unreachable from here ({last})."
                  " The lock was NOT audited.")
            return 0
        print(f"pip-audit failed: {last}", file=sys.stderr)
        return 2
    code, message = verdict(report)
    print(message, file=sys.stderr if code else sys.stdout)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "requirements.lock"))
