"""LdapSource against a real Active Directory (the Samba AD DC lab): kinds, paging, ranges, binary
values, TLS, binds, faults mid-read, and parity with the LDIF export read back by LdifSource."""

from __future__ import annotations

import base64
import dataclasses
import os
import signal
from pathlib import Path
from typing import Any

import pytest

from auditor.collect.ldif import SharedText
from auditor.errors import ConfigError, DirectoryError
from auditor.families.exchange.attributes import RECIPIENT_KINDS
from auditor.families.exchange.ldap import LdapSource, merge_ranges, shared_text
from auditor.families.exchange.ldif import LdifSource
from auditor.families.exchange.ldif_export import export_ldif
from auditor.families.exchange.modern import MODERN_TABLES
from auditor.records import ObjectKind, ObjectRecord

pytestmark = pytest.mark.samba

LAB_ORG = "CN=Lab,CN=Microsoft Exchange,CN=Services,CN=Configuration,DC=contoso,DC=com"
LAB_VS = f"CN=1,CN=SMTP,CN=Protocols,CN=LAB01,CN=Servers,CN=First Administrative Group,CN=Administrative Groups,{LAB_ORG}"
# The relay list as written in tests/ldap/data/org.ldf.
LAB_RELAY_LIST = base64.b64decode(
    "GAAAgCAAAIA8AACARAAAgAEAAABMAAAAAAAAAAAAAAABAAAAAQAAAAIAAAACAAAABAAAAAAAAABMAACAAAAAAAAAAAAAAAAAAAAAAP////8KAAAZ"
)
# Accounts every freshly provisioned Samba DC has besides what the tests load.
SAMBA_BUILTIN_USERS = {
    (ObjectKind.USER, f"cn={name},cn=users,dc=contoso,dc=com")
    for name in ("administrator", "guest", "krbtgt", "dns-dc1")
}


def by_key(records: Any) -> dict[str, ObjectRecord]:
    found: dict[str, ObjectRecord] = {}
    for record in records:
        assert record.key not in found, f"{record.key} read twice"
        found[record.key] = record
    return found


@pytest.fixture(scope="module")
def collected(samba_lab: Any) -> dict[str, ObjectRecord]:
    samba_lab.ensure_running()
    return by_key(LdapSource(samba_lab.settings).collect())


def test_collects_exactly_the_loaded_objects_of_every_kind(
    samba_lab: Any, collected: dict[str, ObjectRecord]
) -> None:
    expected = {(r.kind, r.dn.lower()) for r in LdifSource(samba_lab.inputs).collect()} | SAMBA_BUILTIN_USERS
    assert {(r.kind, r.dn.lower()) for r in collected.values()} == expected
    assert {r.kind for r in collected.values()} == {
        ObjectKind.USER,
        ObjectKind.CONTACT,
        ObjectKind.GROUP,
        ObjectKind.DYNAMIC_GROUP,
        ObjectKind.PUBLIC_FOLDER,
        ObjectKind.RECIPIENT_POLICY,
        ObjectKind.ACCEPTED_DOMAIN,
        ObjectKind.SMTP_CONNECTOR,
        ObjectKind.SMTP_VIRTUAL_SERVER,
        ObjectKind.EXCHANGE_SERVER,
        ObjectKind.MAILBOX_STORE,
        "send_connector",
        "receive_connector",
        "mailbox_database",
    }


def test_values_are_read_as_loaded(collected: dict[str, ObjectRecord]) -> None:
    alice = next(r for r in collected.values() if r.dn.startswith("CN=Alice Exchange,OU=Lab Mail"))
    assert alice.attributes["proxyAddresses"] == (
        "SMTP:alice@contoso.com",
        "X400:c=US;a= ;p=Contoso;o=Exchange;s=Alice;",
    )
    assert alice.attributes["protocolSettings"] == ("HTTP§1§1§§§§§§§",)
    assert alice.attributes["msExchMailboxGuid"] == ("EjRWeJq83vASNFZ4mrze8A==",)
    assert alice.attributes["userAccountControl"] == ("512",)
    bob = next(r for r in collected.values() if r.dn.startswith("CN=Bob Pop,OU=Lab Mail"))
    assert bob.attributes["msExchHideFromAddressLists"] == ("TRUE",)
    assert bob.attributes["targetAddress"] == ("SMTP:bob@pop.contoso.com",)


