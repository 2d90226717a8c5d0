"""The Exchange directory family: Active Directory and Exchange's configuration, live or exported.

attributes   kinds, the attributes each keeps, object classes -> kinds
entries      one raw directory entry -> an ObjectRecord (shared by LDAP and LDIF: parity)
ldap         LdapSource: live AD over ldap3
incremental  when a live pass may read only what changed, and what changed (DirSync, uSNChanged)
incremental_merge  those changes applied to the previous snapshot: a complete set of records
ldif         LdifSource: ldifde exports of the domain and Configuration partitions
ldif_export  `auditor export-ldif`: what a live read saw, as LDIF
adapter      records -> recipients, policies, accepted domains, connectors, servers, SMTP services
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from auditor.families import Family, KindSpec
from auditor.families.exchange.adapter import ExchangeAdapter
from auditor.families.exchange.attributes import KINDS
from auditor.families.exchange.modern import (
    MAILBOX_DATABASE,
    MODERN_BINARY_ATTRIBUTES,
    MODERN_COLLECTED_ATTRIBUTES,
    MODERN_MULTI_VALUED_ATTRIBUTES,
    RECEIVE_CONNECTOR,
    SEND_CONNECTOR,
)
from auditor.families.exchange.permissions import descriptor_grants
from auditor.families.exchange.tables import DESCRIPTOR_ATTRIBUTE

if TYPE_CHECKING:
    from auditor.collect import Source
    from auditor.config import AuditorConfig, DirectoryConfig

__all__ = ["FAMILY"]


def directory_sources(directory: DirectoryConfig, config: AuditorConfig) -> Sequence[Source]:
    """`[directory]`: ldifde exports when `ldif` is set, else live LDAP."""
    if directory.ldif:
        from auditor.families.exchange.ldif import LdifSource

        return [LdifSource(directory.ldif)]
    from auditor.config import checked_file
    from auditor.families.exchange.incremental import IncrementalSettings
    from auditor.families.exchange.ldap import LdapSettings, LdapSource

    assert directory.url is not None
    settings = LdapSettings(
        url=directory.url,
        bind_dn=directory.bind_dn,
        password=directory.password() if directory.bind_dn else None,
        tls=directory.tls or "auto",
        allow_insecure=directory.allow_insecure,
        ca_file=checked_file(directory.ca_file, "directory.ca_file"),
        base_dn=directory.base_dn,
        configuration_dn=directory.configuration_dn,
        page_size=directory.page_size,
        timeout=directory.timeout,
        retries=directory.retries,
    )
    tracking = IncrementalSettings(enabled=directory.incremental_reads, full_every=directory.full_every_delta)
    return [LdapSource(settings, incremental=tracking)]


_MODERN_LABELS = {
    SEND_CONNECTOR: "send connector",
    RECEIVE_CONNECTOR: "receive connector",
    MAILBOX_DATABASE: "mailbox database",
}
MODERN_KIND_SPECS = tuple(
    KindSpec(
        name=kind,
        label=label,
        multi_valued=frozenset(
            n for n in MODERN_COLLECTED_ATTRIBUTES[kind] if n in MODERN_MULTI_VALUED_ATTRIBUTES
        ),
        binary=frozenset(n for n in MODERN_COLLECTED_ATTRIBUTES[kind] if n in MODERN_BINARY_ATTRIBUTES),
        decoded_sets=((DESCRIPTOR_ATTRIBUTE, descriptor_grants),) if kind == RECEIVE_CONNECTOR else (),
    )
    for kind, label in _MODERN_LABELS.items()
)

FAMILY = Family(
    name="exchange",
    kinds=(*KINDS, *MODERN_KIND_SPECS),
    adapter=ExchangeAdapter,
    reads=(("directory", None),),
    sources=directory_sources,
)
