"""A pass counts an incremental source's carried-over objects and takes the map from the source:
100,000 entries need not live on through the snapshot's rebuild and the checks."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import cast

from auditor import config as config_module
from auditor.collect import Source
from auditor.run import _Seen


class Carrying:
    """What of an incremental source a pass reads once its stream has ended (`CarriesOver`)."""

    def __init__(self) -> None:
        self.carried = {
            "guid-a": ("user", "CN=Ann,OU=Sales,DC=contoso,DC=com"),
            "guid-b": ("contact", "CN=Bo,OU=Sales,DC=contoso,DC=com"),
        }


def test_the_carried_objects_are_counted_and_taken_from_the_source() -> None:
    sample = Path(str(resources.files("auditor.sample"))) / "auditor.toml"
    seen = _Seen(config_module.load_config(sample))
    source = Carrying()
    keys = seen.carry([cast(Source, source)])
    assert keys == ["guid-a", "guid-b"]
    assert (seen.carried, dict(seen.kinds)) == (2, {"user": 1, "contact": 1})
    assert source.carried == {}
