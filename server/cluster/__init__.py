"""Several server nodes on one machine, for ``scripts/cluster`` and the tests in ``tests/cluster/``: a throw-away
PostgreSQL (:mod:`.postgres`), SeaweedFS as the S3 store (:mod:`.seaweed`), N ``proctor serve`` processes and
HAProxy in front of them (:mod:`.haproxy`), all on loopback, put together by :class:`.stack.Cluster`.

Nothing here runs inside a server node: it only starts processes, as an operator (or systemd, or a container
orchestrator) would on separate machines.
"""
