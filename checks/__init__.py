"""Built-in checks, one module per principle family, installed as `auditor.checks`.

Each module defines `CheckSpec`s with `@auditor.registry.check`; discovery goes through the
`auditor.checks` entry-point group like any third-party plugin. Doc pages live in `docs/<ID>.md`.
"""
