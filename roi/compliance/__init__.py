"""The compliance officer's questions answered from the audit log: the accounting of disclosures
(45 CFR 164.528, 42 CFR 2.25), accounting requests, and the overview figures."""
