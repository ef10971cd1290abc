"""Receipts in the gateway: series and numbers, issuance for collected money, cancel and replace, the portal API
and the public lookup. The receipt document itself (XML, XSD, signature, renderings) is the ``receipts`` library."""
