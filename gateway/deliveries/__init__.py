"""Event delivery: every outbox event is sent, signed, to its portal's webhook, at least once, retried with
back-off for about a day and then dead-lettered (replayable). The worker's relay claims due events and hands them
to per-portal delivery jobs, a few per portal at most; a per-portal circuit breaker keeps one dead portal from
slowing the others.

Modules: ``signing`` (the ``Gateway-Signature`` header), ``secret_box`` (secrets at rest) and ``reseal`` (moving
them to a new key), ``urls`` (reading a webhook URL), ``addresses`` (which addresses a webhook may reach, pure),
``transport`` (connections that resolve, check and connect in one step), ``policy`` (retry schedule and circuit
breaker, pure), ``endpoints`` (the portal's webhook configuration), ``sender`` (one HTTP attempt), ``relay``
(fair claims per portal), ``dispatch`` (a claimed batch), ``replay``, ``views`` (attempts and dead letters),
``controller`` (the portal's controls).
"""