def test_repeated_text_values_are_one_string_object(collected: dict[str, ObjectRecord]) -> None:
    # As the LDIF reader does (SharedText): 100,000 users repeating the same class names and DNs
    # must not each hold their own copies (issue 12, memory).
    by_text: dict[str, set[int]] = {}
    for record in collected.values():
        for value in record.attributes.get("objectClass", ()):
            by_text.setdefault(value, set()).add(id(value))
    users = [r for r in collected.values() if r.kind == ObjectKind.USER]
    assert len(users) > 10
    assert all("user" in r.attributes["objectClass"] for r in users)
    assert all(len(ids) == 1 for ids in by_text.values()), {
        t: len(i) for t, i in by_text.items() if len(i) > 1
    }


def test_shared_text_keeps_binary_and_undecodable_values_as_bytes() -> None:
    shared = SharedText()
    first = shared_text(
        {"objectGUID": [b"\xff" * 16], "cn": [b"Alice"], "description": [b"\xff\xfe"]},
        MODERN_TABLES.binary,
        shared,
    )
    again = shared_text({"cn": [b"Alice"]}, MODERN_TABLES.binary, shared)
    assert first == {"objectGUID": [b"\xff" * 16], "cn": ["Alice"], "description": [b"\xff\xfe"]}
    assert again["cn"][0] is first["cn"][0]


def test_relay_list_comes_back_as_the_exact_bytes(samba_lab: Any, collected: dict[str, ObjectRecord]) -> None:
    record = next(r for r in collected.values() if r.dn == LAB_VS)
    assert record.kind == ObjectKind.SMTP_VIRTUAL_SERVER
    assert base64.b64decode(record.attributes["msExchSmtpRelayIpList"][0]) == LAB_RELAY_LIST
    raw = {dn: attrs for _, dn, attrs in LdapSource(samba_lab.settings).entries() if dn == LAB_VS}
    assert raw[LAB_VS]["msExchSmtpRelayIpList"] == [LAB_RELAY_LIST]


def test_coverage_and_counts_once_complete(samba_lab: Any, collected: dict[str, ObjectRecord]) -> None:
    source = LdapSource(samba_lab.settings)
    records = list(source.collect())
    assert source.info.complete
    assert source.info.coverage == {"domain", "configuration"}
    assert source.info.objects == len(records) == len(collected)
    assert source.info.kind == "ldap"


class CountingSource(LdapSource):
    """Counts the pages the paged searches of the two partitions asked for (not the attribution
    reads: schema, NTDS Settings, tombstones)."""

    pages = 0

    def _page(self, *args: Any, **kwargs: Any) -> Any:
        what = args[4] if len(args) > 4 else kwargs.get("what", "")
        if str(what).startswith("paged search of the "):
            self.pages += 1
        return super()._page(*args, **kwargs)


def test_paging_crosses_several_pages_and_reads_the_same_objects(
    samba_lab: Any, collected: dict[str, ObjectRecord]
) -> None:
    small = CountingSource(samba_lab.settings)  # page_size=50
    assert by_key(small.collect()) == collected
    recipients = sum(1 for r in collected.values() if r.kind in (ObjectKind.USER, ObjectKind.CONTACT))
    assert recipients > samba_lab.generated_recipients
    assert small.pages >= recipients // 50 + 1  # domain pages, plus at least one of the configuration
    large = CountingSource(dataclasses.replace(samba_lab.settings, page_size=5000))
    assert by_key(large.collect()) == collected
    assert large.pages == 2


