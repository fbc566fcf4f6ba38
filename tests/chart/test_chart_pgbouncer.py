"""The chart's database paths: its own PgBouncer in transaction mode or an existing pooler for
the processes (migrations and backups stay direct), and the read replica for the API alone."""

from __future__ import annotations

import base64
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.chart.helpers import Render, Tools, helm_template, parse, pod_specs
from tests.chart.netpol import Pod, allowed, pod_of

DIRECT = "postgresql+psycopg2://fluxus:s%22cr%40t@db.example:6543/billing?sslmode=require"
POOLED = "postgresql+psycopg2://fluxus:s%22cr%40t@fx-fluxus-pgbouncer.billing.svc:5432/billing"
PROCESSES = ("api", "payment", "worker", "scheduler", "operator", "renewal")
DB_POD = {"app": "postgres"}


def _render(tools: Tools, *sets: str, ok: bool = True) -> Any:
    result = helm_template(tools, sets=sets)
    if not ok:
        return result
    assert result.returncode == 0, result.stderr
    return Render("pgbouncer", result.stdout, parse(result.stdout))


def _secret_urls(r: Render) -> dict[str, str]:
    return {s["metadata"]["name"].removeprefix("fx-fluxus-").removesuffix("-secrets"):
            base64.b64decode(s["data"]["FLUXUS_DATABASE_URL"]).decode()
            for s in r.kind("Secret") if "FLUXUS_DATABASE_URL" in (s.get("data") or {})}


@pytest.fixture(scope="module")
def bouncer(tools: Tools) -> Render:
    db_to = "networkPolicy.egress.database.to[0].podSelector.matchLabels.app=postgres"
    return _render(tools, "pgbouncer.enabled=true", f"secrets.values.FLUXUS_DATABASE_URL={DIRECT}",
                   "backup.enabled=true", db_to)


def test_processes_reach_the_database_through_pgbouncer_and_migrations_directly(
    bouncer: Render,
) -> None:
    urls = _secret_urls(bouncer)
    assert {c: urls[c] for c in PROCESSES} == dict.fromkeys(PROCESSES, POOLED)
    assert urls["migrations"] == DIRECT and urls["backup"] == DIRECT


def test_pgbouncer_pools_transactions_for_the_urls_database_and_user(bouncer: Render) -> None:
    ini = bouncer.one("ConfigMap", "fx-fluxus-pgbouncer")["data"]["pgbouncer.ini"]
    lines = {line.partition(" = ")[0]: line.partition(" = ")[2] for line in ini.splitlines()}
    assert lines["pool_mode"] == "transaction"
    assert lines["billing"] == "host=db.example port=6543 dbname=billing"
    assert lines["listen_port"] == "5432" and lines["auth_type"] == "scram-sha-256"
    userlist = bouncer.one("Secret", "fx-fluxus-pgbouncer")["data"]["userlist.txt"]
    assert base64.b64decode(userlist).decode() == '"fluxus" "s""cr@t"\n'
    service = bouncer.one("Service", "fx-fluxus-pgbouncer")
    assert service["spec"]["ports"][0]["port"] == 5432


