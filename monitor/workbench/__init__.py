"""The analyst's workbench: Datasette on the live database (`monitor serve`) and offline
escalation reports (`monitor report`)."""
