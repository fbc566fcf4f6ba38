"""The `fluxus` command. Subcommands live beside the code they drive and import lazily."""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any

import click

# name -> "module:attribute" of a click command. A command is listed only when its module
# exists, so `fluxus --help` shows what this build can actually do.
COMMANDS: dict[str, str] = {
    "db": "services.core.db.cli:db",
    "keygen": "services.core.cli_keygen:keygen",
    "keys": "services.core.cli_keys:keys",
    "api": "services.api.cli:api",
    "payment": "services.payment.cli:payment",
    "ecpay": "services.ecpay.cli:ecpay",
    "ecpay-sim": "services.ecpay.simulator.cli:ecpay_sim",
    "worker": "services.worker.cli:worker",
    "scheduler": "services.worker.cli:scheduler",
    "renew": "services.worker.cli:renew",
    "jobs": "services.worker.cli:jobs",
    "operator": "fluxus_operator.cli:operator",
    "plans": "fluxus_operator.cli:plans",
    "ui": "fluxus_ui.cli:ui",
    "dev": "services.devserver.cli:dev",
    "audit": "services.core.usecases.books_cli:audit",
    "mrr": "services.core.usecases.mrr_cli:mrr",
}


def _module_exists(target: str) -> bool:
    module = target.split(":", 1)[0]
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(name for name, target in COMMANDS.items() if _module_exists(target))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None or not _module_exists(target):
            return None
        module_name, attr = target.split(":", 1)
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as missing:
            # The image installs only the runtime lock: `fluxus dev` needs the `dev` extra.
            # Listed still (so --help works), failing with that message when run.
            message = (
                f"`fluxus {cmd_name}` needs the Python package {missing.name!r}, which this"
                " install lacks (development tools: pip install 'fluxus[dev]')"
            )

            def unavailable(args: tuple[str, ...]) -> None:
                raise click.ClickException(message)

            return click.Command(cmd_name, callback=unavailable, help=message,
                                 context_settings={"ignore_unknown_options": True},
                                 params=[click.Argument(["args"], nargs=-1)])
        command: Any = getattr(module, attr)
        return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Fluxus: subscription billing on ECPay, run the Kubernetes way."""