def test_more_than_1500_values_are_read_whole(samba_lab: Any, collected: dict[str, ObjectRecord]) -> None:
    many = next(r for r in collected.values() if r.dn.startswith("CN=Many Proxies,"))
    expected = ["SMTP:many@contoso.com"] + [
        f"smtp:many{i:05d}@contoso.com" for i in range(1, samba_lab.many_proxies)
    ]
    assert sorted(many.attributes["proxyAddresses"]) == sorted(expected)


def test_range_retrieval_merges_explicit_small_ranges(
    samba_lab: Any, collected: dict[str, ObjectRecord]
) -> None:
    """Samba never ranges on its own, so ask for ranges of 100 values as AD would hand them out."""
    ranged = LdapSource(samba_lab.settings, value_range=100)
    assert by_key(ranged.collect()) == collected


def test_merge_ranges_follows_ranges_to_the_end() -> None:
    values = [f"v{i}".encode() for i in range(7)]

    def fetch(dn: str, description: str) -> dict[str, list[bytes]]:
        start = int(description.split("=")[1].split("-")[0])
        end = min(start + 2, 6)
        high = "*" if end == 6 else str(end)
        return {f"member;range={start}-{high}": values[start : end + 1]}

    merged = merge_ranges("CN=x", {"member;range=0-1": values[:2], "cn": [b"x"]}, fetch)
    assert merged == {"member": values, "cn": [b"x"]}


def test_starttls_reads_the_same_objects(samba_lab: Any, collected: dict[str, ObjectRecord]) -> None:
    settings = dataclasses.replace(samba_lab.settings, url="ldap://127.0.0.1", page_size=1000)
    assert by_key(LdapSource(settings).collect()) == collected


def test_plain_ldap_is_refused_without_allow_insecure(samba_lab: Any) -> None:
    settings = dataclasses.replace(samba_lab.settings, url="ldap://127.0.0.1", tls="none")
    with pytest.raises(ConfigError, match=r"ldap://127\.0\.0\.1:389: .*clear text"):
        LdapSource(settings)
    insecure = dataclasses.replace(settings, allow_insecure=True, page_size=1000)
    assert LdapSource(insecure).collect().__next__().key


def test_anonymous_bind_is_refused_without_allow_insecure(samba_lab: Any) -> None:
    with pytest.raises(ConfigError, match="anonymous bind refused"):
        LdapSource(dataclasses.replace(samba_lab.settings, bind_dn=None, password=None))


def test_wrong_ca_file_fails_tls_verification(samba_lab: Any, tmp_path: Path) -> None:
    other_ca = Path("/etc/ssl/certs/ca-certificates.crt")
    for ca_file in (str(other_ca) if other_ca.exists() else None, None):
        source = LdapSource(dataclasses.replace(samba_lab.settings, ca_file=ca_file))
        with pytest.raises(
            DirectoryError, match=r"^ldaps://127\.0\.0\.1:636: TLS certificate verification failed \("
        ):
            list(source.collect())
        assert not source.info.complete


def test_wrong_ca_file_fails_starttls_too(samba_lab: Any) -> None:
    settings = dataclasses.replace(samba_lab.settings, url="ldap://127.0.0.1", ca_file=None)
    with pytest.raises(
        DirectoryError, match=r"^ldap://127\.0\.0\.1:389: TLS certificate verification failed"
    ):
        list(LdapSource(settings).collect())


def test_bad_password_is_named_without_the_password(samba_lab: Any) -> None:
    secret = "Not-The-" + samba_lab.admin_password
    source = LdapSource(dataclasses.replace(samba_lab.settings, password=secret))
    with pytest.raises(DirectoryError) as raised:
        list(source.collect())
    message = str(raised.value)
    assert message == (
        "ldaps://127.0.0.1:636: bind as CN=Administrator,CN=Users,DC=contoso,DC=com failed: "
        "invalid credentials (AD data 52e)"
    )
    assert secret not in message and secret not in repr(source.settings)
    assert source.info.error == message


