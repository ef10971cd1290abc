"""The schema in SQLAlchemy Core, one module per owner: ``portals`` (catalogue), ``payments``, ``receipts``,
``shipments``, ``deliveries``; and the store's own ``outbox`` and ``idempotency``. An area reads and writes only its
own tables; others reach its data through its public surface. Migrations must produce exactly this (a test checks).
"""
