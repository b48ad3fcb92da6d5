"""catalog layer: accounts and API keys, bucket owners, templates, workflows, the trigger
ledger and the submit-time egress checks. Below ``engine``: it never imports it."""
