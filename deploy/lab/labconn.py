"""Shared connection helper for the lab scripts (schema extension, organization loader, benchmark).

Lab only: binds as the DC's Administrator over LDAPS, verifying the lab CA. Not used by the product.
"""

from __future__ import annotations

import argparse
import os
import ssl

import ldap3


def add_connection_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--url", default="ldaps://127.0.0.1:636")
    parser.add_argument("--bind-dn", default="CN=Administrator,CN=Users,DC=contoso,DC=com")
    parser.add_argument("--ca-file", required=True)


def connect(args: argparse.Namespace) -> ldap3.Connection:
    """A bound connection that formats nothing (raw values, no client-side schema checks)."""
    password = os.environ.get("LAB_ADMIN_PASSWORD", "Lab-Adm1n-Passw0rd")
    tls = ldap3.Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=args.ca_file)
    server = ldap3.Server(args.url, tls=tls, get_info=ldap3.NONE, connect_timeout=10)
    conn = ldap3.Connection(
        server,
        args.bind_dn,
        password,
        check_names=False,
        raise_exceptions=False,
        receive_timeout=120,
        auto_referrals=False,
    )
    if args.url.startswith("ldap://"):
        conn.open()
        conn.start_tls()
    if not conn.bind():
        raise SystemExit(f"{args.url}: bind as {args.bind_dn} failed: {conn.result.get('description')}")
    return conn
