"""`fluxus operator` (the Kopf operator) and `fluxus plans apply` (same reconcile, no cluster)."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import click

from services.core.clock import SystemClock
from services.core.config import get_settings
from services.core.db.session import get_engine, session_scope
from services.core.errors import ServiceUnavailable, ValidationError
from services.core.logging import configure_logging
from services.core.metrics_runtime import start_metrics_server


class _WithoutKopfSettings(logging.Filter):
    """Kopf attaches its whole OperatorSettings to each object's log record; our JSON lines
    would carry a 2 kB dump every time. Kopf's own event poster has read it by then."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.__dict__.pop("settings", None)
        return True


def _configure_operator_logging(level: str) -> None:
    configure_logging(level)
    for handler in logging.getLogger().handlers:
        handler.addFilter(_WithoutKopfSettings())


@click.command()
@click.option(
    "--standalone/--peering",
    default=True,
    show_default=True,
    help="Standalone: one replica, no Kopf peering objects needed.",
)
@click.option(
    "--liveness",
    "liveness_endpoint",
    default="http://0.0.0.0:8080/healthz",
    show_default=True,
    help="Where Kopf serves its liveness probe; empty to disable.",
)
@click.option(
    "--resync-seconds",
    type=click.FloatRange(min=0.1),
    default=60.0,
    show_default=True,
    help="How often each Plan is re-checked for drift (CronJob or plan row changed by hand).",
)
@click.option(
    "--renewal-pod-template",
    "pod_template_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="YAML PodTemplateSpec of the renewal CronJobs' pod (the chart renders it).",
)
def operator(
    standalone: bool, liveness_endpoint: str, resync_seconds: float, pod_template_path: Path | None
) -> None:
    """Run the Kopf operator: Plan resources → plans table and renewal CronJobs."""
    # Kopf and the kubernetes client are imported here: `fluxus plans` must not need them.
    import kopf
    import yaml

    from fluxus_operator import handlers, kube
    from fluxus_operator.cronjob import validate_pod_template
    from fluxus_operator.reconcile import Runtime

    pod_template = None
    if pod_template_path is not None:
        try:
            pod_template = validate_pod_template(yaml.safe_load(pod_template_path.read_text()))
        except (ValueError, yaml.YAMLError) as exc:
            raise click.BadParameter(str(exc), param_hint="--renewal-pod-template") from exc
    settings = get_settings()
    _configure_operator_logging(settings.log_level)
    kube.load_config()
    runtime = Runtime(
        settings=settings,
        engine=get_engine(settings),
        clock=SystemClock(),
        batch=kube.batch_api(),
        pod_template=pod_template,
    )
    namespace = settings.operator_namespace
    start_metrics_server(settings.metrics_port)  # one process: no multiprocess mode
    kopf.run(
        registry=handlers.build_registry(resync_seconds),
        settings=handlers.kopf_settings(),
        standalone=standalone,
        liveness_endpoint=liveness_endpoint or None,
        clusterwide=not namespace,
        namespaces=[namespace] if namespace else (),
        memo=kopf.Memo(runtime=runtime),
    )


@click.group()
def plans() -> None:
    """Plans from Plan manifests, without Kubernetes (the development default)."""


@plans.command("apply")
@click.option(
    "-f",
    "--filename",
    "path",
    required=True,
    type=click.Path(exists=True, path_type=Path),
    help="A Plan YAML file, or a folder of them.",
)
def apply(path: Path) -> None:
    """Upsert the plans row of every Plan under PATH (all or nothing; idempotent)."""
    from fluxus_operator.manifests import load_plans
    from services.core.usecases.plans import reconcile_plan

    settings = get_settings()
    configure_logging(settings.log_level)
    clock = SystemClock()
    try:
        manifests = load_plans(path)
        lines = []
        with session_scope(get_engine(settings)) as session:
            for manifest in manifests:
                result = reconcile_plan(session, clock, manifest.slug, manifest.spec, None)
                lines.append(f"plan/{manifest.slug} {result.outcome}")
    except ValidationError as exc:
        click.echo(f"error: {exc.message}", err=True)
        for name, messages in sorted(exc.errors.items()):
            click.echo(f"  {name}: {', '.join(messages)}", err=True)
        sys.exit(1)
    except ServiceUnavailable as exc:
        click.echo(f"error: {exc.message}", err=True)
        sys.exit(2)
    for line in lines:
        click.echo(line)


@plans.command("uninstall")
@click.option(
    "--namespace",
    "namespaces",
    multiple=True,
    help="Namespace whose Plans go (repeatable); none: every namespace.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0),
    default=120.0,
    show_default=True,
    help="Seconds to wait for the operator before dropping its finalizer.",
)
def uninstall(namespaces: tuple[str, ...], timeout: float) -> None:
    """Delete every Plan before the operator is removed (the chart's pre-delete hook).

    The running operator archives each plan row and deletes its renewal CronJob; Plans it
    has not finished by the timeout lose the finalizer, so `helm uninstall` never leaves them
    (or the namespace) Terminating.
    """
    from kubernetes import client

    from fluxus_operator import kube
    from fluxus_operator.uninstall import release_plans

    kube.load_config()
    outcome = release_plans(
        client.CustomObjectsApi(client.ApiClient()), namespaces or ("",), timeout
    )
    for key in outcome.finalized:
        click.echo(f"plan/{key} deleted by the operator (row archived, CronJob deleted)")
    for key in outcome.released:
        click.echo(
            f"plan/{key} released without the operator: its row is not archived and its"
            " CronJob goes with the Plan (owner reference)",
            err=True,
        )