def test_unknown_base_dn_is_an_error(samba_lab: Any) -> None:
    settings = dataclasses.replace(samba_lab.settings, base_dn="OU=Nowhere,DC=contoso,DC=com")
    with pytest.raises(
        DirectoryError, match=r"^ldaps://127\.0\.0\.1:636: paged search of the domain partition"
    ):
        list(LdapSource(settings).collect())


def test_connection_refused_is_retried_then_reported(samba_lab: Any) -> None:
    source = LdapSource(dataclasses.replace(samba_lab.settings, url="ldaps://127.0.0.1:1", retries=2))
    slept: list[float] = []
    source._retry_sleep = slept.append
    with pytest.raises(
        DirectoryError, match=r"^ldaps://127\.0\.0\.1:1: connect failed: connection refused \(after 3"
    ):
        list(source.collect())
    assert len(slept) == 2 and slept[0] < slept[1]


def test_unresponsive_server_times_out(samba_lab: Any) -> None:
    samba_lab.ensure_running()
    settings = dataclasses.replace(samba_lab.settings, timeout=1.0, retries=0)
    os.killpg(samba_lab.pid, signal.SIGSTOP)
    try:
        with pytest.raises(DirectoryError, match=r"^ldaps://127\.0\.0\.1:636: .*timed out after 1 s"):
            list(LdapSource(settings).collect())
    finally:
        os.killpg(samba_lab.pid, signal.SIGCONT)


def test_server_lost_mid_collection_raises_and_yields_nothing_more(samba_lab: Any) -> None:
    samba_lab.ensure_running()
    source = LdapSource(samba_lab.settings)  # page_size=50
    records = source.collect()
    read = [next(records)]
    samba_lab.kill()
    try:
        with pytest.raises(DirectoryError, match=r"^ldaps://127\.0\.0\.1:636: .*the read is incomplete"):
            read.extend(records)
        assert len(read) == 50  # the first page, nothing after the server went away
        assert not source.info.complete
        assert "configuration" not in source.info.coverage
    finally:
        samba_lab.start()


def test_export_reads_back_to_the_same_snapshot(
    samba_lab: Any, collected: dict[str, ObjectRecord], tmp_path: Path
) -> None:
    samba_lab.ensure_running()
    domain, configuration = tmp_path / "domain.ldf", tmp_path / "configuration.ldf"
    counts = export_ldif(samba_lab.settings, domain, configuration)
    text = domain.read_bytes()
    assert b"\r\nchangetype: add\r\n" in text and b"\n" not in text.replace(b"\r\n", b"")
    assert all(len(line) <= 76 for line in text.split(b"\r\n"))
    exported = by_key(LdifSource([domain, configuration]).collect())
    assert exported == collected
    domain_records = sum(1 for r in collected.values() if r.kind in RECIPIENT_KINDS)
    assert counts == (domain_records, len(collected) - domain_records)


def test_failed_export_leaves_no_files(samba_lab: Any, tmp_path: Path) -> None:
    settings = dataclasses.replace(samba_lab.settings, password="wrong")
    domain, configuration = tmp_path / "domain.ldf", tmp_path / "configuration.ldf"
    with pytest.raises(DirectoryError, match="invalid credentials"):
        export_ldif(settings, domain, configuration)
    assert list(tmp_path.iterdir()) == []


def _loopback_alias() -> str | None:
    """A host name (not in the lab certificate) that resolves to 127.0.0.1, e.g. the machine's own."""
    import socket

    for name in (socket.gethostname(), "vm", "runsc"):
        try:
            if name not in ("localhost", "dc1.contoso.com") and socket.gethostbyname(name) == "127.0.0.1":
                return name
        except OSError:
            continue
    return None


def test_certificate_for_another_host_name_is_refused(samba_lab: Any) -> None:
    alias = _loopback_alias()
    if alias is None:
        pytest.skip("no host name other than localhost resolves to 127.0.0.1 on this machine")
    settings = dataclasses.replace(samba_lab.settings, url=f"ldaps://{alias}")
    with pytest.raises(
        DirectoryError, match=rf"^ldaps://{alias}:636: TLS certificate verification failed \("
    ):
        list(LdapSource(settings).collect())
