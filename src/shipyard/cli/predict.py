"""``shipyard predict``: send one inference request to a deployment through the gateway."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from shipyard.cli._render import read_json_arg
from shipyard.cli._state import project_of


def predict(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Deployment name.")],
    data: Annotated[
        str | None,
        typer.Option(help="Full request body as JSON or @file, e.g. '{\"instances\": [[1, 2]]}'."),
    ] = None,
    instances: Annotated[
        str | None,
        typer.Option(help='Instances as JSON or @file; sent as {"instances": ...}.'),
    ] = None,
) -> None:
    """Send a KServe V1 predict request to deployment NAME and print the JSON answer."""
    if (data is None) == (instances is None):
        raise typer.BadParameter("give exactly one of --data and --instances")
    deployment = project_of(ctx).get_model_serving().get_deployment(name)
    if data is not None:
        answer = deployment.predict(data=read_json_arg(data, "--data"))
    else:
        answer = deployment.predict(inputs=read_json_arg(instances or "", "--instances"))
    typer.echo(json.dumps(answer, indent=2))
