"""SQL templates (Jinja2), shipped inside the package as ``playstudio_luigi.sql``."""
