"""A new product is a new source family, not a branch in every check.

A toy family is written into a temporary folder as an installed distribution would be (a package and
a `*.dist-info` with an `auditor.families` entry point), discovered like the built-in families, and
its records (a few SMTP hosts) are judged by COEX-502 and COEX-901 without any change to `checks/`.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from auditor import families
from auditor.model import Snapshot
from auditor.records import ObjectRecord, SourceInfo
from auditor.registry import CheckSpec, Status, discover_checks

TOY_FAMILY = '''
"""A toy SMTP appliance: one record per host, three settings."""

from __future__ import annotations

import ipaddress

from auditor.families import Family, KindSpec
from auditor.model import Capability, Field, ObjectRef, Pop3Host, RelayPolicy, SmtpService, SystemRole


class ToyAdapter:
    def add(self, record, snap):
        name = record.first("name")
        everyone = record.first("relay_for_everyone") == "yes"
        if record.first("relay_for") == "garbage":
            relay = Field.unreadable("garbage", source="relay_for", note="relay_for 'garbage' cannot be read")
        else:
            allowed = [ipaddress.ip_network(v) for v in record.values("relay_for")]
            policy = RelayPolicy(
                only_listed=not everyone,
                grants=tuple(allowed),
                description=f"toy relay_for {', '.join(record.values('relay_for')) or 'nobody'}",
                everyone_reason="relay_for_everyone = yes" if everyone else None,
            )
            relay = Field.present(policy, source="relay_for")
        login = record.first("login") == "on"
        service = SmtpService(
            role=SystemRole.POP3_HOST,
            system=name,
            subject=name,
            name=f"{name} toy smtpd",
            ref=ObjectRef(record.kind, record.key, record.dn),
            client_auth=Field.present(login, source="login", note=f"login = {record.first('login')}"),
            relay_for_authenticated=Field.present(True, source="login", note="logged-in users relay"),
            relay=relay,
            smart_host=Field.absent(source="upstream", note="upstream is not set"),
            smart_host_always=Field.absent(False, source="upstream", note="no upstream"),
        )
        host = Pop3Host(
            name=name,
            family="toy",
            ref=service.ref,
            capabilities=frozenset({Capability.SMTP_SETTINGS}),
            smtp_services=(service,),
            outbound=service,
        )
        snap.smtp_services.append(service)
        snap.pop3_servers.append(host)

    def finish(self, snap):
        pass


FAMILY = Family(name="toy", kinds=(KindSpec("toy_smtp_host", "toy SMTP host"),), adapter=ToyAdapter)
'''


@pytest.fixture
def toy_installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    (tmp_path / "toyfam").mkdir()
    (tmp_path / "toyfam" / "__init__.py").write_text(textwrap.dedent(TOY_FAMILY), encoding="utf-8")
    dist = tmp_path / "toyfam-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: toyfam\nVersion: 0.1\n", encoding="utf-8")
    (dist / "entry_points.txt").write_text("[auditor.families]\ntoy = toyfam:FAMILY\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    families._installed_families.cache_clear()
    yield
    families._installed_families.cache_clear()


def _host(name: str, **attributes: str | tuple[str, ...]) -> ObjectRecord:
    values = {k: (v,) if isinstance(v, str) else v for k, v in attributes.items()}
    return ObjectRecord(
        kind="toy_smtp_host", key=f"toy:{name}", dn=name, attributes={"name": (name,), **values}
    )


def _check(check_id: str) -> CheckSpec:
    return next(spec for spec in discover_checks() if spec.id == check_id)


def test_a_toy_family_is_discovered_and_judged_by_the_existing_checks(toy_installed: None) -> None:
    found = families.discover_families()
    assert {family.name for family in found} >= {"exchange", "windows-pop3", "toy"}
    records = [
        _host("pass-tidy", login="on", relay_for=("10.0.5.0/24",)),
        _host("fail-everyone", login="on", relay_for_everyone="yes"),
        _host("fail-wide", login="on", relay_for=("10.0.0.0/8",)),
        _host("fail-no-login", login="off", relay_for=("10.0.5.7/32",)),
        _host("error-garbage", login="on", relay_for="garbage"),
    ]
    snap = Snapshot.from_records(records, [SourceInfo(name="toy", kind="toy", complete=True)])

    def verdicts(check_id: str) -> dict[str, tuple[Status, str]]:
        return {f.subject: (f.status, f.message) for f in _check(check_id).run(snap)}

    relay = verdicts("COEX-901")
    assert {s for s, (status, _) in relay.items() if status is Status.PASS} == {"pass-tidy", "fail-no-login"}
    assert {s for s, (status, _) in relay.items() if status is Status.FAIL} == {"fail-everyone", "fail-wide"}
    assert relay["fail-everyone"][1] == "open relay: relay_for_everyone = yes"
    assert (
        relay["fail-wide"][1]
        == "open relay: relay list grants 10.0.0.0/8, wider than /16 (toy relay_for 10.0.0.0/8)"
    )
    assert relay["error-garbage"] == (Status.ERROR, "relay_for 'garbage' cannot be read")

    auth = verdicts("COEX-502")
    assert {s for s, (status, _) in auth.items() if status is Status.PASS} == {"pass-tidy"}
    assert {s for s, (status, _) in auth.items() if status is Status.FAIL} == {
        "fail-everyone",
        "fail-wide",
        "fail-no-login",
    }
    assert auth["fail-no-login"][1] == "login = off"
    assert auth["error-garbage"][0] is Status.ERROR


def test_a_family_claiming_a_built_in_kind_is_refused_with_one_line(toy_installed: None) -> None:
    clash = families.Family(
        name="clash",
        kinds=(families.KindSpec("user", "user again"),),
        adapter=lambda: None,  # type: ignore[arg-type,return-value]
    )
    with pytest.raises(
        families.FamilyError,
        match=r"record kind 'user' is claimed by families '(clash|exchange)' and '(clash|exchange)'",
    ):
        families.discover_families([clash])
