"""``lince models``: the backbone zoo as a table or JSON."""

import json

import click

from lince.i18n import _


def _millions(value: int) -> str:
    return f"{value / 1e6:.2f} M"


def _giga(value: int) -> str:
    return f"{value / 1e9:.2f} G" if value >= 1e8 else f"{value / 1e6:.0f} M"


@click.command(help=_("List the backbones lince can train: input size, parameters, MACs, expected "
                      "preprocessing and a note for edge devices."))
@click.option("--family", help=_("Show only this family (e.g. MobileNetV2, EfficientNet-Lite)."))
@click.option("--json", "as_json", is_flag=True, help=_("Print a JSON list instead of a table."))
def models(family, as_json):
    from lince.models.preprocessing import PRESETS
    from lince.models.zoo import BACKBONES, FAMILIES

    entries = list(BACKBONES.values())
    if family:
        entries = [entry for entry in entries if entry.family.lower() == family.lower()]
        if not entries:
            raise click.BadParameter(_("unknown family {name!r}: use one of {choices}").format(
                name=family, choices=", ".join(FAMILIES)), param_hint="--family")
    if as_json:
        click.echo(json.dumps([entry.to_dict() for entry in entries], indent=2))
        return
    headers = (_("name"), _("family"), _("size"), _("parameters"), _("MACs"), _("preprocessing"), _("note"))
    rows = [(entry.name, entry.family, str(entry.size), _millions(entry.params), _giga(entry.macs),
             f"{entry.preprocess}: {PRESETS[entry.preprocess].description}", entry.note) for entry in entries]
    widths = [max(len(header), *(len(row[i]) for row in rows)) for i, header in enumerate(headers)]
    click.echo("  ".join(header.ljust(width) for header, width in zip(headers, widths)).rstrip())
    for row in rows:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
    click.echo(_("Parameters and MACs of the 1000-class ImageNet model at its default size; "
                 "'lince train --size N' changes the MACs."))