def test_the_pgbouncer_pod_is_locked_down_and_kubernetes_accepts_it(
    bouncer: Render, tools: Tools, tmp_path: Path
) -> None:
    pod = dict(pod_specs(bouncer.docs))["Deployment/fx-fluxus-pgbouncer"]
    assert pod["automountServiceAccountToken"] is False
    assert pod["securityContext"]["runAsNonRoot"] is True
    (container,) = pod["containers"]
    ctx = container["securityContext"]
    assert (ctx["allowPrivilegeEscalation"], ctx["readOnlyRootFilesystem"],
            ctx["capabilities"]["drop"]) == (False, True, ["ALL"])
    rendered = tmp_path / "pgbouncer.yaml"
    rendered.write_text(bouncer.text)
    result = subprocess.run([str(tools.kubernetes_validate), "--strict", "-k", "1.31.0",
                             str(rendered)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_only_fluxus_processes_reach_pgbouncer_and_it_reaches_only_the_database(
    bouncer: Render,
) -> None:
    pods = {d["metadata"]["labels"]["app.kubernetes.io/component"]: pod_of(d)
            for d in bouncer.kind("Deployment")}
    pooler, database = pods["pgbouncer"], Pod(DB_POD)
    for component in ("api", "payment", "worker", "scheduler", "operator"):
        assert allowed(bouncer, pods[component], pooler, 5432), component
    renewal = Pod({**pods["api"].labels, "app.kubernetes.io/component": "renewal"})
    assert allowed(bouncer, renewal, pooler, 5432)
    assert not allowed(bouncer, pods["ui"], pooler, 5432)
    assert not allowed(bouncer, Pod({"app": "intruder"}), pooler, 5432)
    assert not allowed(bouncer, Pod({"app": "intruder"}, namespace="other"), pooler, 5432)
    assert allowed(bouncer, pooler, database, 6543)
    assert not allowed(bouncer, pooler, Pod({"app": "redis"}), 6379)


def test_an_existing_pooler_url_goes_to_the_processes_and_nothing_is_deployed(
    tools: Tools,
) -> None:
    pooler = "postgresql+psycopg2://fluxus:pw@pooler.db:6432/billing"
    r = _render(tools, f"database.poolerUrl={pooler}",
                f"secrets.values.FLUXUS_DATABASE_URL={DIRECT}")
    urls = _secret_urls(r)
    assert {c: urls[c] for c in PROCESSES} == dict.fromkeys(PROCESSES, pooler)
    assert urls["migrations"] == DIRECT
    assert not [d for d in r.docs if "pgbouncer" in d["metadata"]["name"]]


def test_with_an_existing_secret_processes_read_its_pooler_key_and_migrations_the_direct_one(
    tools: Tools,
) -> None:
    r = _render(tools, "secrets.existingSecret=billing-db", "database.poolerUrl=yes",
                "worker.autoscaling.keda.authSecret.name=billing-redis")
    keys: dict[str, set[str]] = {}
    for where, pod in pod_specs(r.docs):
        for container in pod.get("initContainers", []) + pod["containers"]:
            for env in container.get("env", []):
                if env["name"] == "FLUXUS_DATABASE_URL":
                    ref = env["valueFrom"]["secretKeyRef"]
                    assert ref["name"] == "billing-db", where
                    keys.setdefault(ref["key"], set()).add(f"{where}/{container['name']}")
    pooled = keys["FLUXUS_DATABASE_POOLER_URL"]
    direct = keys["FLUXUS_DATABASE_URL"]
    assert any(w.startswith("Deployment/fx-fluxus-api/") for w in pooled)
    assert any(w.endswith("/db-wait") for w in direct)  # waits on the schema directly
    assert any(w.startswith("Job/fx-fluxus-migrat") for w in direct)
    assert not any(w.endswith("/db-wait") for w in pooled)


def test_the_chart_pgbouncer_refuses_an_existing_secret_and_a_second_pooler(tools: Tools) -> None:
    refused = _render(tools, "pgbouncer.enabled=true", "secrets.existingSecret=billing-db",
                      ok=False)
    assert refused.returncode != 0 and "FLUXUS_DATABASE_POOLER_URL" in refused.stderr
    both = _render(tools, "pgbouncer.enabled=true", "database.poolerUrl=postgresql://x@y/z",
                   ok=False)
    assert both.returncode != 0 and "choose one pooler" in both.stderr


def test_pgbouncer_values_are_strict(tools: Tools) -> None:
    for bad in ("pgbouncer.poolMode=session", "pgbouncer.serverTlsSslmode=sometimes",
                "database.replicaUrl=postgresql://x@y/z"):
        result = _render(tools, bad, ok=False)
        assert result.returncode != 0, bad


def test_the_replica_url_reaches_the_api_alone(tools: Tools) -> None:
    replica = "postgresql+psycopg2://reader:pw@standby.db:5432/billing"
    r = _render(tools, f"secrets.values.FLUXUS_DATABASE_REPLICA_URL={replica}")
    holders = {s["metadata"]["name"]: base64.b64decode(s["data"]["FLUXUS_DATABASE_REPLICA_URL"])
               .decode() for s in r.kind("Secret")
               if "FLUXUS_DATABASE_REPLICA_URL" in (s.get("data") or {})}
    assert holders == {"fx-fluxus-api-secrets": replica}
    with_env = {where for where, pod in pod_specs(r.docs) for c in pod["containers"]
                if any(e["name"] == "FLUXUS_DATABASE_REPLICA_URL" for e in c.get("env", []))}
    assert with_env == {"Deployment/fx-fluxus-api"}
