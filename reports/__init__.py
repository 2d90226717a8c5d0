"""Report rendering (HTML via Jinja2, JSON, text, JUnit, SARIF), installed as `auditor.reports`."""
