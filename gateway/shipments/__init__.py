"""Postal pickup and delivery of dossiers and results (Decision 45/2016/QĐ-TTg), with fees collected on delivery.

``service`` books and cancels parcels at the post, ``tracking`` records the post's events from its webhook
(``callbacks``), its polled feed (the worker's ``shipments.jobs``) and its order history, ``cod``
keeps what the post collected for the receipt issuer, ``state`` holds the pure rules.
"""
