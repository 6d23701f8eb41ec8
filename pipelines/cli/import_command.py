"""`sme import SOURCE --out DIR`: validate and scan an export and copy it into a Model artifact."""

from __future__ import annotations

import click

from savedmodel_estimator_tfx.pipelines.cli.common import run_stage


@click.command(name='import')
@click.argument('source')
@click.option('--out', required=True, help='Model artifact directory to write (Format-Serving/).')
@click.option(
    '--require-mode', 'modes', multiple=True, type=click.Choice(['train', 'eval', 'infer'])
)
@click.option('--allow-op', 'allowed', multiple=True, help='Op type the scan may let through.')
@click.option('--schema-out', help='Also write a Schema inferred from the signatures here.')
def import_command(
    source: str, out: str, modes: tuple[str, ...], allowed: tuple[str, ...], schema_out: str | None
) -> None:
    """Validate and scan the SavedModel at SOURCE and copy it into a Model artifact at --out."""
    from savedmodel_estimator_tfx.components.saved_model_importer.options import ImportOptions
    from savedmodel_estimator_tfx.pipelines import stages

    def stage() -> dict:
        options = ImportOptions(
            source_uri=source,
            required_modes=modes,
            allowed_ops=allowed,
            emit_schema=bool(schema_out),
        )
        return stages.run_import(options, out, schema_out=schema_out)

    run_stage('import', out, stage)
