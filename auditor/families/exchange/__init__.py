"""The Exchange directory family: Active Directory and Exchange's configuration, live or exported.

attributes   kinds, the attributes each keeps, object classes -> kinds
entries      one raw directory entry -> an ObjectRecord (shared by LDAP and LDIF: parity)
ldap         LdapSource: live AD over ldap3
ldif         LdifSource: ldifde exports of the domain and Configuration partitions
ldif_export  `auditor export-ldif`: what a live read saw, as LDIF
adapter      records -> recipients, policies, accepted domains, connectors, servers, SMTP services
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from auditor.families import Family
from auditor.families.exchange.adapter import ExchangeAdapter
from auditor.families.exchange.attributes import KINDS

if TYPE_CHECKING:
    from auditor.collect import Source
    from auditor.config import AuditorConfig, DirectoryConfig

__all__ = ["FAMILY"]


def directory_sources(directory: DirectoryConfig, config: AuditorConfig) -> Sequence[Source]:
    """`[directory]`: ldifde exports when `ldif` is set, else live LDAP."""
    if directory.ldif:
        from auditor.families.exchange.ldif import LdifSource

        return [LdifSource(directory.ldif)]
    from auditor.families.exchange.ldap import LdapSettings, LdapSource

    assert directory.url is not None
    settings = LdapSettings(
        url=directory.url,
        bind_dn=directory.bind_dn,
        password=directory.password() if directory.bind_dn else None,
        tls=directory.tls or "auto",
        allow_insecure=directory.allow_insecure,
        ca_file=str(directory.ca_file) if directory.ca_file else None,
        base_dn=directory.base_dn,
        configuration_dn=directory.configuration_dn,
        page_size=directory.page_size,
        timeout=directory.timeout,
        retries=directory.retries,
    )
    return [LdapSource(settings)]


FAMILY = Family(
    name="exchange",
    kinds=KINDS,
    adapter=ExchangeAdapter,
    reads=(("directory", None),),
    sources=directory_sources,
)
