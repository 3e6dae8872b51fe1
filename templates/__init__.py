"""Every piece of prose a person reads: Jinja2 templates and the small render module."""
